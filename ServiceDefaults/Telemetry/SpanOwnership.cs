using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using OpenTelemetry;

namespace Stateset.ServiceDefaults.Telemetry;

/// <summary>
/// Which service made a span, where several share one process (the one-command stack hosts the gateway, the worker and
/// the sandboxes together). Every tracer provider in a process hears every span of the sources it listens to, so
/// without this each span is exported once per provider, under each provider's service name. A span's owner is set on
/// the span that enters a service (a request it serves) and inherited by the spans started under it; each provider
/// exports only its own service's spans, and the one provider that claims unowned spans (background work and spans
/// continuing a remote parent, such as workflow runs and activities) exports those.
/// </summary>
public static class SpanOwnership
{
    private const string OwnerProperty = "stateset.service";
    private const string FlagsProperty = "stateset.flags";

    /// <summary>Marks <paramref name="span"/> (and so the spans started under it from now on) as made by <paramref name="service"/>.</summary>
    public static void MarkOwner(Activity? span, string service) => span?.SetCustomProperty(OwnerProperty, service);

    /// <summary>Gets the service that made <paramref name="span"/>, or null when none claimed it.</summary>
    public static string? OwnerOf(Activity span)
    {
        for (var current = span; current is not null; current = current.Parent)
        {
            if (current.GetCustomProperty(OwnerProperty) is string owner)
            {
                return owner;
            }
        }

        return null;
    }

    /// <summary>A startup filter marking each request's span as made by <paramref name="service"/>.</summary>
    public static IStartupFilter RequestsOwnedBy(string service) => new OwnedRequests(service);

    /// <summary>
    /// The processor to add first to a provider: until <see cref="Restore"/> runs, a span another service owns is
    /// not recorded, so this provider's exporter skips it. Providers end spans one after the other, so the flag is
    /// back before the next provider sees the span.
    /// </summary>
    public static BaseProcessor<Activity> ExportOnlyOwned(string service, bool claimsUnowned) => new Gate(service, claimsUnowned);

    /// <summary>The processor to add last to a provider: gives back the flags <see cref="ExportOnlyOwned"/> changed.</summary>
    public static BaseProcessor<Activity> Restore() => new Restorer();

    private sealed class Gate(string service, bool claimsUnowned) : BaseProcessor<Activity>
    {
        public override void OnStart(Activity data)
        {
            // Inherit now: a parent's owner is only known in-process, and only while it runs.
            if (data.GetCustomProperty(OwnerProperty) is null && data.Parent is { } parent && OwnerOf(parent) is { } owner)
            {
                data.SetCustomProperty(OwnerProperty, owner);
            }
        }

        public override void OnEnd(Activity data)
        {
            var owner = OwnerOf(data);
            var mine = owner is null ? claimsUnowned : owner == service;
            data.SetCustomProperty(FlagsProperty, data.ActivityTraceFlags);
            if (!mine)
            {
                data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            }
        }
    }

    private sealed class Restorer : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            if (data.GetCustomProperty(FlagsProperty) is ActivityTraceFlags flags)
            {
                data.ActivityTraceFlags = flags;
            }
        }
    }

    private sealed class OwnedRequests(string service) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                MarkOwner(Activity.Current, service);
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}

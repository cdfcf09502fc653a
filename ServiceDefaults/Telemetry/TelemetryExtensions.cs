using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Stateset.ServiceDefaults.Telemetry;

/// <summary>OpenTelemetry for our hosts: traces, metrics and logs that follow one order across processes.</summary>
public static class TelemetryExtensions
{
    /// <summary>The meter the Temporal SDK's own metrics are bridged to.</summary>
    public const string TemporalSdkMeterName = "Temporalio";

    /// <summary>The points each metric stream keeps (one per combination of tag values), allocated when the stream starts.</summary>
    public const int MetricPointsPerStream = 200;

    /// <summary>
    /// Traces (ASP.NET Core, HttpClient, Npgsql, our Temporal spans), metrics (ASP.NET Core, HttpClient, .NET
    /// runtime, Npgsql, the Temporal SDK, our business meter) kept for the Prometheus scraping endpoint, and logs
    /// that carry scopes (workflow id, run id, order id) and the trace id. Everything is also exported over OTLP
    /// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter reads the other standard OTEL_* variables).
    /// </summary>
    public static IHostApplicationBuilder AddStatesetTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        builder.Logging.Configure(options => options.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        builder.Services.Configure<SimpleConsoleFormatterOptions>(options => options.IncludeScopes = true);
        builder.Services.Configure<JsonConsoleFormatterOptions>(options => options.IncludeScopes = true);
        var exportOtlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        // Where services share a process, only one claims the spans no service marked (see SpanOwnership). The
        // exporter sits between the ownership gate and the restorer, so each signal's exporter is added here, in
        // order, rather than by UseOtlpExporter, which places its processor where it likes.
        var claimsUnowned = builder.Configuration.GetValue("Telemetry:ClaimsUnownedSpans", true);
        builder.Services.AddSingleton(SpanOwnership.RequestsOwnedBy(serviceName));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing =>
            {
                tracing
                    .AddProcessor(SpanOwnership.ExportOnlyOwned(serviceName, claimsUnowned))
                    .AddSource(StatesetTelemetry.TemporalSourceName)
                    .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsPlumbing(context.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddNpgsql();
                if (exportOtlp)
                {
                    tracing.AddOtlpExporter();
                }

                // Last, after the exporter: hands the next provider in the process the span as it was.
                tracing.AddProcessor(SpanOwnership.Restore());
            })
            .WithLogging(
                logging =>
                {
                    if (exportOtlp)
                    {
                        logging.AddOtlpExporter();
                    }
                },
                options =>
                {
                    options.IncludeScopes = true;
                    options.IncludeFormattedMessage = true;
                })
            .WithMetrics(metrics =>
            {
                metrics
                    .AddMeter(StatesetTelemetry.MeterName, TemporalSdkMeterName, "System.Runtime", "Npgsql")

                    // The SDK allocates every stream's points up front, 2,000 by default: 144 KB for each of the
                    // ~110 streams a service publishes (39 MB of the stack's 79 MB live heap with 1,000 orders waiting),
                    // where our tags (routes, workflow and activity types, outcomes) make tens of points per stream.
                    // Past the limit points merge into one overflow point; nothing is dropped.
                    .AddView(_ => new MetricStreamConfiguration { CardinalityLimit = MetricPointsPerStream })
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddPrometheusExporter();
                if (exportOtlp)
                {
                    metrics.AddOtlpExporter();
                }
            });

        return builder;
    }

    /// <summary>
    /// Traces for a service hosted inside another program without a host of its own telemetry (the stack's sandboxes):
    /// the requests it serves and the HTTP calls it makes, exported over OTLP under its own service name, and only the
    /// spans it owns (see <see cref="SpanOwnership"/>; its requests must be marked with
    /// <see cref="SpanOwnership.RequestsOwnedBy"/>).
    /// </summary>
    public static TracerProvider StartOwnedTracing(string serviceName, Uri otlpEndpoint) =>
        Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .AddProcessor(SpanOwnership.ExportOnlyOwned(serviceName, claimsUnowned: false))
            .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsPlumbing(context.Request.Path))
            .AddHttpClientInstrumentation()
            .AddOtlpExporter(options => options.Endpoint = otlpEndpoint)
            .AddProcessor(SpanOwnership.Restore())
            .Build();

    /// <summary>
    /// Serves the Prometheus scraping endpoint on its own listener (the worker has no web server of its own).
    /// Does nothing when <paramref name="url"/> is empty, e.g. <c>http://127.0.0.1:9464/metrics</c>.
    /// </summary>
    public static IHostApplicationBuilder AddMetricsListener(this IHostApplicationBuilder builder, string? url)
    {
        if (!string.IsNullOrWhiteSpace(url))
        {
            builder.Services.AddHostedService(services => new MetricsListener(new Uri(url), services.GetRequiredService<MeterProvider>()));
        }

        return builder;
    }

    // Scrapes and probes would drown the traces that matter, and so would the embedded Temporal server's gRPC calls
    // (worker long polls above all) and its Temporal UI's /api/v1 calls (history long polls) where it shares the
    // process, as in the one-command stack and the tests: its requests are the Temporal client's spans seen from the
    // other side.
    private static bool IsPlumbing(PathString path) =>
        path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/api/v1", StringComparison.Ordinal)
        || (path.Value?.StartsWith("/temporal.api.", StringComparison.Ordinal) ?? false);

    private sealed class MetricsListener(Uri url, MeterProvider meterProvider) : IHostedService, IAsyncDisposable
    {
        private WebApplication? _app;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls(url.GetLeftPart(UriPartial.Authority));
            _app = builder.Build();
            _app.MapPrometheusScrapingEndpoint(url.AbsolutePath, meterProvider, configureBranchedPipeline: null, optionsName: null);
            await _app.StartAsync(cancellationToken);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_app is not null)
            {
                await _app.StopAsync(cancellationToken);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.DisposeAsync();
            }
        }
    }
}

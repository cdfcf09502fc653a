using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Stateset.Activities.Inventory;
using Stateset.Activities.Notifications;
using Stateset.Activities.Orders;
using Stateset.Activities.Outbox;
using Stateset.Activities.Payments;
using Stateset.Activities.ReadModels;
using Stateset.Activities.Returns;
using Stateset.Activities.Risk;
using Temporalio.Extensions.Hosting;

namespace Stateset.Activities;

/// <summary>Registers the commerce activities and what they depend on.</summary>
public static class CommerceActivitiesServiceCollectionExtensions
{
    /// <summary>The connection string name of the commerce database (<c>ConnectionStrings:Commerce</c>).</summary>
    public const string ConnectionStringName = "Commerce";

    /// <summary>
    /// Registers the commerce activity classes (scoped), the <see cref="NpgsqlDataSource"/> for
    /// <c>ConnectionStrings:Commerce</c> unless one is registered already, <see cref="TimeProvider.System"/> unless one is,
    /// the payment provider's typed HttpClient behind <c>AddStandardResilienceHandler()</c> (section <c>PaymentProvider</c>;
    /// <c>PaymentProvider:Resilience</c> overrides the standard timeouts, retries and circuit breaker),
    /// and the payment webhook processor for the gateway's callback.
    /// </summary>
    public static IServiceCollection AddCommerceActivities(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(_ => NpgsqlDataSource.Create(
            configuration.GetConnectionString(ConnectionStringName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not set.")));
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<PaymentProviderOptions>()
            .Bind(configuration.GetSection(PaymentProviderOptions.SectionName))
            .Validate(options => options.BaseUrl is { IsAbsoluteUri: true }, "PaymentProvider:BaseUrl must be an absolute URL.")
            .Validate(options => options.WebhookSecret.Length > 0, "PaymentProvider:WebhookSecret is required.");
        services.AddHttpClient<IPaymentProvider, PspPaymentProvider>((provider, http) =>
                http.BaseAddress = provider.GetRequiredService<IOptions<PaymentProviderOptions>>().Value.BaseUrl)
            .AddStandardResilience(configuration.GetSection($"{PaymentProviderOptions.SectionName}:Resilience"));

        services.AddOptions<RiskOptions>().Bind(configuration.GetSection(RiskOptions.SectionName));
        services.AddOptions<ReturnOptions>().Bind(configuration.GetSection(ReturnOptions.SectionName));

        services.TryAddScoped<OrderActivities>();
        services.TryAddScoped<InventoryActivities>();
        services.TryAddScoped<PaymentActivities>();
        services.TryAddScoped<RiskActivities>();
        services.TryAddScoped<ReturnActivities>();
        services.TryAddScoped<ReadModelActivities>();
        services.TryAddScoped<NotificationActivities>();

        services.TryAddSingleton<IAsyncActivityCompleter, TemporalAsyncActivityCompleter>();
        services.TryAddScoped<PaymentWebhookProcessor>();
        return services;
    }

    /// <summary>
    /// Runs the outbox's webhook dispatcher in this process (section <c>Outbox:Webhooks</c>). Any number of
    /// processes may run it: deliveries are claimed with SKIP LOCKED leases.
    /// </summary>
    public static IServiceCollection AddOutboxWebhookDispatcher(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<WebhookDispatcherOptions>().Bind(configuration.GetSection(WebhookDispatcherOptions.SectionName));
        services.AddHttpClient<WebhookDispatcher>();
        services.AddHostedService<WebhookDispatcherService>();
        return services;
    }

    /// <summary>Adds every commerce activity class to a hosted Temporal worker (scoped: one instance per activity call).</summary>
    public static ITemporalWorkerServiceOptionsBuilder AddCommerceActivities(this ITemporalWorkerServiceOptionsBuilder builder) =>
        builder
            .AddScopedActivities<OrderActivities>()
            .AddScopedActivities<InventoryActivities>()
            .AddScopedActivities<PaymentActivities>()
            .AddScopedActivities<RiskActivities>()
            .AddScopedActivities<ReturnActivities>()
            .AddScopedActivities<ReadModelActivities>()
            .AddScopedActivities<NotificationActivities>();
}

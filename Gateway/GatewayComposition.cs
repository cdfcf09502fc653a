using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Stateset.Activities;
using Stateset.Activities.Shipping;
using Stateset.Gateway.Apis;
using Stateset.Gateway.Events;
using Stateset.Gateway.Security;
using Stateset.Gateway.Validation;
using Stateset.Gateway.Workflows;
using Stateset.ServiceDefaults;
using Stateset.ServiceDefaults.Telemetry;

namespace Stateset.Gateway;

/// <summary>
/// How the gateway is put together, shared by its own Program and by the one-command stack that hosts it
/// in-process.
/// </summary>
public static class GatewayComposition
{
    /// <summary>Registers the gateway's services.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.AddStatesetTelemetry("stateset-gateway");
        builder.AddCommerceDatabase();
        builder.AddTemporal();
        builder.AddGatewaySecurity();
        builder.Services.AddCommerceActivities(builder.Configuration);
        builder.Services.AddTrackingWebhooks(builder.Configuration);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<DatabaseUnavailableExceptionHandler>();
        builder.Services.AddExceptionHandler<TemporalUnavailableExceptionHandler>();
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.Services.AddSingleton<ReferenceChecks>();
        builder.Services.AddOpenApi();
        builder.Services.AddSingleton<IdempotentStarts>();
        builder.Services.AddHostedService(services => services.GetRequiredService<IdempotentStarts>());
        builder.Services.AddSingleton<WorkflowGateway>();
        builder.Services.AddOutboxEventStreams();

        // Bodies are read strictly: an unknown field or a wrong type is a 400 that names it, never a guess.
        // Enums in answers (a status query's step outcomes, decisions, service levels) are written as the API's
        // own words (completed, approved, two_day), not as numbers only the C# source can decode.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });

        // JSON APIs here take small bodies; refusing big ones early protects the gateway and the workflows behind it.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize =
            builder.Configuration.GetValue("Gateway:MaxRequestBodyBytes", 256 * 1024));
        return builder;
    }

    /// <summary>Maps the gateway's endpoints.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        // Before authentication: an API key, like any other text, is checked for control characters before it is looked up.
        app.UseMiddleware<RequestInputGuard>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();

        app.MapOpenApi();
        app.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint("/openapi/v1.json", "Stateset Workflows API");
            options.RoutePrefix = "docs";
            options.DocumentTitle = "Stateset Workflows API";
        });

        app.MapHealthApi();

        // Scrapers carry no API key; like health, the endpoint is for the network the gateway runs in.
        app.MapPrometheusScrapingEndpoint().AllowAnonymous().ExcludeFromDescription();
        app.MapApiKeysApi().RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        app.MapCallbacksApi().RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        app.MapOrdersApi();
        app.MapRefundsApi();
        app.MapReturnsApi();
        app.MapLabelsApi();
        app.MapPrintStationsApi();
        app.MapApprovalsApi();
        app.MapRunsApi();
        app.MapCatalogueApi();
        app.MapWebhookSubscriptionsApi();
        app.MapEventsApi();
        app.MapConsoleApi();
        return app;
    }

    private static void MapHealthApi(this WebApplication app)
    {
        var health = app.MapGroup("/health").WithTags("Health");

        // Liveness asks only "is this process serving?"; readiness also checks what requests depend on.
        health.MapHealthChecks("/live", new HealthCheckOptions { Predicate = _ => false })
            .WithName("Live").WithSummary("The gateway process is serving requests.");
        health.MapHealthChecks("/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = HealthReportWriter.WriteAsync,
        }).WithName("Ready").WithSummary("PostgreSQL and Temporal are reachable.");
    }
}

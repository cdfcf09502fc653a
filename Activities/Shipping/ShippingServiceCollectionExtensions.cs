using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Stateset.Activities.Shipping.Carriers;

namespace Stateset.Activities.Shipping;

/// <summary>Where one carrier's API lives and how to authenticate (section <c>Shipping:Carriers:{code}</c>).</summary>
public sealed class CarrierEndpointOptions
{
    /// <summary>Gets or sets the API base URL, ending in <c>/</c>, e.g. <c>http://127.0.0.1:5080/carriers/ridgeline/</c>.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Gets or sets the API key sent as <c>Authorization: Bearer</c>; none when empty.</summary>
    public string? ApiKey { get; set; }
}

/// <summary>DI registration of the shipping activities and their carrier clients.</summary>
public static class ShippingServiceCollectionExtensions
{
    /// <summary>The configuration section of everything shipping.</summary>
    public const string Section = "Shipping";

    /// <summary>
    /// Registers <see cref="LabelActivities"/> (the worker adds it with <c>AddScopedActivities&lt;LabelActivities&gt;()</c>),
    /// the rate shopper and one carrier client per child of <c>Shipping:Carriers</c>, each an <see cref="HttpClient"/>
    /// named <c>carrier:{code}</c> behind the standard resilience handler configured from <c>Shipping:Resilience</c>
    /// (<c>HttpStandardResilienceOptions</c>: attempt and total timeouts, retries with jittered backoff, circuit breaker).
    /// Also registers what <see cref="AddTrackingWebhooks"/> does. Needs an <c>NpgsqlDataSource</c> registered elsewhere.
    /// </summary>
    public static IServiceCollection AddShippingActivities(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var shipping = configuration.GetSection(Section);
        var resilience = shipping.GetSection("Resilience");
        foreach (var carrier in shipping.GetSection("Carriers").GetChildren())
        {
            var code = carrier.Key;
            var endpoint = carrier.Get<CarrierEndpointOptions>() ?? new CarrierEndpointOptions();
            if (endpoint.BaseUrl is null)
            {
                throw new InvalidOperationException($"Shipping:Carriers:{code}:BaseUrl is not set.");
            }

            services.AddHttpClient(ClientName(code), http =>
                {
                    http.BaseAddress = endpoint.BaseUrl;
                    if (!string.IsNullOrEmpty(endpoint.ApiKey))
                    {
                        http.DefaultRequestHeaders.Authorization = new("Bearer", endpoint.ApiKey);
                    }
                })
                .AddStandardResilience(resilience);
            services.AddTransient<ICarrierClient>(provider =>
                new HttpCarrierClient(code, provider.GetRequiredService<IHttpClientFactory>().CreateClient(ClientName(code))));
        }

        services.AddTrackingWebhooks(configuration);
        services.TryAddTransient<RateShopper>();
        services.TryAddScoped<LabelActivities>();
        return services;
    }

    /// <summary>
    /// Registers <see cref="TrackingWebhookReceiver"/>, which the gateway's carrier callback uses (settings
    /// <c>Shipping:WebhookSecret</c> and <c>Shipping:WebhookTolerance</c>), without the carrier clients the gateway
    /// does not need. Needs an <c>NpgsqlDataSource</c> registered elsewhere.
    /// </summary>
    public static IServiceCollection AddTrackingWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<TrackingWebhookOptions>().Bind(configuration.GetSection(Section));
        services.TryAddScoped<TrackingWebhookReceiver>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    private static string ClientName(string carrier) => $"carrier:{carrier}";
}

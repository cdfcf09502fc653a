using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Stateset.Activities;

/// <summary>Outbound HTTP resilience shared by every provider and carrier client.</summary>
internal static class HttpResilience
{
    /// <summary>
    /// Adds the standard resilience handler (timeouts, retries with jitter, circuit breaker), tuned by
    /// <paramref name="overrides"/> when that section exists. The handler refuses an empty section, and most
    /// deployments need no overrides, so an absent section means the standard settings.
    /// </summary>
    public static IHttpClientBuilder AddStandardResilience(this IHttpClientBuilder builder, IConfigurationSection overrides)
    {
        if (overrides.Exists())
        {
            builder.AddStandardResilienceHandler(overrides);
        }
        else
        {
            builder.AddStandardResilienceHandler();
        }

        return builder;
    }
}

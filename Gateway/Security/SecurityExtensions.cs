using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;

namespace Stateset.Gateway.Security;

/// <summary>Authentication by API key, one authorization policy per scope, and rate limits per key.</summary>
public static class SecurityExtensions
{
    /// <summary>The rate limiter policy every API endpoint uses.</summary>
    public const string PerKeyRateLimit = "per-key";

    /// <summary>Registers API-key authentication, scope policies and the per-key rate limiter.</summary>
    public static WebApplicationBuilder AddGatewaySecurity(this WebApplicationBuilder builder)
    {
        builder.Services.AddMemoryCache(options => options.SizeLimit = 10_000);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddHostedService<BootstrapKeyService>();
        builder.Services
            .AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization(options =>
        {
            foreach (var scope in ApiScopes.All)
            {
                options.AddPolicy(scope, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiScopes.ClaimType, scope));
            }

            options.AddPolicy(ApiScopes.ReadPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiScopes.ClaimType, ApiScopes.Client, ApiScopes.Operator));
            options.AddPolicy(ApiScopes.CancelPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiScopes.ClaimType, ApiScopes.Client, ApiScopes.Operator));
            options.AddPolicy(ApiScopes.PrintJobsPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiScopes.ClaimType, ApiScopes.Station, ApiScopes.Operator));
            options.AddPolicy(ApiScopes.LabelFilesPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiScopes.ClaimType, ApiScopes.Station, ApiScopes.Client, ApiScopes.Operator));
            options.AddPolicy(ApiScopes.PrintAcknowledgementPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiScopes.ClaimType, ApiScopes.Station, ApiScopes.Callback, ApiScopes.Operator));
            options.AddPolicy(ApiScopes.ReturnsDeskPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiScopes.ClaimType, ApiScopes.Callback, ApiScopes.Operator));
        });

        var limits = builder.Configuration.GetSection("Gateway:RateLimit");
        var permitsPerSecond = limits.GetValue("PermitsPerSecond", 200);
        var burst = limits.GetValue("Burst", 400);
        builder.Services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, ct) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString();
                }

                // As an endpoint's problem result, so that a request accepting no JSON (EventSource) still gets its 429.
                await TypedResults.Problem(
                    $"This key may make {permitsPerSecond} requests per second.", statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests")
                    .ExecuteAsync(context.HttpContext);
            };

            // Partition by key (the public prefix); unauthenticated callers (signed callbacks) by remote address.
            options.AddPolicy(PerKeyRateLimit, context => RateLimitPartition.GetTokenBucketLimiter(
                context.User.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)?.Value ?? $"ip:{context.Connection.RemoteIpAddress}",
                _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = burst,
                    TokensPerPeriod = permitsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
        });
        return builder;
    }

    /// <summary>
    /// Ensures the key named by <c>Gateway:AdminKey</c> exists with the admin scope, so a fresh deployment (or the
    /// one-command stack) has a first key to create the others with.
    /// </summary>
    private sealed class BootstrapKeyService(IConfiguration configuration, ApiKeyStore store) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (configuration["Gateway:AdminKey"] is { Length: > 0 } key)
            {
                await store.EnsureAsync(key, "bootstrap admin", [ApiScopes.Admin], cancellationToken);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

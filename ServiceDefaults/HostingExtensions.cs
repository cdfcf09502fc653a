using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Stateset.Database;
using Stateset.ServiceDefaults.Temporal;
using Temporalio.Client;

namespace Stateset.ServiceDefaults;

/// <summary>The wiring every host shares: the commerce database, the Temporal client and readiness checks.</summary>
public static class HostingExtensions
{
    /// <summary>The connection string name of the commerce database.</summary>
    public const string CommerceConnectionName = "Commerce";

    /// <summary>
    /// Registers the commerce database's <see cref="NpgsqlDataSource"/> (from <c>ConnectionStrings:Commerce</c>)
    /// and a start-up step that brings its schema up to date before anything else runs.
    /// </summary>
    public static IHostApplicationBuilder AddCommerceDatabase(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(CommerceConnectionName)
            ?? throw new InvalidOperationException(
                "ConnectionStrings:Commerce is not set: set ConnectionStrings__Commerce, or start everything with 'dotnet run --project Stack'.");
        builder.Services.AddNpgsqlDataSource(connectionString);
        builder.Services.AddHostedService<SchemaMigrationService>();
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"]);
        return builder;
    }

    /// <summary>Registers a lazily connecting <see cref="ITemporalClient"/> configured by <see cref="TemporalSettings"/>.</summary>
    public static IHostApplicationBuilder AddTemporal(this IHostApplicationBuilder builder)
    {
        var settings = TemporalSettings.From(builder.Configuration);
        builder.Services.AddSingleton(settings);
        builder.Services.AddTemporalClient(options =>
        {
            var configured = settings.ToConnectOptions();
            options.TargetHost = configured.TargetHost;
            options.Namespace = configured.Namespace;
            options.ApiKey = configured.ApiKey;
            options.Tls = configured.Tls;

            // Also a worker interceptor: workers built on this client continue the traces it starts.
            options.Interceptors = [new TracingInterceptor()];
            options.Runtime = TemporalMetricsBridge.Runtime;
        });
        builder.Services.AddHealthChecks().AddCheck<TemporalHealthCheck>("temporal", tags: ["ready"]);
        return builder;
    }

    private sealed class SchemaMigrationService(NpgsqlDataSource dataSource, ILogger<SchemaMigrationService> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var applied = await SchemaMigrator.MigrateAsync(dataSource.ConnectionString, logger, cancellationToken);
            if (applied.Count > 0)
            {
                logger.LogInformation("Applied {Count} schema migration(s): {Scripts}", applied.Count, string.Join(", ", applied));
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (NpgsqlException e)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL is unreachable: " + e.Message);
            }
        }
    }

    private sealed class TemporalHealthCheck(ITemporalClient client) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await client.WorkflowService.GetSystemInfoAsync(new(), new() { CancellationToken = cancellationToken });
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is Temporalio.Exceptions.RpcException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy("Temporal is unreachable: " + e.Message);
            }
        }
    }
}

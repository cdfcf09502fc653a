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
        builder.Services.AddNpgsqlDataSource(WithPreparedStatementReuse(connectionString));
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
            options.GrpcCompression = configured.GrpcCompression;

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

    /// <summary>
    /// Unless the connection string says otherwise, pooled connections keep their prepared statements: they are not
    /// reset when returned to the pool, and a statement run a few times is prepared. Together these halve PostgreSQL's
    /// CPU per short query (gateway benchmark: 0.196 → 0.076 ms per read); either alone gains nothing. Safe because
    /// nothing here leaves session state on a pooled connection (no SET, no temporary tables; the outbox listener
    /// unlistens before its connection goes back, and the migrator's advisory lock is on a connection of its own).
    /// </summary>
    private static string WithPreparedStatementReuse(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys
            .Cast<string>().Select(key => key.Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant()).ToHashSet();
        var tuned = new NpgsqlConnectionStringBuilder(connectionString);
        if (!given.Contains("NORESETONCLOSE"))
        {
            tuned.NoResetOnClose = true;
        }

        if (!given.Contains("MAXAUTOPREPARE"))
        {
            tuned.MaxAutoPrepare = 64;
        }

        return tuned.ConnectionString;
    }
}

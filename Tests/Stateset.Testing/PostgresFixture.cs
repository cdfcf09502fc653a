using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Stateset.Database;
using Xunit;

namespace Stateset.Testing;

/// <summary>
/// One throwaway PostgreSQL cluster for a whole test assembly (starting one costs about a second).
/// Tests that need isolation ask for a database of their own, created already migrated from a template.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private const string TemplateName = "stateset_template";
    private LocalPostgresCluster? _cluster;
    private int _created;

    /// <summary>Gets the running cluster.</summary>
    public LocalPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The fixture has not started.");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _cluster = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions());
        await using var admin = await OpenAdminAsync();
        await ExecuteAsync(admin, $"CREATE DATABASE {TemplateName}");
        var template = new NpgsqlConnectionStringBuilder(Cluster.ConnectionString) { Database = TemplateName, Pooling = false };
        await SchemaMigrator.MigrateAsync(template.ConnectionString, NullLogger.Instance);
    }

    /// <summary>Creates an empty database (no schema) and returns its connection string.</summary>
    public Task<string> CreateEmptyDatabaseAsync() => CreateDatabaseAsync(template: "template0");

    /// <summary>Creates a database with the current schema applied and returns its connection string.</summary>
    public Task<string> CreateMigratedDatabaseAsync() => CreateDatabaseAsync(TemplateName);

    /// <summary>Stops the cluster, as a database outage would, keeping every database for <see cref="StartAsync"/>.</summary>
    public Task StopAsync() => Cluster.StopServerAsync();

    /// <summary>Starts the cluster again after <see cref="StopAsync"/>, on the same port with the same data.</summary>
    public Task StartAsync() => Cluster.StartServerAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<string> CreateDatabaseAsync(string template)
    {
        var name = $"test_{Interlocked.Increment(ref _created)}_{Guid.NewGuid():N}"[..30];
        await using (var admin = await OpenAdminAsync())
        {
            await ExecuteAsync(admin, $"CREATE DATABASE {name} TEMPLATE {template}");
        }

        return new NpgsqlConnectionStringBuilder(Cluster.ConnectionString) { Database = name }.ConnectionString;
    }

    private async Task<NpgsqlConnection> OpenAdminAsync()
    {
        var admin = new NpgsqlConnectionStringBuilder(Cluster.ConnectionString) { Database = "postgres", Pooling = false };
        var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}

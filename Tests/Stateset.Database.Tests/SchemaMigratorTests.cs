using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Stateset.Testing;

namespace Stateset.Database.Tests;

[Collection(PostgresCollection.Name)]
public sealed class SchemaMigratorTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Migrate_EmptyDatabase_AppliesEveryScriptInOrderAndJournalsThem()
    {
        var connectionString = await postgres.CreateEmptyDatabaseAsync();

        var applied = await SchemaMigrator.MigrateAsync(connectionString, NullLogger.Instance);

        Assert.Equal(SchemaMigrator.ScriptNames, applied);
        await using var connection = new NpgsqlConnection(connectionString);
        var journal = await connection.QueryAsync<string>("SELECT scriptname FROM schemaversions ORDER BY schemaversionsid");
        Assert.Equal(SchemaMigrator.ScriptNames, journal);
    }

    [Fact]
    public async Task Migrate_SecondTime_AppliesNothing()
    {
        var connectionString = await postgres.CreateMigratedDatabaseAsync();

        var applied = await SchemaMigrator.MigrateAsync(connectionString, NullLogger.Instance);

        Assert.Empty(applied);
    }

    [Fact]
    public async Task Migrate_ConcurrentStartUps_ApplyEachScriptExactlyOnce()
    {
        var connectionString = await postgres.CreateEmptyDatabaseAsync();

        var runs = await Task.WhenAll(Enumerable.Range(0, 4)
            .Select(_ => Task.Run(() => SchemaMigrator.MigrateAsync(connectionString, NullLogger.Instance))));

        Assert.Equal(SchemaMigrator.ScriptNames, runs.SelectMany(applied => applied).Order(StringComparer.Ordinal));
        await using var connection = new NpgsqlConnection(connectionString);
        Assert.Equal(SchemaMigrator.ScriptNames.Count, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM schemaversions"));
    }

    [Fact]
    public async Task OutboxInsert_NotifiesListeners()
    {
        var connectionString = await postgres.CreateMigratedDatabaseAsync();
        await using var listener = new NpgsqlConnection(connectionString);
        await listener.OpenAsync();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.Notification += (_, e) => received.TrySetResult(e.Payload);
        await listener.ExecuteAsync("LISTEN outbox");

        await using var writer = new NpgsqlConnection(connectionString);
        await writer.ExecuteAsync(
            """
            INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload)
            VALUES (@Id, 'order', 'o-1', 'OrderPlaced', '{}'::jsonb)
            """,
            new { Id = Guid.NewGuid() });
        await listener.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(received.Task.IsCompleted, "no notification arrived");
        Assert.Contains("\"aggregateId\" : \"o-1\"", await received.Task, StringComparison.Ordinal);
    }
}

using Dapper;
using Npgsql;
using Stateset.Testing;

namespace Stateset.Activities.Tests;

/// <summary>A fresh migrated and seeded database for one test, with the queries tests use to look at the effects.</summary>
public sealed class CommerceDatabase : IAsyncDisposable
{
    private CommerceDatabase(NpgsqlDataSource dataSource) => DataSource = dataSource;

    public NpgsqlDataSource DataSource { get; }

    public static async Task<CommerceDatabase> CreateAsync(PostgresFixture postgres) =>
        new(NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync()));

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<T>(sql, parameters)).ToList();
    }

    public async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(sql, parameters);
    }

    public Task<long> CountEventsAsync(string eventType) =>
        ScalarAsync<long>("SELECT count(*) FROM outbox_events WHERE event_type = @eventType", new { eventType });

    public Task<(int OnHand, int Allocated)> BalanceAsync(string locationId, string sku) =>
        ScalarTupleAsync(locationId, sku);

    /// <summary>Makes every write of a read-model row fail, as a database error at the end of a step's transaction would.</summary>
    public Task FailReadModelWritesAsync() => ExecuteAsync(
        """
        CREATE FUNCTION fail_read_model_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure after the step''s own rows'; END $$;
        CREATE TRIGGER fail_read_model_write BEFORE INSERT OR UPDATE ON workflow_runs FOR EACH ROW EXECUTE FUNCTION fail_read_model_write();
        """);

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    private async Task<(int OnHand, int Allocated)> ScalarTupleAsync(string locationId, string sku)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        return await connection.QuerySingleAsync<(int, int)>(
            "SELECT on_hand, allocated FROM inventory_balances WHERE location_id = @locationId AND sku = @sku", new { locationId, sku });
    }
}

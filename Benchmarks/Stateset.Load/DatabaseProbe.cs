using Dapper;
using Npgsql;
using Stateset.Database;

namespace Stateset.Load;

/// <summary>SQL statements and transactions counted so far, and the statements run most often.</summary>
/// <param name="Statements">Statements executed (pg_stat_statements), or null when it is not loaded.</param>
/// <param name="TransactionControl">Of those, BEGIN, COMMIT and ROLLBACK.</param>
/// <param name="Commits">Transactions committed in the commerce database (pg_stat_database), each statement outside a transaction counting as one.</param>
/// <param name="ByQuery">Calls per normalised statement text.</param>
internal sealed record SqlCounts(long? Statements, long TransactionControl, long Commits, IReadOnlyDictionary<string, long> ByQuery);

/// <summary>What the load generator reads from and writes to the commerce database directly (never the product's paths).</summary>
internal static class DatabaseProbe
{
    /// <summary>
    /// Loads pg_stat_statements (it must be preloaded, so the server restarts once) and creates the extension; false
    /// when the machine's PostgreSQL lacks it, and then only pg_stat_database's transaction counts are reported.
    /// </summary>
    public static async Task<bool> EnableStatementCountingAsync(LocalPostgresCluster cluster, CancellationToken ct)
    {
        await using (var connection = new NpgsqlConnection(cluster.ConnectionString))
        {
            await connection.OpenAsync(ct);
            var available = await connection.ExecuteScalarAsync<bool>(
                new CommandDefinition("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements')", cancellationToken: ct));
            if (!available)
            {
                return false;
            }

            await connection.ExecuteAsync(new CommandDefinition("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'", cancellationToken: ct));
        }

        NpgsqlConnection.ClearAllPools();
        await cluster.StopServerAsync(ct);
        await cluster.StartServerAsync(ct);
        await using (var connection = new NpgsqlConnection(cluster.ConnectionString))
        {
            await connection.OpenAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", cancellationToken: ct));
        }

        return true;
    }

    /// <summary>
    /// Gives the seed catalogue's stock enough units for any run: the demo stock (a few dozen of most SKUs) would
    /// otherwise turn the run into a test of running out.
    /// </summary>
    public static async Task TopUpStockAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.ExecuteAsync(new CommandDefinition("UPDATE inventory_balances SET on_hand = on_hand + 10000000", cancellationToken: ct));
    }

    /// <summary>Forgets the statements counted so far (the start-up's migrations and the warm-up).</summary>
    public static async Task ResetStatementsAsync(string connectionString, bool countsStatements, CancellationToken ct)
    {
        if (countsStatements)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_stat_statements_reset()", cancellationToken: ct));
        }
    }

    /// <summary>Counts statements and commits so far, leaving out this probe's own queries.</summary>
    public static async Task<SqlCounts> CountAsync(string connectionString, bool countsStatements, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);

        // Statistics are sent to the cumulative statistics system at the end of each transaction but read from a
        // snapshot: clear it so this read sees the latest counts.
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_stat_clear_snapshot()", cancellationToken: ct));
        var commits = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", cancellationToken: ct));
        if (!countsStatements)
        {
            return new SqlCounts(null, 0, commits, new Dictionary<string, long>());
        }

        var rows = (await connection.QueryAsync<(string Query, long Calls)>(new CommandDefinition(
            """
            SELECT query, sum(calls)::bigint FROM pg_stat_statements
            WHERE query NOT LIKE '%pg_stat_%' AND query NOT LIKE '%pg_stat_statements%'
            GROUP BY query
            """,
            cancellationToken: ct))).ToDictionary(r => r.Query, r => r.Calls);
        var control = rows.Where(r => IsTransactionControl(r.Key)).Sum(r => r.Value);
        return new SqlCounts(rows.Values.Sum(), control, commits, rows);
    }

    /// <summary>How many of this run's orders wait for an operator, by their read-model rows.</summary>
    public static async Task<int> CountAwaitingApprovalAsync(string connectionString, string orderPrefix, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            """
            SELECT count(*) FROM workflow_runs
            WHERE workflow_type = 'OrderFulfillment' AND business_id LIKE @prefix AND status = 'awaiting_approval' AND closed_at IS NULL
            """,
            new { prefix = orderPrefix + "%" },
            cancellationToken: ct));
    }

    /// <summary>
    /// What a closed order must not keep: an active reservation, a held authorisation, stock allocated beyond the live
    /// reservations. The same checks as the end-to-end tests' DatabaseInvariants (Tests/Stateset.EndToEnd.Tests), kept
    /// here because a benchmark must not depend on a test project; one line per broken row.
    /// </summary>
    public static async Task<List<string>> FindLeftoversAsync(string connectionString, CancellationToken ct)
    {
        const string closedOrders =
            """
            closed_orders AS (
                SELECT o.id FROM orders o WHERE o.status IN ('completed', 'cancelled', 'rejected', 'failed')
                UNION
                SELECT w.business_id FROM workflow_runs w WHERE w.workflow_type = 'OrderFulfillment' AND w.closed_at IS NOT NULL)
            """;
        (string Name, string Sql)[] checks =
        [
            ("a reservation is active for a closed order",
                $"""
                WITH {closedOrders}
                SELECT r.order_id || ' ' || r.sku || ' x' || r.quantity FROM inventory_reservations r JOIN closed_orders c ON c.id = r.order_id
                WHERE r.status = 'reserved'
                """),
            ("an authorisation is held for a closed order",
                $"""
                WITH {closedOrders}
                SELECT p.id || ' is ' || p.status FROM payments p JOIN closed_orders c ON c.id = p.order_id
                WHERE p.status IN ('pending', 'authorized')
                """),
            ("allocated stock is not the sum of the active reservations",
                """
                SELECT b.location_id || ' ' || b.sku || ': allocated ' || b.allocated || ', reserved ' || coalesce(r.reserved, 0)
                FROM inventory_balances b
                LEFT JOIN (SELECT location_id, sku, sum(quantity) AS reserved FROM inventory_reservations WHERE status = 'reserved' GROUP BY location_id, sku) r
                  ON r.location_id = b.location_id AND r.sku = b.sku
                WHERE b.allocated <> coalesce(r.reserved, 0)
                """),
        ];
        await using var connection = new NpgsqlConnection(connectionString);
        var broken = new List<string>();
        foreach (var (name, sql) in checks)
        {
            broken.AddRange((await connection.QueryAsync<string>(new CommandDefinition(sql, cancellationToken: ct))).Select(row => $"{name}: {row}"));
        }

        return broken;
    }

    private static bool IsTransactionControl(string query) =>
        query.Trim().TrimEnd(';').ToUpperInvariant() is "BEGIN" or "COMMIT" or "ROLLBACK" or "START TRANSACTION"
            || query.StartsWith("BEGIN ", StringComparison.OrdinalIgnoreCase);
}

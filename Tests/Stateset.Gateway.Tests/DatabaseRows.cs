using Dapper;
using Npgsql;

namespace Stateset.Gateway.Tests;

/// <summary>
/// Every row of every table of the commerce database, as text, so a test can prove a refused request changed
/// nothing at all: no insert, no update, no delete, in any table.
/// </summary>
public sealed class DatabaseRows
{
    // Written in the background by the gateway's webhook dispatcher (retries of deliveries other tests queued),
    // never by a request, and the migrations' journal.
    private static readonly string[] Ignored = ["webhook_deliveries", "webhook_delivery_attempts", "schemaversions"];

    private readonly Dictionary<string, HashSet<string>> _tables;

    private DatabaseRows(Dictionary<string, HashSet<string>> tables) => _tables = tables;

    /// <summary>Reads every row of every table.</summary>
    public static async Task<DatabaseRows> ReadAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var names = await connection.QueryAsync<string>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND NOT table_name = ANY(@Ignored)",
            new { Ignored });
        var tables = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            tables[name] = (await connection.QueryAsync<string>($"SELECT t::text FROM \"{name}\" t")).ToHashSet(StringComparer.Ordinal);
        }

        return new DatabaseRows(tables);
    }

    /// <summary>How many rows differ (inserted, deleted, or updated, an update counting as one), and where.</summary>
    public (int Rows, string Where) ChangesSince(DatabaseRows before)
    {
        ArgumentNullException.ThrowIfNull(before);
        var changed = 0;
        var where = new List<string>();
        foreach (var (table, rows) in _tables)
        {
            var earlier = before._tables.GetValueOrDefault(table) ?? [];
            var added = rows.Count(r => !earlier.Contains(r));
            var removed = earlier.Count(r => !rows.Contains(r));
            var count = Math.Max(added, removed);
            if (count > 0)
            {
                changed += count;
                where.Add($"{table}: +{added} -{removed}");
            }
        }

        return (changed, string.Join(", ", where));
    }
}

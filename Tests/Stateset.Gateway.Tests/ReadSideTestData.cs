using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Npgsql;

namespace Stateset.Gateway.Tests;

/// <summary>Keys with chosen scopes, and rows the workflows would write, for the read-side tests.</summary>
internal static class ReadSideTestData
{
    public static async Task<string> CreateKeyAsync(this GatewayFixture gateway, params string[] scopes)
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = $"test {string.Join('+', scopes)}", scopes });
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    /// <summary>Inserts an outbox event as an activity would and returns its position.</summary>
    public static async Task<long> AppendOutboxEventAsync(this GatewayFixture gateway, string aggregateType, string aggregateId, string eventType)
    {
        await using var connection = new NpgsqlConnection(gateway.ConnectionString);
        return await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload)
            VALUES (gen_random_uuid(), @aggregateType, @aggregateId, @eventType, '{"test": true}')
            RETURNING position
            """,
            new { aggregateType, aggregateId, eventType });
    }

    public static async Task ExecuteSqlAsync(this GatewayFixture gateway, string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(gateway.ConnectionString);
        await connection.ExecuteAsync(sql, parameters);
    }
}

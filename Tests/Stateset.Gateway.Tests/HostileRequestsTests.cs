using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Stateset.Gateway.Tests;

/// <summary>
/// Over a thousand malformed or hostile requests: random JSON, wrong types, huge and deeply nested bodies, bad
/// ids and query strings, missing, forged and under-scoped keys. None may produce a 5xx, and none may change state.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class HostileRequestsTests(GatewayFixture gateway)
{
    private static readonly string[] Posts =
    [
        "/orders", "/refunds", "/returns", "/labels", "/api-keys", "/webhook-subscriptions",
        "/orders/o-1/approve", "/orders/o-1/cancel", "/refunds/r-1/reject", "/returns/x/received", "/returns/x/inspected",
        "/print-jobs/pj-1/ack", "/callbacks/payments", "/callbacks/carriers",
    ];

    private static readonly string[] Gets =
    [
        "/orders/{0}", "/refunds/{0}", "/returns/{0}", "/labels/{0}", "/approvals?page={0}&pageSize={0}",
        "/runs?from={0}&to={0}&type={0}", "/api-keys/{0}", "/webhook-subscriptions/{0}/deliveries",
    ];

    [Fact]
    public async Task ThousandsOfHostileRequests_NeverGive5xx_AndChangeNothing()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = "fuzz", scopes = new[] { "client", "operator", "callback" } });
        var validKey = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        var before = await StateAsync();
        var random = new Random(20261122);
        var keys = new[] { null, validKey, "ss_forged_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Bearer", new string('k', 5000), validKey + "x" };
        var failures = new List<string>();
        var sent = 0;

        for (var i = 0; i < 1200; i++)
        {
            var key = keys[random.Next(keys.Length)];
            using var client = gateway.CreateClient(null);
            using var request = random.Next(4) == 0 ? HostileGet(random) : HostilePost(random);
            if (key is not null)
            {
                request.Headers.TryAddWithoutValidation(random.Next(2) == 0 ? "X-Api-Key" : "Authorization", random.Next(2) == 0 ? key : $"Bearer {key}");
            }

            if (random.Next(3) > 0)
            {
                request.Headers.TryAddWithoutValidation("Idempotency-Key", random.Next(5) == 0 ? new string('i', 300) : $"fuzz-{i}");
            }

            using var response = await client.SendAsync(request);
            sent++;
            if ((int)response.StatusCode >= 500)
            {
                failures.Add($"{request.Method} {request.RequestUri} -> {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }

        Assert.True(sent >= 1000);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
        Assert.Equal(before, await StateAsync());
    }

    private static HttpRequestMessage HostilePost(Random random)
    {
        var path = Posts[random.Next(Posts.Length)];
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        byte[] body = random.Next(9) switch
        {
            0 => RandomBytes(random, random.Next(1, 512)),
            1 => Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200)),
            2 => Encoding.UTF8.GetBytes("{\"customerId\":\"" + new string('x', 300_000) + "\"}"),
            3 => Encoding.UTF8.GetBytes("{\"lines\":[{\"sku\":1,\"quantity\":\"many\"}],\"currency\":[],\"amount\":\"1e999\"}"),
            4 => Encoding.UTF8.GetBytes("{\"orderId\":\"../../etc/passwd\",\"customerId\":\"'; DROP TABLE orders;--\",\"currency\":\"USD\",\"lines\":[{\"sku\":\"TENT-2P\",\"quantity\":-5}]}"),
            5 => Encoding.UTF8.GetBytes("{\"name\":null,\"scopes\":[\"admin\",\"admin\",7],\"url\":\"javascript:alert(1)\",\"eventTypes\":{}}"),
            6 => Encoding.UTF8.GetBytes(RandomJson(random, depth: 0)),
            7 => [],
            _ => Encoding.UTF8.GetBytes("{\"amount\":-0.001,\"currency\":\"usd\",\"orderId\":\"\",\"lines\":null,\"stationId\":\"\\u0000\"}"),
        };
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.TryAddWithoutValidation("Content-Type", random.Next(5) == 0 ? "text/plain" : "application/json");
        return request;
    }

    private static HttpRequestMessage HostileGet(Random random)
    {
        // (No %00: the in-memory test client itself refuses it; Kestrel answers 400.) SSE routes are left out: a
        // well-formed one streams until the client leaves, which is their point, not a failure.
        string[] values = ["%0A", "-1", "0", "99999999999999999999", "%2e%2e%2f", new string('a', 2000), "o-1", "' OR 1=1 --", "2026-13-45", "<script>"];
        var path = string.Format(System.Globalization.CultureInfo.InvariantCulture, Gets[random.Next(Gets.Length)], values[random.Next(values.Length)]);
        return new HttpRequestMessage(HttpMethod.Get, path);
    }

    private static readonly string[] FieldNames = ["orderId", "customerId", "lines", "amount", "currency", "sku", "quantity", "scopes", "url", "x"];

    private static string RandomJson(Random random, int depth) => (depth > 4 ? random.Next(4) : random.Next(7)) switch
    {
        0 => random.Next(-1_000_000, 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        1 => JsonSerializer.Serialize(Encoding.Latin1.GetString(RandomBytes(random, random.Next(0, 40)))),
        2 => random.Next(2) == 0 ? "true" : "null",
        3 => "1.5e308",
        4 => "[" + string.Join(",", Enumerable.Range(0, random.Next(0, 4)).Select(_ => RandomJson(random, depth + 1))) + "]",
        _ => "{" + string.Join(",", Enumerable.Range(0, random.Next(0, 5)).Select(_ =>
            JsonSerializer.Serialize(FieldNames[random.Next(FieldNames.Length)]) + ":" + RandomJson(random, depth + 1))) + "}",
    };

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private async Task<(long Starts, long Keys, long Subscriptions, long Runs)> StateAsync()
    {
        await using var connection = new NpgsqlConnection(gateway.ConnectionString);
        await connection.OpenAsync();
        async Task<long> CountAsync(string table)
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        return (await CountAsync("idempotent_starts"), await CountAsync("api_keys"), await CountAsync("webhook_subscriptions"), await CountAsync("workflow_runs"));
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace Stateset.Stack.Tests;

/// <summary>
/// The restart a newcomer does: an order waits for an operator and another for its carrier, the stack is stopped with
/// Ctrl-C and started again on the same data folder, and both workflows are still there (the embedded Temporal keeps
/// them in <c>temporal.db</c> beside the PostgreSQL data) and so is the label the carrier sandbox sold, so the operator
/// can approve the one, the carrier can scan the other's parcel, and both run to the end.
/// </summary>
public sealed partial class StackRestartTests : IDisposable
{
    private const string Sku = "RESTART-ITEM";
    private const string ShippedSku = "RESTART-SHIPPED";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "stateset-stack-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, string> _environment;
    private readonly int _gatewayPort = StackProcess.FreePort();
    private readonly int _sandboxPort = StackProcess.FreePort();

    public StackRestartTests() => _environment = new()
    {
        ["STATESET_TEMPORAL_PORT"] = $"{StackProcess.FreePort()}",
        ["STATESET_POSTGRES_PORT"] = $"{StackProcess.FreePort()}",
        ["STATESET_GATEWAY_URL"] = $"http://127.0.0.1:{_gatewayPort}",
        ["STATESET_DATA_DIR"] = _dataDirectory,
        ["STATESET_SANDBOX_PORT"] = $"{_sandboxPort}",
        ["STATESET_TEMPORAL_UI_PORT"] = $"{StackProcess.FreePort()}",
        ["STATESET_DASHBOARD_PORT"] = $"{StackProcess.FreePort()}",
        ["STATESET_DASHBOARD_OTLP_PORT"] = $"{StackProcess.FreePort()}",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = string.Empty,
        ["TEMPORAL_ADDRESS"] = string.Empty,
        ["ConnectionStrings__Commerce"] = string.Empty,
        ["PATH"] = "/usr/local/bin:/usr/bin:/bin",
    };

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task OrdersAwaitingApprovalAndTheCarrier_SurviveARestart_ThenComplete_LeavingNothingHeld()
    {
        var orderId = $"o-restart-{Guid.NewGuid():N}"[..22];
        var shippedId = $"o-shipped-{Guid.NewGuid():N}"[..22];
        string connectionString;
        await using (var first = StackProcess.Start(_environment))
        {
            await first.WaitUntilReadyAsync(TimeSpan.FromSeconds(120));
            connectionString = ConnectionStringFrom(first.Output);
            using var storefront = await ClientAsync("client");

            // A light $5,200 item: above the very-high-amount rule, so the risk check asks an operator, and one parcel
            // any sandbox carrier takes.
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.ExecuteAsync(
                    """
                    INSERT INTO products (sku, name, weight_grams, length_mm, width_mm, height_mm, returnable, return_window_days)
                    VALUES (@Sku, 'Restart test item', 400, 200, 150, 100, true, 30);
                    INSERT INTO product_prices (sku, currency, amount) VALUES (@Sku, 'USD', 5200);
                    INSERT INTO inventory_balances (location_id, sku, on_hand) VALUES ('wh-reno', @Sku, 10);
                    INSERT INTO products (sku, name, weight_grams, length_mm, width_mm, height_mm, returnable, return_window_days)
                    VALUES (@ShippedSku, 'Restart test parcel', 400, 200, 150, 100, true, 30);
                    INSERT INTO product_prices (sku, currency, amount) VALUES (@ShippedSku, 'CAD', 25);
                    INSERT INTO inventory_balances (location_id, sku, on_hand) VALUES ('wh-mississauga', @ShippedSku, 10);
                    """,
                    new { Sku, ShippedSku });
            }

            // The other order goes as far as the carrier before the restart: paid, labelled, printed, waiting for scans.
            await PlaceAsync(storefront, new
            {
                orderId = shippedId,
                customerId = "cus-liam",
                currency = "CAD",
                lines = new[] { new { sku = ShippedSku, quantity = 1 } },
                shippingAddress = new { name = "Liam Tremblay", line1 = "290 Bremner Blvd", line2 = "Unit 4", city = "Toronto", region = "ON", postalCode = "M5V 3L9", country = "CA" },
                paymentMethod = "4242424242424242",
            });
            using (var warehouseBefore = await ClientAsync("callback"))
            {
                await PrintLabelAsync(storefront, warehouseBefore, shippedId);
            }

            await PlaceAsync(storefront, new
            {
                orderId,
                customerId = "cus-ava",
                currency = "USD",
                lines = new[] { new { sku = Sku, quantity = 1 } },
                shippingAddress = new { name = "Ava Martin", line1 = "1600 Amphitheatre Pkwy", city = "Mountain View", region = "CA", postalCode = "94043", country = "US" },
                paymentMethod = "4242424242424242",
            });
            await WaitForAsync(storefront, $"/orders/{orderId}", view =>
                view.GetProperty("status").TryGetProperty("pendingApproval", out var pending) && pending.ValueKind == JsonValueKind.Object);

            Assert.True(await first.InterruptAsync(TimeSpan.FromSeconds(60)) == 0, first.Output);
        }

        await using var second = StackProcess.Start(_environment);
        await second.WaitUntilReadyAsync(TimeSpan.FromSeconds(120));
        using var shop = await ClientAsync("client");
        using var operatorClient = await ClientAsync("operator");
        using var warehouse = await ClientAsync("callback");

        var approvals = await operatorClient.GetFromJsonAsync<JsonElement>(new Uri("/approvals", UriKind.Relative));
        Assert.Contains(approvals.GetProperty("items").EnumerateArray(), a => a.GetProperty("subjectId").GetString() == orderId);
        using (var approved = await operatorClient.PostAsJsonAsync(new Uri($"/orders/{orderId}/approve", UriKind.Relative), new { reason = "known customer" }))
        {
            Assert.True(approved.StatusCode == HttpStatusCode.Accepted, await approved.Content.ReadAsStringAsync());
        }

        // The print station acknowledges the label, then the carrier scans the parcels, the one labelled before the
        // restart too (the sandbox signs the webhooks).
        await PrintLabelAsync(shop, warehouse, orderId);
        await using var database = NpgsqlDataSource.Create(connectionString);
        foreach (var id in new[] { orderId, shippedId })
        {
            await ScanToDeliveredAsync(database, $"{id}-1");
            var done = await WaitForAsync(shop, $"/orders/{id}", view => !view.GetProperty("live").GetBoolean());
            Assert.Equal("completed", done.GetProperty("status").GetProperty("status").GetString());
        }

        await using (var connection = await database.OpenConnectionAsync())
        {
            var facts = await connection.QuerySingleAsync<(string Order, string Payment, decimal Captured, string Decision, long Reserved, long Committed)>(
                """
                SELECT o.status, p.status, p.captured_amount,
                       (SELECT decision FROM approvals WHERE subject_id = o.id),
                       (SELECT count(*) FROM inventory_reservations WHERE order_id = o.id AND status = 'reserved'),
                       (SELECT coalesce(sum(quantity), 0) FROM inventory_reservations WHERE order_id = o.id AND status = 'committed')
                FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id = @orderId
                """,
                new { orderId });
            Assert.Equal(("completed", "captured", 5200m, "approved", 0L, 1L), facts);
            var shipped = await connection.QuerySingleAsync<(string Order, string Payment, decimal Captured, long Labels, string Shipment)>(
                """
                SELECT o.status, p.status, p.captured_amount,
                       (SELECT count(*) FROM labels l WHERE l.shipment_id = o.id || '-1'),
                       (SELECT s.status FROM shipments s WHERE s.id = o.id || '-1')
                FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id = @shippedId
                """,
                new { shippedId });
            Assert.Equal(("completed", "captured", 25m, 1L, "delivered"), shipped);
        }

        Assert.True(await second.InterruptAsync(TimeSpan.FromSeconds(60)) == 0, second.Output);
    }

    private static async Task PlaceAsync(HttpClient storefront, object body)
    {
        using var order = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = JsonContent.Create(body) };
        order.Headers.Add("Idempotency-Key", JsonSerializer.SerializeToElement(body).GetProperty("orderId").GetString());
        using var placed = await storefront.SendAsync(order);
        Assert.True(placed.StatusCode == HttpStatusCode.Accepted, await placed.Content.ReadAsStringAsync());
    }

    /// <summary>The print station acknowledges the order's label; the order then waits for the carrier.</summary>
    private static async Task PrintLabelAsync(HttpClient shop, HttpClient warehouse, string orderId)
    {
        var label = await WaitForAsync(
            shop,
            $"/labels/{orderId}-1",
            view => view.GetProperty("status").TryGetProperty("printJob", out var job) && job.ValueKind == JsonValueKind.Object,
            $"/orders/{orderId}");
        var printJob = label.GetProperty("status").GetProperty("printJob");
        using (var ack = await warehouse.PostAsJsonAsync(
            new Uri($"/print-jobs/{printJob.GetProperty("id").GetString()}/ack", UriKind.Relative), new { stationId = printJob.GetProperty("stationId").GetString() }))
        {
            Assert.Equal(HttpStatusCode.Accepted, ack.StatusCode);
        }

        await WaitForAsync(shop, $"/orders/{orderId}", view => view.GetProperty("status").GetProperty("stage").GetString() == "awaiting shipment");
    }

    /// <summary>The carrier scans the shipment's parcel in transit and delivered, through the sandbox's controls.</summary>
    private async Task ScanToDeliveredAsync(NpgsqlDataSource database, string shipmentId)
    {
        await using var connection = await database.OpenConnectionAsync();
        var (carrier, labelId) = await connection.QuerySingleAsync<(string, string)>(
            "SELECT carrier, carrier_label_id FROM labels WHERE shipment_id = @shipmentId AND NOT voided", new { shipmentId });
        using var sandbox = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_sandboxPort}/") };
        foreach (var status in new[] { "in_transit", "delivered" })
        {
            using var sent = await sandbox.PostAsJsonAsync(new Uri($"carriers/{carrier}/sandbox/labels/{labelId}/events", UriKind.Relative), new { status });
            Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync());
        }
    }

    private static string ConnectionStringFrom(string output)
    {
        var line = PostgresLine().Match(output);
        Assert.True(line.Success, $"the stack printed no PostgreSQL line:\n{output}");
        return $"Host={line.Groups["host"].Value};Port={line.Groups["port"].Value};Database={line.Groups["db"].Value};Username={line.Groups["user"].Value}";
    }

    [GeneratedRegex(@"PostgreSQL\s+(?<host>[^:\s]+):(?<port>\d+)/(?<db>\S+) \(user (?<user>[^)]+)\)")]
    private static partial Regex PostgresLine();

    private static async Task<JsonElement> WaitForAsync(HttpClient client, string path, Func<JsonElement, bool> condition, string? alsoShow = null)
    {
        var deadline = DateTime.UtcNow + Patience;
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var view = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                if (condition(view))
                {
                    return view;
                }
            }

            await Task.Delay(200);
        }

        var shown = alsoShow is null ? string.Empty : $"; {alsoShow}: {await client.GetStringAsync(new Uri(alsoShow, UriKind.Relative))}";
        throw new TimeoutException($"{path} never reached the expected state; last answer: {last}{shown}");
    }

    /// <summary>A client of the stack's gateway with a fresh API key of <paramref name="scope"/>, made with the admin key the stack keeps.</summary>
    private async Task<HttpClient> ClientAsync(string scope)
    {
        var gateway = new Uri($"http://127.0.0.1:{_gatewayPort}");
        using var admin = new HttpClient { BaseAddress = gateway };
        admin.DefaultRequestHeaders.Add("X-Api-Key", (await File.ReadAllTextAsync(Path.Combine(_dataDirectory, "admin-api-key"))).Trim());
        using var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = $"restart-{scope}", scopes = new[] { scope } });
        created.EnsureSuccessStatusCode();
        var client = new HttpClient { BaseAddress = gateway };
        client.DefaultRequestHeaders.Add("X-Api-Key", (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
        return client;
    }
}

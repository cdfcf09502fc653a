using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Stateset.Activities.Shipping;

namespace Stateset.Gateway.Tests;

/// <summary>
/// Orders through the real path: HTTP → gateway → Temporal → worker → activities → PostgreSQL and the payment
/// provider, whose signed settlement webhook comes back through the gateway's callback; carriers report tracking
/// the same way. Nothing is faked.
/// Each test orders for a customer of its own: the risk check scores a customer's history (declined payments,
/// orders in the last day, no fulfilled order yet), so orders shared across tests could reach the approval gate
/// depending on which tests ran first.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class OrdersEndToEndTests(EndToEndFixture system)
{
    [Fact]
    public async Task PlaceOrder_RunsToDelivery_ThroughPaymentCallback_PrintAck_AndCarrierWebhooks()
    {
        using var storefront = await system.ClientAsync("client");
        using var station = await system.ClientAsync("callback");
        var orderId = $"o-{Guid.NewGuid():N}"[..14];

        var placed = await PostAsync(storefront, "/orders", Order(orderId, await NewCustomerAsync(), "4242424242424242"), idempotencyKey: orderId);
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);
        Assert.Equal($"/orders/{orderId}", placed.Headers.Location?.ToString());
        var carrier = await PrintLabelAndAwaitShipmentAsync(storefront, station, orderId);

        // The carrier scans the parcel: its signed webhooks reach the gateway and become signals.
        var carrierLabelId = await ScalarAsync<string>($"SELECT carrier_label_id FROM labels WHERE shipment_id = '{orderId}-1'");
        using var sandbox = new HttpClient { BaseAddress = system.Sandboxes.BaseAddress };
        (await sandbox.PostAsJsonAsync(new Uri($"carriers/{carrier}/sandbox/labels/{carrierLabelId}/events", UriKind.Relative), new { status = "in_transit" })).EnsureSuccessStatusCode();
        (await sandbox.PostAsJsonAsync(new Uri($"carriers/{carrier}/sandbox/labels/{carrierLabelId}/events", UriKind.Relative), new { status = "delivered" })).EnsureSuccessStatusCode();

        var done = await WaitForAsync(storefront, $"/orders/{orderId}", s => !s.GetProperty("live").GetBoolean());
        Assert.Equal("completed", done.GetProperty("status").GetProperty("status").GetString());
        var trackingNumber = await ScalarAsync<string>($"SELECT tracking_number FROM shipments WHERE id = '{orderId}-1'");
        Assert.Equal(trackingNumber, done.GetProperty("status").GetProperty("details").GetProperty("trackingNumber").GetString());
        Assert.Equal("delivered", await ScalarAsync<string>($"SELECT status FROM orders WHERE id = '{orderId}'") is "delivered" or "completed" ? "delivered" : "not delivered");
        Assert.Equal("captured", await ScalarAsync<string>($"SELECT status FROM payments WHERE order_id = '{orderId}'"));
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM inventory_reservations WHERE order_id = '{orderId}' AND status <> 'committed'"));
        Assert.Equal("delivered", await ScalarAsync<string>($"SELECT status FROM shipments WHERE id = '{orderId}-1'"));
    }

    [Fact]
    public async Task CarrierEventStoredButNeverSignalled_ReachesTheOrderWhenTheCarrierResendsIt()
    {
        using var storefront = await system.ClientAsync("client");
        using var station = await system.ClientAsync("callback");
        var orderId = $"o-{Guid.NewGuid():N}"[..14];
        await PostAsync(storefront, "/orders", Order(orderId, await NewCustomerAsync(), "4242424242424242"), idempotencyKey: orderId);
        var carrier = await PrintLabelAndAwaitShipmentAsync(storefront, station, orderId);
        var trackingNumber = await ScalarAsync<string>($"SELECT tracking_number FROM shipments WHERE id = '{orderId}-1'");
        var body = JsonSerializer.Serialize(new { id = $"evt_{Guid.NewGuid():N}", carrier, trackingNumber, status = "delivered", occurredAt = DateTimeOffset.UtcNow });
        var signature = CarrierWebhookSignature.Sign(EndToEndFixture.CarrierSecret, body, DateTimeOffset.UtcNow);

        // The first delivery was stored, then the gateway died before it signalled the order.
        await using (var scope = system.GatewayServices.CreateAsyncScope())
        {
            var stored = await scope.ServiceProvider.GetRequiredService<TrackingWebhookReceiver>().ReceiveAsync(signature, body, CancellationToken.None);
            Assert.Equal(TrackingWebhookOutcome.Recorded, stored.Outcome);
        }

        using var carrierClient = new HttpClient { BaseAddress = system.GatewayAddress };
        using var resend = new HttpRequestMessage(HttpMethod.Post, "/callbacks/carriers") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        resend.Headers.Add(CarrierWebhookSignature.HeaderName, signature);
        using var resent = await carrierClient.SendAsync(resend);

        var done = await WaitForAsync(storefront, $"/orders/{orderId}", s => !s.GetProperty("live").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, resent.StatusCode);
        Assert.Equal("completed", done.GetProperty("status").GetProperty("status").GetString());
        Assert.Equal(1, await ScalarAsync<long>($"SELECT count(*) FROM outbox_events WHERE aggregate_id = '{orderId}-1' AND event_type = 'shipment.delivered'"));
    }

    [Fact]
    public async Task ClosedOrder_Get_StillCarriesTimelineMoneyAndShipment_AndItsLabelRunKeepsTheLabelFacts()
    {
        using var storefront = await system.ClientAsync("client");
        using var station = await system.ClientAsync("callback");
        var orderId = $"o-{Guid.NewGuid():N}"[..14];
        await PostAsync(storefront, "/orders", Order(orderId, await NewCustomerAsync(), "4242424242424242"), idempotencyKey: orderId);
        var carrier = await PrintLabelAndAwaitShipmentAsync(storefront, station, orderId);
        var carrierLabelId = await ScalarAsync<string>($"SELECT carrier_label_id FROM labels WHERE shipment_id = '{orderId}-1'");
        using var sandbox = new HttpClient { BaseAddress = system.Sandboxes.BaseAddress };
        (await sandbox.PostAsJsonAsync(new Uri($"carriers/{carrier}/sandbox/labels/{carrierLabelId}/events", UriKind.Relative), new { status = "delivered" })).EnsureSuccessStatusCode();

        var done = await WaitForAsync(storefront, $"/orders/{orderId}", s => !s.GetProperty("live").GetBoolean());
        var label = await WaitForAsync(storefront, $"/labels/{orderId}-1", s => !s.GetProperty("live").GetBoolean());

        var order = done.GetProperty("status");
        Assert.Equal("completed", order.GetProperty("status").GetString());
        var steps = order.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("step").GetString()).ToList();
        Assert.Contains("validate order", steps);
        Assert.Contains("capture payment", steps);
        Assert.Contains("carrier delivered", steps);
        var money = order.GetProperty("money");
        Assert.True(money.GetProperty("captured").GetDecimal() > 0, money.ToString());
        Assert.Equal(money.GetProperty("total").GetDecimal(), money.GetProperty("captured").GetDecimal());
        var shipment = order.GetProperty("shipment");
        var trackingNumber = await ScalarAsync<string>($"SELECT tracking_number FROM labels WHERE shipment_id = '{orderId}-1' AND NOT voided");
        Assert.Equal(trackingNumber, shipment.GetProperty("trackingNumber").GetString());
        Assert.Equal(JsonValueKind.String, shipment.GetProperty("deliveredAt").ValueKind);
        Assert.Equal(JsonValueKind.Array, order.GetProperty("compensationsRun").ValueKind);
        Assert.True(done.GetProperty("version").GetInt64() > 1);

        // The label run closed long ago; its facts are still there for carriers and stations.
        var facts = label.GetProperty("status").GetProperty("label");
        Assert.Equal(carrier, facts.GetProperty("carrier").GetString());
        Assert.Equal(carrierLabelId, facts.GetProperty("carrierLabelId").GetString());
        Assert.Equal(trackingNumber, facts.GetProperty("trackingNumber").GetString());
        Assert.False(string.IsNullOrEmpty(facts.GetProperty("service").GetString()));
        Assert.Equal(await ScalarAsync<decimal>($"SELECT cost FROM labels WHERE shipment_id = '{orderId}-1' AND NOT voided"), facts.GetProperty("amount").GetDecimal());
    }

    [Fact]
    public async Task DeclinedOrder_Get_AfterClose_ShowsTheCompensationsRunAndWhy()
    {
        using var storefront = await system.ClientAsync("client");
        var orderId = $"o-{Guid.NewGuid():N}"[..14];

        await PostAsync(storefront, "/orders", Order(orderId, await NewCustomerAsync(), "4000000000000002"), orderId);

        var done = (await WaitForAsync(storefront, $"/orders/{orderId}", s => !s.GetProperty("live").GetBoolean())).GetProperty("status");
        Assert.Equal("payment_declined", done.GetProperty("status").GetString());
        Assert.Contains("release inventory", done.GetProperty("compensationsRun").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("declined", done.GetProperty("failureReason").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains(done.GetProperty("timeline").EnumerateArray(), e => e.GetProperty("outcome").GetString() == "compensated");
    }

    [Fact]
    public async Task SameIdempotencyKey_SameBody_IsOneOrder_AndOneCharge_DifferentBody_Is409()
    {
        using var storefront = await system.ClientAsync("client");
        var key = Guid.NewGuid().ToString();
        var customerId = await NewCustomerAsync();
        var body = Order(orderId: null, customerId, "4242424242424242");

        var first = await PostAsync(storefront, "/orders", body, key);
        var second = await PostAsync(storefront, "/orders", body, key);
        var changed = await PostAsync(storefront, "/orders", Order(orderId: null, customerId, "4000000000000002"), key);

        var a = await first.Content.ReadFromJsonAsync<JsonElement>();
        var b = await second.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(a.GetProperty("id").GetString(), b.GetProperty("id").GetString());
        Assert.Equal(a.GetProperty("runId").GetString(), b.GetProperty("runId").GetString());
        Assert.Equal(HttpStatusCode.Conflict, changed.StatusCode);
        var orderId = a.GetProperty("id").GetString();
        await WaitForAsync(storefront, $"/orders/{orderId}", s => s.GetProperty("status").GetProperty("stage").GetString() is "printing label" or "awaiting shipment");
        Assert.Equal(1, await ScalarAsync<long>($"SELECT count(*) FROM payments WHERE order_id = '{orderId}'"));
    }

    [Fact]
    public async Task DeclinedCard_FailsTheOrder_AndReleasesItsStock()
    {
        using var storefront = await system.ClientAsync("client");
        var orderId = $"o-{Guid.NewGuid():N}"[..14];

        await PostAsync(storefront, "/orders", Order(orderId, await NewCustomerAsync(), "4000000000000002"), orderId);

        var done = await WaitForAsync(storefront, $"/orders/{orderId}", s => !s.GetProperty("live").GetBoolean());
        Assert.Equal("payment_declined", done.GetProperty("status").GetProperty("status").GetString());
        Assert.Contains("declined", done.GetProperty("status").GetProperty("details").GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM inventory_reservations WHERE order_id = '{orderId}' AND status = 'reserved'"));
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM shipments WHERE order_id = '{orderId}'"));
    }

    [Fact]
    public async Task Approve_WhenNotWaiting_Is409_AndWithoutOperatorScope_Is403()
    {
        using var storefront = await system.ClientAsync("client");
        using var operatorClient = await system.ClientAsync("operator");
        var orderId = $"o-{Guid.NewGuid():N}"[..14];
        await PostAsync(storefront, "/orders", Order(orderId, await NewCustomerAsync(), "4242424242424242"), orderId);
        await WaitForAsync(storefront, $"/orders/{orderId}", s => s.GetProperty("status").GetProperty("stage").GetString() is "printing label" or "awaiting shipment");

        var forbidden = await PostAsync(storefront, $"/orders/{orderId}/approve", new { reason = "looks fine" });
        var conflict = await PostAsync(operatorClient, $"/orders/{orderId}/approve", new { reason = "looks fine" });

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("""{"customerId":"cus-ava","currency":"USD","lines":[{"sku":"TENT-2P","quantity":-1}],"shippingAddress":{"name":"A","line1":"1 Main","city":"Reno","region":"NV","postalCode":"89502","country":"US"},"paymentMethod":"4242"}""", "lines[0].quantity")]
    [InlineData("""{"customerId":"cus-ava","currency":"EUR","lines":[{"sku":"TENT-2P","quantity":1}],"shippingAddress":{"name":"A","line1":"1 Main","city":"Reno","region":"NV","postalCode":"89502","country":"US"},"paymentMethod":"4242"}""", "currency")]
    [InlineData("""{"customerId":"cus-ava","currency":"USD","lines":[{"sku":"TENT-2P","quantity":"one"}],"shippingAddress":null,"paymentMethod":"4242"}""", "lines[0].quantity")]
    [InlineData("""{"customerId":"cus-ava","currency":"USD","lines":[],"color":"red"}""", "color")]
    [InlineData("""{"customerId":""", "customerId")]
    public async Task PlaceOrder_BadBody_Is400NamingTheField_AndStartsNothing(string json, string field)
    {
        using var storefront = await system.ClientAsync("client");
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = content };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());

        var response = await storefront.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    private static object Order(string? orderId, string customerId, string card) => new
    {
        orderId,
        customerId,
        currency = "USD",
        lines = new[] { new { sku = "HEADLAMP-400", quantity = 1 } },
        shippingAddress = new { name = "Ava Martin", line1 = "1600 Amphitheatre Pkwy", city = "Mountain View", region = "CA", postalCode = "94043", country = "US" },
        paymentMethod = card,
    };

    /// <summary>The warehouse printer acknowledges the label's print job; answers the carrier the parcel waits for.</summary>
    private static async Task<string> PrintLabelAndAwaitShipmentAsync(HttpClient storefront, HttpClient station, string orderId)
    {
        var label = await WaitForAsync(storefront, $"/labels/{orderId}-1", s => s.GetProperty("status").TryGetProperty("printJob", out var job) && job.ValueKind == JsonValueKind.Object);
        var job = label.GetProperty("status").GetProperty("printJob");
        var ack = await PostAsync(station, $"/print-jobs/{job.GetProperty("id").GetString()}/ack", new { stationId = job.GetProperty("stationId").GetString() });
        Assert.Equal(HttpStatusCode.Accepted, ack.StatusCode);
        var awaiting = await WaitForAsync(storefront, $"/orders/{orderId}", s => s.GetProperty("status").GetProperty("stage").GetString() == "awaiting shipment");
        return awaiting.GetProperty("status").GetProperty("shipment").GetProperty("carrier").GetString()!;
    }

    /// <summary>
    /// A new customer with the seeded Ava Martin's name and addresses but no history: its first order scores only
    /// the first-order rule's 15 risk points, far below the approval threshold of 50.
    /// </summary>
    private async Task<string> NewCustomerAsync()
    {
        var customerId = $"cus-{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.ExecuteAsync(
            """
            INSERT INTO customers (id, email, name, phone)
            SELECT @customerId, @customerId || '@example.com', name, phone FROM customers WHERE id = 'cus-ava';
            INSERT INTO customer_addresses (customer_id, kind, is_default, name, line1, line2, city, region, postal_code, country, phone)
            SELECT @customerId, kind, is_default, name, line1, line2, city, region, postal_code, country, phone FROM customer_addresses WHERE customer_id = 'cus-ava';
            """,
            new { customerId });
        return customerId;
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await client.SendAsync(request);
    }

    /// <summary>Polls a resource until it reaches a state; the system runs on real time here, as in production.</summary>
    private static async Task<JsonElement> WaitForAsync(HttpClient client, string path, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var body = JsonDocument.Parse(last).RootElement;
                if (condition(body))
                {
                    return body;
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{path} never reached the expected state; last answer: {last}");
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stateset.Testing.EndToEnd;

namespace Stateset.EndToEnd.Tests;

/// <summary>Every path of OrderFulfillment through the real system, from the storefront's first request to its end.</summary>
[Collection(OrdersCollection.Name)]
public sealed class OrderTests(StatesetSystem system) : EndToEndTest(system)
{
    /// <summary>A price that scores the risk check's very-high-amount rule (+50) on a first order (+15): operators must decide.</summary>
    private const decimal RiskyPrice = 5200m;

    [Fact]
    public async Task Order_HappyPath_CompletesWithOneCaptureAndShippedStock()
    {
        var sku = await NewSkuAsync(price: 49.95m);
        var customer = await NewCustomerAsync();

        var orderId = await DeliveredOrderAsync(customer, sku, quantity: 2);

        Assert.Equal("completed", await ScalarAsync<string>("SELECT status FROM orders WHERE id = @orderId", new { orderId }));
        Assert.Equal(99.90m, await ScalarAsync<decimal>("SELECT captured_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(99.90m, await ScalarAsync<decimal>("SELECT sum(amount) FROM ledger_entries WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(2L, await ScalarAsync<long>("SELECT sum(quantity) FROM inventory_reservations WHERE order_id = @orderId AND status = 'committed'", new { orderId }));
        Assert.Equal("delivered", await ScalarAsync<string>("SELECT status FROM shipments WHERE id = @id", new { id = $"{orderId}-1" }));
    }

    [Fact]
    public async Task Order_DatabaseStepsRunAsLocalActivities_OnlyProviderAndCarrierCallsAreActivityTasks_AndTheRowsAreAsBefore()
    {
        var sku = await NewSkuAsync(price: 49.95m);
        var orderId = await DeliveredOrderAsync(await NewCustomerAsync(), sku, quantity: 2);
        var shipmentId = $"{orderId}-1";

        // Before (order-steps-happy-path-*.json) each of these steps was an activity task of its own: 9 for the
        // order and 7 for its label, where now 3 and 2 are left, and the rest are markers in the tasks that ran them.
        var order = await TasksOfAsync($"order-{orderId}");
        var label = await TasksOfAsync($"label-{shipmentId}");
        Assert.Equal(["CreatePaymentAuthorization", "AwaitPaymentAuthorization", "CapturePayment"], order.Activities.Select(a => a.Type));
        Assert.Equal(
            ["PlaceOrder", "ReserveInventory", "AssessOrderRisk", "PrepareShipment", "CommitOrderInventory", "RecordStep"],
            order.LocalActivities.Select(a => a.Type).Where(t => t != "UpsertWorkflowRun"));
        Assert.Equal(["ShopRates", "BuyLabel"], label.Activities.Select(a => a.Type));
        Assert.Equal(
            ["ValidateAddress", "ValidateAddress", "RenderLabel", "CreatePrintJob", "AcknowledgePrintJob"],
            label.LocalActivities.Select(a => a.Type).Where(t => t != "UpsertWorkflowRun"));

        // The same rows as with activities: one order, one capture, the stock committed once and nothing left
        // reserved, one live label printed once, each business event once.
        Assert.Equal("completed", await ScalarAsync<string>("SELECT status FROM orders WHERE id = @orderId", new { orderId }));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM payments WHERE order_id = @orderId AND status = 'captured'", new { orderId }));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE order_id = @orderId AND kind = 'capture' AND amount = 99.90", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'committed'", new { orderId }));
        Assert.Equal(2L, await ScalarAsync<long>("SELECT sum(quantity) FROM inventory_reservations WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM labels WHERE shipment_id = @shipmentId AND NOT voided AND zpl IS NOT NULL", new { shipmentId }));
        Assert.Equal(
            ["printed"],
            await QueryAsync<string>("SELECT j.status FROM print_jobs j JOIN labels l ON l.id = j.label_id WHERE l.shipment_id = @shipmentId", new { shipmentId }));
        Assert.Equal(
            ["inventory.committed", "inventory.reserved", "order.placed"],
            await QueryAsync<string>(
                """
                SELECT event_type FROM outbox_events
                WHERE aggregate_id = @orderId AND event_type IN ('order.placed', 'inventory.reserved', 'inventory.committed')
                ORDER BY event_type
                """,
                new { orderId }));
        Assert.Equal(
            0L,
            await ScalarAsync<long>(
                "SELECT count(*) - count(DISTINCT idempotency_key) FROM notifications WHERE idempotency_key LIKE @prefix", new { prefix = $"{orderId}:%" }));
    }

    [Fact]
    public async Task Order_MoreThanInStock_FailsAtTheReservation_ClosingItsRowWithTheReason_AndHoldsNothing()
    {
        // Two locations with one each: five cannot be reserved, and the step (a local activity) fails for good at once.
        var sku = await NewSkuAsync(stock: 1);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku, quantity: 5);

        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal("failed", StatusOf(done));
        Assert.Contains("Not enough stock", ReasonOf(done), StringComparison.Ordinal);
        Assert.Equal("failed", await ScalarAsync<string>("SELECT status FROM orders WHERE id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'released'", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM payments WHERE order_id = @orderId", new { orderId }));
        var reserve = (await TasksOfAsync($"order-{orderId}")).LocalActivities.Single(a => a.Type == "ReserveInventory");
        Assert.Equal(1, reserve.Attempt);
    }

    [Theory]
    [InlineData("4000000000000002")]
    [InlineData("4000000000009995")]
    public async Task Order_PaymentDeclined_ReleasesInventory(string card)
    {
        var sku = await NewSkuAsync();
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku, card);

        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal("payment_declined", StatusOf(done));
        Assert.Contains("declin", ReasonOf(done), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("failed", await ScalarAsync<string>("SELECT status FROM orders WHERE id = @orderId", new { orderId }));
        Assert.Equal("declined", await ScalarAsync<string>("SELECT status FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'released'", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM shipments WHERE order_id = @orderId", new { orderId }));
    }

    [Fact]
    public async Task Order_OperatorRejects_VoidsAuthorisationAndReleasesInventory()
    {
        var sku = await NewSkuAsync(price: RiskyPrice);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku);
        await WaitForApprovalAsync($"/orders/{orderId}");

        using var rejected = await PostAsync(Operator, $"/orders/{orderId}/reject", new { reason = "card testing pattern" });
        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal(HttpStatusCode.Accepted, rejected.StatusCode);
        Assert.Equal("rejected", StatusOf(done));
        Assert.Contains("card testing pattern", ReasonOf(done), StringComparison.Ordinal);
        Assert.Equal("rejected", await ScalarAsync<string>("SELECT status FROM orders WHERE id = @orderId", new { orderId }));
        Assert.Equal("voided", await ScalarAsync<string>("SELECT status FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'released'", new { orderId }));
        Assert.Equal("rejected", await ScalarAsync<string>("SELECT decision FROM approvals WHERE subject_id = @orderId", new { orderId }));
    }

    [Fact]
    public async Task Order_StationAcknowledgesItsJobTheMomentItIsQueued_TheLabelTakesIt_AndTheOrderCompletes()
    {
        var sku = await NewSkuAsync();
        var customer = await NewCustomerAsync();
        var orderId = NewId("o");
        var shipmentId = $"{orderId}-1";

        // The earliest a station can acknowledge: its job's row has committed, the label run has not heard back from
        // that step yet. The station lists its queue through the gateway and acknowledges what it finds.
        HttpStatusCode? acknowledged = null;
        System.Faults.BeforeReporting(orderId, "CreatePrintJob", async () =>
        {
            var station = await ScalarAsync<string>(
                "SELECT station_id FROM print_jobs pj JOIN labels l ON l.id = pj.label_id WHERE l.shipment_id = @shipmentId", new { shipmentId });
            var queue = await Operator.GetFromJsonAsync<JsonElement>(new Uri($"/print-stations/{station}/jobs?status=queued&limit=200", UriKind.Relative));
            var job = queue.GetProperty("items").EnumerateArray().Single(j => j.GetProperty("shipmentId").GetString() == shipmentId);
            using var ack = await PostAsync(Warehouse, job.GetProperty("links").GetProperty("ack").GetString()!, new { stationId = station });
            acknowledged = ack.StatusCode;
        });
        using var placed = await PostAsync(Storefront, "/orders", OrderBody(orderId, customer, sku, GoodCard, 1, null, null), orderId);
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);

        await WaitForStageAsync($"/orders/{orderId}", "awaiting shipment");
        Assert.Equal(HttpStatusCode.Accepted, acknowledged);
        await CarrierScanAsync(shipmentId, "in_transit");
        await CarrierScanAsync(shipmentId, "delivered");
        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal("completed", StatusOf(done));
        var label = await WaitClosedAsync($"/labels/{shipmentId}");
        Assert.Equal("printed", StatusOf(label));

        // Kept if it reached the run before the job's result did, taken as it comes if after (with the print job a
        // local activity the run usually hears of the job first): never ignored.
        Assert.DoesNotContain(
            label.GetProperty("status").GetProperty("timeline").EnumerateArray(),
            e => e.GetProperty("step").GetString() == "print acknowledgement" && e.GetProperty("outcome").GetString() == "ignored");
        Assert.Equal("printed", await ScalarAsync<string>(
            "SELECT pj.status FROM print_jobs pj JOIN labels l ON l.id = pj.label_id WHERE l.shipment_id = @shipmentId", new { shipmentId }));
        Assert.Equal("delivered", await ScalarAsync<string>("SELECT status FROM shipments WHERE id = @shipmentId", new { shipmentId }));
        Assert.Equal("completed", await ScalarAsync<string>("SELECT status FROM orders WHERE id = @orderId", new { orderId }));
        Assert.Equal(49.95m, await ScalarAsync<decimal>("SELECT captured_amount FROM payments WHERE order_id = @orderId", new { orderId }));
    }

    [Fact]
    public async Task Order_OperatorApproves_RunsToCompletion()
    {
        var sku = await NewSkuAsync(price: RiskyPrice);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku);
        var waiting = await WaitForApprovalAsync($"/orders/{orderId}");
        Assert.Contains("risk score", waiting.GetProperty("status").GetProperty("pendingApproval").GetProperty("reason").GetString(), StringComparison.Ordinal);

        using var approved = await PostAsync(Operator, $"/orders/{orderId}/approve", new { reason = "known customer" });
        Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
        await PrintLabelAsync(orderId);
        await CarrierScanAsync($"{orderId}-1", "delivered");
        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal("completed", StatusOf(done));
        Assert.Equal(RiskyPrice, await ScalarAsync<decimal>("SELECT captured_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal("approved", await ScalarAsync<string>("SELECT decision FROM approvals WHERE subject_id = @orderId", new { orderId }));
    }

    [Fact]
    public async Task Order_CancelBeforeCapture_VoidsAuthorisationAndReleasesInventory()
    {
        var sku = await NewSkuAsync(price: RiskyPrice);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku);
        await WaitForApprovalAsync($"/orders/{orderId}");

        using var cancelled = await PostAsync(Storefront, $"/orders/{orderId}/cancel", new { reason = "ordered the wrong size" });
        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal(HttpStatusCode.Accepted, cancelled.StatusCode);
        Assert.Equal("cancelled", StatusOf(done));
        Assert.Equal("cancelled", await ScalarAsync<string>("SELECT status FROM orders WHERE id = @orderId", new { orderId }));
        Assert.Equal("voided", await ScalarAsync<string>("SELECT status FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0m, await ScalarAsync<decimal>("SELECT captured_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'released'", new { orderId }));
    }

    [Fact]
    public async Task Order_OperatorCancels_LikeTheCustomer()
    {
        var sku = await NewSkuAsync(price: RiskyPrice);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku);
        await WaitForApprovalAsync($"/orders/{orderId}");

        // The README lists cancel among the operator's decisions.
        using var cancelled = await PostAsync(Operator, $"/orders/{orderId}/cancel", new { reason = "customer phoned" });
        Assert.Equal(HttpStatusCode.Accepted, cancelled.StatusCode);
        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal("cancelled", StatusOf(done));
        Assert.Equal("voided", await ScalarAsync<string>("SELECT status FROM payments WHERE order_id = @orderId", new { orderId }));
    }

    [Fact]
    public async Task Order_CancelDuringLabelPrinting_VoidsTheLabelAndRefundsWithinSeconds()
    {
        var sku = await NewSkuAsync(price: 80m);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku);
        var shipmentId = $"{orderId}-1";
        await WaitForAsync($"/labels/{shipmentId}", s => !IsClosed(s) && StageOf(s) == "waiting for print station");

        using var cancelled = await PostAsync(Storefront, $"/orders/{orderId}/cancel", new { reason = "found it cheaper" });
        Assert.Equal(HttpStatusCode.Accepted, cancelled.StatusCode);

        // The station never prints: the cancel must not wait for it (or for the 30-minute print timeout).
        var done = await WaitClosedAsync($"/orders/{orderId}", TimeSpan.FromSeconds(20));
        Assert.Equal("cancelled", StatusOf(done));
        Assert.True(await ScalarAsync<bool>("SELECT bool_and(voided) FROM labels WHERE shipment_id = @shipmentId", new { shipmentId }));
        Assert.Equal(80m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0m, await ScalarAsync<decimal>("SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'released'", new { orderId }));
        var label = await WaitClosedAsync($"/labels/{shipmentId}");
        Assert.Equal("cancelled", StatusOf(label));
    }

    [Fact]
    public async Task Order_CancelAfterShipping_Is409AndUndoesNothing()
    {
        var sku = await NewSkuAsync();
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku);
        await PrintLabelAsync(orderId);
        await CarrierScanAsync($"{orderId}-1", "in_transit");
        await WaitForStageAsync($"/orders/{orderId}", "awaiting delivery");

        using var refused = await PostAsync(Storefront, $"/orders/{orderId}/cancel", new { reason = "too late?" });

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var order = await WaitForStageAsync($"/orders/{orderId}", "awaiting delivery");
        Assert.Empty(order.GetProperty("status").GetProperty("compensationsRun").EnumerateArray());
        Assert.Equal("captured", await ScalarAsync<string>("SELECT status FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM labels WHERE shipment_id = @id AND voided", new { id = $"{orderId}-1" }));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status = 'committed'", new { orderId }));

        await CarrierScanAsync($"{orderId}-1", "delivered");
        Assert.Equal("completed", StatusOf(await WaitClosedAsync($"/orders/{orderId}")));
    }

    [Fact]
    public async Task Order_SameIdempotencyKeyTenTimesConcurrently_IsOneOrderAndOnePayment()
    {
        var sku = await NewSkuAsync();
        var body = OrderBody(orderId: null, await NewCustomerAsync(), sku);
        var key = Guid.NewGuid().ToString();

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            using var response = await PostAsync(Storefront, "/orders", body, key);
            return (response.StatusCode, Body: await response.Content.ReadFromJsonAsync<JsonElement>());
        }));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.StatusCode));
        var ids = answers.Select(a => a.Body.GetProperty("id").GetString()).Distinct().ToList();
        var orderId = Own(Assert.Single(ids)!);
        Assert.Single(answers.Select(a => a.Body.GetProperty("runId").GetString()).Distinct());
        await PrintLabelAsync(orderId);
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM orders WHERE customer_id = (SELECT customer_id FROM orders WHERE id = @orderId)", new { orderId }));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM idempotent_starts WHERE idempotency_key = @key", new { key }));
        await CarrierScanAsync($"{orderId}-1", "delivered");
        await WaitClosedAsync($"/orders/{orderId}");
    }

    [Fact]
    public async Task Order_SameIdempotencyKeyWithAnotherBody_Is409()
    {
        var sku = await NewSkuAsync();
        var customer = await NewCustomerAsync();
        var key = Guid.NewGuid().ToString();
        using var first = await PostAsync(Storefront, "/orders", OrderBody(orderId: null, customer, sku), key);
        var orderId = Own((await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);

        using var changed = await PostAsync(Storefront, "/orders", OrderBody(orderId: null, customer, sku, quantity: 3), key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, changed.StatusCode);
        Assert.Equal("application/problem+json", changed.Content.Headers.ContentType?.MediaType);
        await PrintLabelAsync(orderId);
        Assert.Equal(1, await ScalarAsync<int>("SELECT quantity FROM order_items WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM orders WHERE customer_id = @customer", new { customer }));
        await CarrierScanAsync($"{orderId}-1", "delivered");
        await WaitClosedAsync($"/orders/{orderId}");
    }

    [Fact]
    public async Task Order_DuplicatePspWebhooks_SettleTheAuthorisationOnce()
    {
        var sku = await NewSkuAsync(price: 30m);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku, card: "4000000000000259");

        await PrintLabelAsync(orderId);
        await CarrierScanAsync($"{orderId}-1", "delivered");
        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal("completed", StatusOf(done));
        var paymentId = await ScalarAsync<string>("SELECT id FROM payments WHERE order_id = @orderId", new { orderId });
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(30m, await ScalarAsync<decimal>("SELECT sum(amount) FROM ledger_entries WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(1L, await ScalarAsync<long>(
            "SELECT count(*) FROM outbox_events WHERE aggregate_id = @paymentId AND event_type = 'payment.authorized'", new { paymentId }));
        Assert.Equal(1L, await ScalarAsync<long>(
            "SELECT count(*) FROM outbox_events WHERE aggregate_id = @orderId AND event_type = 'order.status_changed' AND payload ->> 'to' = 'authorized'", new { orderId }));
    }

    [Fact]
    public async Task Order_UnknownSku_Is400AndWritesNothing()
    {
        var customer = await NewCustomerAsync();
        var orderId = NewId("o");
        var key = Guid.NewGuid().ToString();

        using var refused = await PostAsync(Storefront, "/orders", OrderBody(orderId, customer, "NOPE-404"), key);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("lines[0].sku", out _), problem.ToString());
        await AssertNothingWrittenAsync(orderId, key);
    }

    [Theory]
    [InlineData("shippingAddress.name", """{"name":"Ava\u0000Martin","line1":"1600 Amphitheatre Pkwy","city":"Mountain View","region":"CA","postalCode":"94043","country":"US"}""")]
    [InlineData("shippingAddress.line1", """{"name":"Ava Martin","line1":"1600 Amphi\u0007theatre","city":"Mountain View","region":"CA","postalCode":"94043","country":"US"}""")]
    [InlineData("shippingAddress.city", """{"name":"Ava Martin","line1":"1600 Amphitheatre Pkwy","city":"Mountain\nView","region":"CA","postalCode":"94043","country":"US"}""")]
    [InlineData("paymentMethod", null)]
    public async Task Order_ControlCharacters_Are400AndWriteNothing(string field, string? shippingAddress)
    {
        var sku = await NewSkuAsync();
        var customer = await NewCustomerAsync();
        var orderId = NewId("o");
        var key = Guid.NewGuid().ToString();
        var address = shippingAddress ?? """{"name":"Ava Martin","line1":"1600 Amphitheatre Pkwy","city":"Mountain View","region":"CA","postalCode":"94043","country":"US"}""";
        var card = shippingAddress is null ? "4242\\u00004242" : GoodCard;
        var json = $$"""{"orderId":"{{orderId}}","customerId":"{{customer}}","currency":"USD","lines":[{"sku":"{{sku}}","quantity":1}],"shippingAddress":{{address}},"paymentMethod":"{{card}}"}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);

        using var refused = await Storefront.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        await AssertNothingWrittenAsync(orderId, key);
    }

    private async Task AssertNothingWrittenAsync(string orderId, string key)
    {
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM idempotent_starts WHERE idempotency_key = @key OR resource_id = @orderId", new { key, orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM workflow_runs WHERE business_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = @orderId", new { orderId }));
        var describe = await Record.ExceptionAsync(() => System.Temporal.Client.GetWorkflowHandle($"order-{orderId}").DescribeAsync());
        Assert.IsType<Temporalio.Exceptions.RpcException>(describe);
    }
}

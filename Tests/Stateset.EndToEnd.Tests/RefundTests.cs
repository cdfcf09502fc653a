using System.Net;
using Stateset.Testing.EndToEnd;

namespace Stateset.EndToEnd.Tests;

/// <summary>Every path of RefundProcessing: refunds of delivered orders, asked for over HTTP and settled by the provider's callback.</summary>
[Collection(MoneyCollection.Name)]
public sealed class RefundTests(StatesetSystem system) : EndToEndTest(system)
{
    [Fact]
    public async Task Refund_Partial_IsSettledByTheCallbackAndBooked()
    {
        var customer = await NewCustomerAsync();
        var orderId = await DeliveredOrderAsync(customer, await NewSkuAsync(price: 80m));
        var refundId = NewId("r");

        using var started = await PostAsync(Storefront, "/refunds", RefundBody(refundId, orderId, customer, 30m), refundId);
        var done = await WaitClosedAsync($"/refunds/{refundId}");

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("refunded", StatusOf(done));
        Assert.Equal("succeeded", await ScalarAsync<string>("SELECT status FROM refunds WHERE id = @refundId", new { refundId }));
        Assert.NotNull(await ScalarAsync<string>("SELECT provider_refund_id FROM refunds WHERE id = @refundId", new { refundId }));
        Assert.Equal("partially_refunded", await ScalarAsync<string>("SELECT status FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(30m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(-30m, await ScalarAsync<decimal>("SELECT amount FROM ledger_entries WHERE refund_id = @refundId", new { refundId }));
        Assert.Equal(50m, await ScalarAsync<decimal>("SELECT sum(amount) FROM ledger_entries WHERE order_id = @orderId", new { orderId }));
    }

    [Fact]
    public async Task Refund_MoreThanCaptured_IsRefusedWithTheAmounts()
    {
        var customer = await NewCustomerAsync();
        var orderId = await DeliveredOrderAsync(customer, await NewSkuAsync(price: 80m));
        var refundId = NewId("r");

        using var started = await PostAsync(Storefront, "/refunds", RefundBody(refundId, orderId, customer, 95m), refundId);
        var done = await WaitClosedAsync($"/refunds/{refundId}");

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("refused", StatusOf(done));
        Assert.Matches(@"95(\.0+)? USD exceeds the refundable 80(\.0+)? \(captured 80(\.0+)?, refunded 0(\.0+)?\)", ReasonOf(done));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM refunds WHERE id = @refundId", new { refundId }));
        Assert.Equal(0m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
    }

    [Fact]
    public async Task Refund_AboveTheThreshold_WaitsForAnOperator()
    {
        var customer = await NewCustomerAsync();
        var orderId = await DeliveredOrderAsync(customer, await NewSkuAsync(price: 300m));
        var refundId = NewId("r");

        using var started = await PostAsync(Storefront, "/refunds", RefundBody(refundId, orderId, customer, 150m), refundId);
        var waiting = await WaitForApprovalAsync($"/refunds/{refundId}");

        Assert.Contains("exceeds the automatic limit", waiting.GetProperty("status").GetProperty("pendingApproval").GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM refunds WHERE id = @refundId", new { refundId }));
        using var approved = await PostAsync(Operator, $"/refunds/{refundId}/approve", new { reason = "damaged in transit" });
        Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
        var done = await WaitClosedAsync($"/refunds/{refundId}");
        Assert.Equal("refunded", StatusOf(done));
        Assert.Equal(150m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal("approved", await ScalarAsync<string>("SELECT decision FROM approvals WHERE subject_id = @refundId", new { refundId }));
    }

    [Fact]
    public async Task Refund_DuplicateProviderCallback_RefundsOnce()
    {
        var customer = await NewCustomerAsync();

        // The sandbox delivers every webhook about this card's payment twice, refunds included.
        var orderId = await PlaceOrderAsync(customer, await NewSkuAsync(price: 60m), card: "4000000000000259");
        await PrintLabelAsync(orderId);
        await CarrierScanAsync($"{orderId}-1", "delivered");
        await WaitClosedAsync($"/orders/{orderId}");
        var refundId = NewId("r");

        using var started = await PostAsync(Storefront, "/refunds", RefundBody(refundId, orderId, customer, 20m), refundId);
        var done = await WaitClosedAsync($"/refunds/{refundId}");

        Assert.Equal("refunded", StatusOf(done));
        Assert.Equal(20m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE refund_id = @refundId", new { refundId }));
        Assert.Equal(1L, await ScalarAsync<long>(
            "SELECT count(*) FROM outbox_events WHERE aggregate_id = @refundId AND event_type LIKE 'refund.%' AND event_type <> 'refund.requested'", new { refundId }));
    }

    private static object RefundBody(string refundId, string orderId, string customerId, decimal amount) =>
        new { refundId, orderId, customerId, amount, currency = "USD", reason = "customer request" };
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stateset.Testing.EndToEnd;

namespace Stateset.EndToEnd.Tests;

/// <summary>Every path of ReturnAuthorization that runs on real time: returns of orders delivered through the whole system.</summary>
[Collection(MoneyCollection.Name)]
public sealed class ReturnTests(StatesetSystem system) : EndToEndTest(system)
{
    [Fact]
    public async Task Return_RequestApproveReceiveInspect_RefundsThroughItsChildAndCloses()
    {
        var customer = await NewCustomerAsync();
        var sku = await NewSkuAsync(price: 200m);
        var orderId = await DeliveredOrderAsync(customer, sku);
        var returnId = NewId("ret");

        // 200 is above the automatic limit of 150: an operator decides.
        using var requested = await PostAsync(Storefront, "/returns", ReturnBody(returnId, orderId, customer, sku, 1, "new"), returnId);
        Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        await WaitForApprovalAsync($"/returns/{returnId}");
        using var approved = await PostAsync(Operator, $"/returns/{returnId}/approve", new { reason = "within policy" });
        Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);

        var awaiting = await WaitForStageAsync($"/returns/{returnId}", "awaiting receipt");
        Assert.NotNull(awaiting.GetProperty("status").GetProperty("returnTrackingNumber").GetString());
        using var received = await PostAsync(Warehouse, $"/returns/{returnId}/received", new { note = "box intact" });
        Assert.Equal(HttpStatusCode.Accepted, received.StatusCode);
        await WaitForStageAsync($"/returns/{returnId}", "awaiting inspection");
        using var inspected = await PostAsync(Warehouse, $"/returns/{returnId}/inspected", new { lines = new[] { new { sku, condition = "new" } } });
        Assert.Equal(HttpStatusCode.Accepted, inspected.StatusCode);
        var done = await WaitClosedAsync($"/returns/{returnId}");

        Assert.Equal("closed", StatusOf(done));
        Assert.Equal("closed", await ScalarAsync<string>("SELECT status FROM returns WHERE id = @returnId", new { returnId }));
        Assert.Equal("refunded", StatusOf(await WaitClosedAsync($"/refunds/{returnId}")));
        Assert.Equal(200m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0m, await ScalarAsync<decimal>("SELECT sum(amount) FROM ledger_entries WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT coalesce(sum(on_hand_delta), 0) FROM inventory_adjustments WHERE sku = @sku", new { sku }));
    }

    [Fact]
    public async Task Return_DamagedItem_RefundsLessTheRestockingFee()
    {
        var customer = await NewCustomerAsync();
        var sku = await NewSkuAsync(price: 100m);
        var orderId = await DeliveredOrderAsync(customer, sku);
        var returnId = NewId("ret");

        // Declared new (no fee, approved automatically); the warehouse finds it damaged: 50 % restocking fee, no restock.
        using var requested = await PostAsync(Storefront, "/returns", ReturnBody(returnId, orderId, customer, sku, 1, "new"), returnId);
        Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        await WaitForStageAsync($"/returns/{returnId}", "awaiting receipt");
        using var received = await PostAsync(Warehouse, $"/returns/{returnId}/received", new { note = "corner crushed" });
        await WaitForStageAsync($"/returns/{returnId}", "awaiting inspection");
        using var inspected = await PostAsync(Warehouse, $"/returns/{returnId}/inspected", new { lines = new[] { new { sku, condition = "damaged" } } });
        var done = await WaitClosedAsync($"/returns/{returnId}");

        Assert.Equal("closed", StatusOf(done));
        Assert.Equal(50m, await ScalarAsync<decimal>("SELECT restocking_fee FROM returns WHERE id = @returnId", new { returnId }));
        Assert.Equal(50m, await ScalarAsync<decimal>("SELECT refund_amount FROM returns WHERE id = @returnId", new { returnId }));
        Assert.Equal(50m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_adjustments WHERE sku = @sku", new { sku }));
    }

    [Fact]
    public async Task Return_OutsideTheReturnWindow_IsRefusedWithTheReason()
    {
        var customer = await NewCustomerAsync();
        var sku = await NewSkuAsync(returnWindowDays: 30);
        var orderId = await DeliveredOrderAsync(customer, sku);

        // Delivered 40 days ago, ten days past the SKU's 30-day window.
        await ExecuteAsync("UPDATE orders SET delivered_at = now() - interval '40 days' WHERE id = @orderId", new { orderId });
        var returnId = NewId("ret");
        using var requested = await PostAsync(Storefront, "/returns", ReturnBody(returnId, orderId, customer, sku, 1, "new"), returnId);

        await AssertRefusedAsync(requested, returnId, $"the 30-day return window for SKU {sku} ended on");
    }

    [Fact]
    public async Task Return_MoreThanWasBought_IsRefusedWithTheReason()
    {
        var customer = await NewCustomerAsync();
        var sku = await NewSkuAsync();
        var orderId = await DeliveredOrderAsync(customer, sku, quantity: 1);
        var returnId = NewId("ret");

        using var requested = await PostAsync(Storefront, "/returns", ReturnBody(returnId, orderId, customer, sku, 2, "new"), returnId);

        await AssertRefusedAsync(requested, returnId, $"only 1 of SKU {sku} can still be returned (1 ordered, 0 already returned)");
    }

    private static object ReturnBody(string returnId, string orderId, string customerId, string sku, int quantity, string condition) =>
        new { returnId, orderId, customerId, lines = new[] { new { sku, quantity, condition, reason = "changed_mind" } }, reason = "changed my mind" };

    /// <summary>A refused return opens no RMA and says why: at once (a 4xx problem) or as its run's closing reason.</summary>
    private async Task AssertRefusedAsync(HttpResponseMessage requested, string returnId, string reason)
    {
        if (requested.StatusCode == HttpStatusCode.Accepted)
        {
            var done = await WaitClosedAsync($"/returns/{returnId}");
            Assert.Equal("refused", StatusOf(done));
            Assert.Contains(reason, ReasonOf(done), StringComparison.Ordinal);
        }
        else
        {
            Assert.True((int)requested.StatusCode is 400 or 409 or 422, $"{(int)requested.StatusCode}: {await requested.Content.ReadAsStringAsync()}");
            Assert.Contains(reason, (await requested.Content.ReadFromJsonAsync<JsonElement>()).ToString(), StringComparison.Ordinal);
        }

        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM returns WHERE id = @returnId", new { returnId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM shipments WHERE return_id = @returnId", new { returnId }));
    }
}

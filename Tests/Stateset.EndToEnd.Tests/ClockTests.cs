using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stateset.Sandboxes.Carriers;
using Stateset.Testing;
using Stateset.Testing.EndToEnd;

namespace Stateset.EndToEnd.Tests;

/// <summary>
/// Paths that end on a long wait (an approval nobody gives, a parcel that never comes, a carrier that never picks
/// up, retries spread over minutes). The embedded server's virtual clock skips the wait; it moves for every run on
/// the server, which is why these scenarios have a system of their own.
/// </summary>
[Collection(ClockCollection.Name)]
public sealed class ClockTests(StatesetSystem system) : EndToEndTest(system), IDisposable
{
    private CarrierSandboxState Carriers => System.Sandboxes.Services.GetRequiredService<CarrierSandboxState>();

    public void Dispose() => Carriers.Reset();

    [TimeSkippingFact]
    public async Task Return_ApprovedButNeverReceived_ExpiresAndVoidsTheReturnLabel()
    {
        var customer = await NewCustomerAsync();
        var sku = await NewSkuAsync(price: 100m);
        var orderId = await DeliveredOrderAsync(customer, sku);
        var returnId = NewId("ret");
        using var requested = await PostAsync(
            Storefront, "/returns", new { returnId, orderId, customerId = customer, lines = new[] { new { sku, quantity = 1, condition = "new" } } }, returnId);
        await WaitForStageAsync($"/returns/{returnId}", "awaiting receipt");

        await System.Temporal.DelayAsync(TimeSpan.FromDays(31));
        var done = await WaitClosedAsync($"/returns/{returnId}");

        Assert.Equal("expired", StatusOf(done));
        Assert.Contains("not received", ReasonOf(done), StringComparison.Ordinal);
        Assert.Equal("expired", await ScalarAsync<string>("SELECT status FROM returns WHERE id = @returnId", new { returnId }));
        var shipmentId = $"{returnId}-return";
        Assert.True(await ScalarAsync<bool>("SELECT bool_and(voided) FROM labels WHERE shipment_id = @shipmentId", new { shipmentId }));
        var carrierLabelId = await ScalarAsync<string>("SELECT carrier_label_id FROM labels WHERE shipment_id = @shipmentId", new { shipmentId });
        Assert.Equal("voided", Carriers.Label(carrierLabelId)!.Status);
        Assert.Equal(0m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
    }

    [TimeSkippingFact]
    public async Task Order_ApprovalExpires_CancelsAndVoidsTheAuthorisation()
    {
        var sku = await NewSkuAsync(price: 5200m);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku);
        await WaitForStageAsync($"/orders/{orderId}", "awaiting approval");

        await System.Temporal.DelayAsync(TimeSpan.FromHours(49));
        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal("expired", StatusOf(done));
        Assert.Equal("cancelled", await ScalarAsync<string>("SELECT status FROM orders WHERE id = @orderId", new { orderId }));
        Assert.Equal("voided", await ScalarAsync<string>("SELECT status FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal("expired", await ScalarAsync<string>("SELECT decision FROM approvals WHERE subject_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'released'", new { orderId }));
    }

    [TimeSkippingFact]
    public async Task Order_NotShippedByTheDeadline_RefundsVoidsTheLabelAndReleasesStock()
    {
        var sku = await NewSkuAsync(price: 45m);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku);
        await PrintLabelAsync(orderId);

        await System.Temporal.DelayAsync(TimeSpan.FromDays(5) + TimeSpan.FromHours(1));
        var done = await WaitClosedAsync($"/orders/{orderId}");

        Assert.Equal("cancelled", StatusOf(done));
        Assert.Contains("not shipped by the deadline", ReasonOf(done), StringComparison.Ordinal);
        Assert.Equal(45m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.True(await ScalarAsync<bool>("SELECT bool_and(voided) FROM labels WHERE shipment_id = @id", new { id = $"{orderId}-1" }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'released'", new { orderId }));
    }

    [TimeSkippingFact]
    public async Task Order_LabelPurchaseFailsOnEveryCarrier_RefundsReleasesAndMarksTheShipmentFailed()
    {
        foreach (var carrier in SandboxCarrier.All)
        {
            Carriers.SetFaults(carrier.Code, new CarrierFaults { FailPurchases = true });
        }

        var sku = await NewSkuAsync(price: 65m);
        var orderId = await PlaceOrderAsync(await NewCustomerAsync(), sku);

        // Every carrier answers 500 to each purchase; the attempts' backoff (minutes in all) runs on the virtual clock.
        var done = await WaitSkippingTimeAsync($"/orders/{orderId}", IsClosed, TimeSpan.FromMinutes(1));

        Assert.Equal("failed", StatusOf(done));
        Assert.Contains("label", ReasonOf(done), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("failed", await ScalarAsync<string>("SELECT status FROM shipments WHERE id = @id", new { id = $"{orderId}-1" }));
        Assert.Equal(65m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM labels WHERE shipment_id = @id AND NOT voided", new { id = $"{orderId}-1" }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'released'", new { orderId }));
        Assert.Equal("failed", StatusOf(await WaitClosedAsync($"/labels/{orderId}-1")));
    }

    /// <summary>Skips <paramref name="step"/> of virtual time between reads until the resource reaches the state.</summary>
    private async Task<JsonElement> WaitSkippingTimeAsync(string path, Func<JsonElement, bool> condition, TimeSpan step)
    {
        var deadline = DateTime.UtcNow + (2 * Patience);
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await Storefront.GetAsync(new Uri(path, UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && condition(JsonDocument.Parse(last).RootElement))
            {
                return JsonDocument.Parse(last).RootElement.Clone();
            }

            await System.Temporal.DelayAsync(step);
            await Task.Delay(200);
        }

        throw new TimeoutException($"{path} never reached the expected state; last answer: {last}");
    }
}

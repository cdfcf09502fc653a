using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stateset.Sandboxes.Carriers;
using Stateset.Testing;
using Stateset.Testing.EndToEnd;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Exceptions;

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
        await WaitForTimerAsync($"rma-{returnId}", TimeSpan.FromDays(30));

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
        await WaitForApprovalAsync($"/orders/{orderId}");
        await WaitForTimerAsync($"order-{orderId}", TimeSpan.FromHours(12));

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
        await WaitForTimerAsync($"order-{orderId}", TimeSpan.FromDays(5));

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

        // Every carrier answers 500 to each purchase; the backoff between attempts (minutes in all) is skipped.
        var done = await WaitSkippingBackoffAsync($"/orders/{orderId}", $"label-{orderId}-1");

        Assert.Equal("failed", StatusOf(done));
        Assert.Contains("label", ReasonOf(done), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("failed", await ScalarAsync<string>("SELECT status FROM shipments WHERE id = @id", new { id = $"{orderId}-1" }));
        Assert.Equal(65m, await ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE order_id = @orderId", new { orderId }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM labels WHERE shipment_id = @id AND NOT voided", new { id = $"{orderId}-1" }));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = @orderId AND status <> 'released'", new { orderId }));
        Assert.Equal("failed", StatusOf(await WaitClosedAsync($"/labels/{orderId}-1")));
    }

    /// <summary>
    /// Waits until the workflow has started a timer of <paramref name="duration"/>: skipping the clock before the timer
    /// exists would skip past nothing (the stage a run shows is published before the wait that follows it begins).
    /// </summary>
    private async Task WaitForTimerAsync(string workflowId, TimeSpan duration)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            await foreach (var e in System.Temporal.Client.GetWorkflowHandle(workflowId).FetchHistoryEventsAsync())
            {
                if (e.EventType == EventType.TimerStarted && e.TimerStartedEventAttributes.StartToFireTimeout.ToTimeSpan() == duration)
                {
                    return;
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{workflowId} never started a timer of {duration}");
    }

    /// <summary>
    /// Waits for the order to reach the state, skipping the virtual clock only while the label run's activity waits
    /// for its next attempt: skipping while an attempt runs would time it out instead of letting it fail.
    /// </summary>
    private async Task<JsonElement> WaitSkippingBackoffAsync(string path, string labelWorkflowId)
    {
        var deadline = DateTime.UtcNow + (2 * Patience);
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await Storefront.GetAsync(new Uri(path, UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && IsClosed(JsonDocument.Parse(last).RootElement))
            {
                return JsonDocument.Parse(last).RootElement.Clone();
            }

            try
            {
                var client = System.Temporal.Client;
                var label = await client.WorkflowService.DescribeWorkflowExecutionAsync(new DescribeWorkflowExecutionRequest
                {
                    Namespace = client.Options.Namespace,
                    Execution = new WorkflowExecution { WorkflowId = labelWorkflowId },
                });
                if (label.PendingActivities.Any(a => a.State == PendingActivityState.Scheduled && a.Attempt > 1))
                {
                    await System.Temporal.DelayAsync(TimeSpan.FromMinutes(1));
                }
            }
            catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
            {
                // The label run has not started yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{path} never closed; last answer: {last}");
    }
}

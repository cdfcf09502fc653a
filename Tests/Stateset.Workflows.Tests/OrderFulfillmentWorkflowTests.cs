using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.LabelPrinting;
using Stateset.Workflows.OrderFulfillment;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using static Stateset.Workflows.Tests.WorkflowTestKit;

namespace Stateset.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class OrderFulfillmentWorkflowTests(TemporalFixture temporal)
{
    private ITemporalClient Client => temporal.Environment.Client;

    [Fact]
    public async Task Run_HappyPath_AuthorizesCapturesPrintsShipsAndCompletes()
    {
        var world = new ScriptedWorld(Client);
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);
            await AcknowledgePrintAsync(orderId);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting shipment");
            await handle.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-1", CarrierEventKind.Shipped, $"1Z{orderId}-1")));
            await handle.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-2", CarrierEventKind.InTransit)));
            await handle.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-3", CarrierEventKind.Delivered)));

            var result = await handle.GetResultAsync();

            Assert.Equal("completed", result.Status);
            Assert.Equal(100m, result.Money.Captured);
            Assert.Equal($"1Z{orderId}-1", result.Shipment!.TrackingNumber);
            Assert.NotNull(result.Shipment.DeliveredAt);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Empty(status.CompensationsRun);
            Assert.Contains(status.Timeline, e => e.Step == "approval" && e.Detail!.StartsWith("not required", StringComparison.Ordinal));

            // Only the payment provider's calls are activity tasks: the steps that are short transactions on our own
            // database run as local activities (one marker each, sharing workflow tasks), with the status moves, emails
            // and read-model writes riding in their transactions. With each step an activity (order-steps-happy-path-0.json)
            // the same order took 9 activity tasks and 14 workflow tasks; before that 25 and 30 (order-view-tracks-waits-0.json).
            var history = await handle.FetchHistoryAsync();
            Assert.Equal(["CreatePaymentAuthorization", "AwaitPaymentAuthorization", "CapturePayment"], await ScheduledActivitiesAsync(handle));
            Assert.Equal(
                ["PlaceOrder", "ReserveInventory", "AssessOrderRisk", "PrepareShipment", "CommitOrderInventory", "RecordStep"],
                (await LocalActivitiesAsync(handle)).Where(a => a != "UpsertWorkflowRun"));
            var workflowTasks = history.Events.Count(e => e.EventType == EventType.WorkflowTaskScheduled);
            Assert.InRange(workflowTasks, 1, 10);
            var label = Client.GetWorkflowHandle(WorkflowIds.Label($"{orderId}-1"));
            Assert.Equal(["ShopRates", "BuyLabel"], await ScheduledActivitiesAsync(label));
            Assert.Equal(
                ["ValidateAddress", "ValidateAddress", "RenderLabel", "CreatePrintJob", "AcknowledgePrintJob"],
                (await LocalActivitiesAsync(label)).Where(a => a != "UpsertWorkflowRun"));
            await Histories.SaveAsync(Client, "order-happy-path", handle.Id, WorkflowIds.Label($"{orderId}-1"));
            await Histories.SaveAsync(Client, "order-view-tracks-waits", handle.Id, WorkflowIds.Label($"{orderId}-1"));
            await Histories.SaveAsync(Client, "order-steps-happy-path", handle.Id, WorkflowIds.Label($"{orderId}-1"));
            await Histories.SaveAsync(Client, "order-local-steps-happy-path", handle.Id, WorkflowIds.Label($"{orderId}-1"));
        });

        // The label run writes its view again once the print job exists, so SQL readers (and the station) see the job.
        Assert.Equal(2, world.Calls.Count(c => c == $"ReadModel label-{orderId}-1 printing/waiting for print station"));

        Assert.Single(world.CallsTo("Authorize"));
        Assert.Single(world.CallsTo("Capture"));
        Assert.Single(world.CallsTo("Commit"));
        Assert.Empty(world.CallsTo("Release"));
        Assert.Single(world.CallsTo("PrintAck"));
        Assert.Contains($"ReadModel order-{orderId} completed/done closed", world.Calls);
    }

    [Fact]
    public async Task Run_PaymentDeclined_ReleasesInventory_AndShipsNothing()
    {
        var world = new ScriptedWorld(Client) { DeclinePayment = true };
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);

            var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());

            var cause = Assert.IsType<ApplicationFailureException>(failure.InnerException);
            Assert.Equal(CommerceErrorTypes.PaymentDeclined, cause.ErrorType);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal("payment_declined", status.Status);
            Assert.Equal(["void or refund payment", "release inventory"], status.CompensationsRun);
        });

        Assert.Single(world.CallsTo("Release"));
        Assert.Empty(world.CallsTo("Capture"));
        Assert.Empty(world.CallsTo("PrepareShipment"));
        Assert.Empty(world.CallsTo("BuyLabel"));
    }

    [Fact]
    public async Task Run_OperatorRejects_VoidsPaymentThenReleasesInventory()
    {
        var world = new ScriptedWorld(Client) { RequireApproval = true };
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);
            var waiting = await WaitForStatusAsync(handle, wf => wf.Status, s => s.PendingApproval is not null);
            Assert.Contains("risk score 80", waiting.PendingApproval!.Reason, StringComparison.Ordinal);

            await handle.SignalAsync(wf => wf.RejectAsync(new OperatorDecision("ops@example.com", "address looks fraudulent")));
            var result = await handle.GetResultAsync();

            Assert.Equal("rejected", result.Status);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal(DecisionOutcome.Rejected, status.Decision!.Outcome);
            Assert.Equal("ops@example.com", status.Decision.DecidedBy);
            await Histories.SaveAsync(Client, "order-rejected", handle.Id);
            await Histories.SaveAsync(Client, "order-rejected-view-tracks-waits", handle.Id);
            await Histories.SaveAsync(Client, "order-steps-rejected", handle.Id);
            await Histories.SaveAsync(Client, "order-local-steps-rejected", handle.Id);
        });

        // Written with the approval request (the view shows it pending) and with the decision's record: SQL readers
        // see what the run waits for, and the decision in the transaction that records it.
        Assert.Equal(2, world.Calls.Count(c => c == $"ReadModel order-{orderId} awaiting_approval/awaiting approval"));
        Assert.Equal(
            ["OrderStatus awaiting_approval", $"ReadModel order-{orderId} awaiting_approval/awaiting approval"],
            world.Calls.SkipWhile(c => !c.StartsWith("ApprovalRequested", StringComparison.Ordinal)).Skip(1).Take(2));

        var compensations = world.Calls.Where(c => c.StartsWith("Void ", StringComparison.Ordinal) || c.StartsWith("Release ", StringComparison.Ordinal)).ToList();
        Assert.Equal([$"Void {orderId}:payment", $"Release {orderId}"], compensations);
        Assert.Contains("ApprovalDecision rejected by ops@example.com", world.Calls);
        Assert.Empty(world.CallsTo("Capture"));
        Assert.Contains(world.Calls, c => c.StartsWith("Notify order_cancelled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_LabelPurchaseFails_RefundsPaymentReleasesInventory_AndLeavesNoLabel()
    {
        var world = new ScriptedWorld(Client) { FailLabelPurchase = true };
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);

            var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());

            Assert.Equal(ShippingFailures.LabelPurchaseRejected, Failures.ErrorType(failure));
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal(["void label", "void or refund payment", "release inventory"], status.CompensationsRun);
            Assert.Equal(100m, status.Money.Refunded);
            await Histories.SaveAsync(Client, "order-label-failure", handle.Id, WorkflowIds.Label($"{orderId}-1"));
            await Histories.SaveAsync(Client, "order-steps-label-failure", handle.Id, WorkflowIds.Label($"{orderId}-1"));
            await Histories.SaveAsync(Client, "order-local-steps-label-failure", handle.Id, WorkflowIds.Label($"{orderId}-1"));
        });

        Assert.Single(world.CallsTo($"Refund {orderId}-reversal"));
        Assert.Empty(world.CallsTo("Void "));
        Assert.Single(world.CallsTo("Release"));

        // The child voided its own label, and the parent's compensation voided it again, harmlessly.
        Assert.Equal(2, world.CallsTo("VoidLabel").Count());
    }

    [Fact]
    public async Task Start_SameOrderTwice_IsOneWorkflow_AndOneCharge()
    {
        var world = new ScriptedWorld(Client);
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var first = await StartAsync(orderId, taskQueue, useExisting: true);
            var second = await StartAsync(orderId, taskQueue, useExisting: true);

            Assert.Equal(first.ResultRunId, second.ResultRunId);
            await WaitForStatusAsync(first, wf => wf.Status, s => s.PendingApproval is null && s.Stage is "printing label" or "awaiting shipment");
            await first.SignalAsync(wf => wf.CancelAsync(new CancelRequest("customer")));
            Assert.Equal("cancelled", (await first.GetResultAsync()).Status);
        });

        Assert.Single(world.CallsTo("Authorize"));
        Assert.Single(world.CallsTo("PlaceOrder"));
    }

    [TimeSkippingFact]
    public async Task Run_ApprovalNeverComes_RemindsThenExpires_AndUnwinds()
    {
        var world = new ScriptedWorld(Client) { RequireApproval = true };
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.PendingApproval is not null);

            // Awaiting the result lets the server skip the 12-hour reminder and the 48-hour expiry.
            var result = await handle.GetResultAsync();

            Assert.Equal("expired", result.Status);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Contains(status.Timeline, e => e.Step == "approval reminder");
            Assert.Equal(DecisionOutcome.Expired, status.Decision!.Outcome);
            Assert.Equal(["void or refund payment", "release inventory"], status.CompensationsRun);
            await Histories.SaveAsync(Client, "order-approval-expired", handle.Id);
            await Histories.SaveAsync(Client, "order-steps-approval-expired", handle.Id);
            await Histories.SaveAsync(Client, "order-local-steps-approval-expired", handle.Id);
        });

        Assert.Single(world.CallsTo("Notify approval_needed"));
        Assert.Contains("ApprovalDecision expired by system", world.Calls);
    }

    [Fact]
    public async Task Signals_Duplicate_Late_OrContradictory_ChangeNothing_AndShowAsIgnored()
    {
        var world = new ScriptedWorld(Client) { RequireApproval = true };
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.PendingApproval is not null);
            await handle.SignalAsync(wf => wf.ApproveAsync(new OperatorDecision("alice")));
            await handle.SignalAsync(wf => wf.RejectAsync(new OperatorDecision("bob", "too late")));
            await handle.SignalAsync(wf => wf.ApproveAsync(new OperatorDecision("alice")));
            await AcknowledgePrintAsync(orderId);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting shipment");
            await handle.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-1", CarrierEventKind.Shipped)));
            await handle.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-1", CarrierEventKind.Shipped)));
            await handle.SignalAsync(wf => wf.CancelAsync(new CancelRequest("customer", "changed my mind")));
            await handle.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-2", CarrierEventKind.Delivered)));

            var result = await handle.GetResultAsync();

            Assert.Equal("completed", result.Status);
            var status = await handle.QueryAsync(wf => wf.Status);
            var ignored = status.Timeline.Where(e => e.Outcome == StepOutcome.Ignored).Select(e => e.Step).ToList();
            Assert.Equal(["reject", "approve", "carrier Shipped", "cancel"], ignored);
            Assert.Equal("alice", status.Decision!.DecidedBy);
            await Histories.SaveAsync(Client, "order-ignored-signals", handle.Id);
            await Histories.SaveAsync(Client, "order-steps-ignored-signals", handle.Id);
            await Histories.SaveAsync(Client, "order-local-steps-ignored-signals", handle.Id);
        });

        Assert.Empty(world.CallsTo("Release"));
        Assert.Single(world.CallsTo("Capture"));
    }

    [Fact]
    public async Task Cancel_BeforeShipping_RefundsCapturedPayment_VoidsLabel_ReleasesInventory()
    {
        var world = new ScriptedWorld(Client);
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);
            await AcknowledgePrintAsync(orderId);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting shipment");

            await handle.SignalAsync(wf => wf.CancelAsync(new CancelRequest("customer", "found it cheaper")));
            var result = await handle.GetResultAsync();

            Assert.Equal("cancelled", result.Status);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal(["void label", "void or refund payment", "release inventory"], status.CompensationsRun);
        });

        Assert.Single(world.CallsTo($"Refund {orderId}-reversal 100"));
        Assert.Single(world.CallsTo("VoidLabel"));
        Assert.Empty(world.CallsTo("Commit"));
    }

    [TimeSkippingFact]
    public async Task Run_NotDeliveredByDeadline_EndsInDeliveryException_InsteadOfWaitingForever()
    {
        var world = new ScriptedWorld(Client);
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);
            await AcknowledgePrintAsync(orderId);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting shipment");
            await handle.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-1", CarrierEventKind.Shipped)));
            await handle.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-2", CarrierEventKind.Exception, null, "address not found")));

            var result = await handle.GetResultAsync();

            Assert.Equal("delivery_exception", result.Status);
            Assert.Equal("exception", result.Shipment!.LastCarrierEvent);
        });

        Assert.Single(world.CallsTo("Commit"));
        Assert.Empty(world.CallsTo("Release"));
    }

    [Fact]
    public async Task Run_CancelWhileTheLabelWaitsForItsPrintStation_CancelsTheLabelRunVoidsItAndUnwinds()
    {
        var world = new ScriptedWorld(Client);
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);
            var label = Client.GetWorkflowHandle<LabelPrintingWorkflow>(WorkflowIds.Label($"{orderId}-1"));
            await WaitForStatusAsync(label, wf => wf.Status, s => s.PrintJob is not null);

            await handle.SignalAsync(wf => wf.CancelAsync(new CancelRequest("customer", "changed my mind")));
            var result = await handle.GetResultAsync();

            Assert.Equal("cancelled", result.Status);
            Assert.Equal("cancelled by customer", result.FailureReason);
            Assert.Equal(100m, result.Money.Refunded);
            var labelRun = await label.DescribeAsync();
            Assert.Equal(WorkflowExecutionStatus.Canceled, labelRun.Status);
            var labelStatus = await label.QueryAsync(wf => wf.Status);
            Assert.Equal("cancelled", labelStatus.Status);
            Assert.Contains("void label", labelStatus.CompensationsRun);
            Assert.DoesNotContain(labelStatus.Timeline, e => e.Step == "print acknowledgement");
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal(["void label", "void or refund payment", "release inventory"], status.CompensationsRun);
            await Histories.SaveAsync(Client, "order-cancel-during-label", handle.Id, label.Id);
            await Histories.SaveAsync(Client, "order-steps-cancel-during-label", handle.Id, label.Id);
            await Histories.SaveAsync(Client, "order-local-steps-cancel-during-label", handle.Id, label.Id);
        });

        Assert.NotEmpty(world.CallsTo($"VoidLabel {orderId}-1"));
        Assert.Single(world.CallsTo($"CloseShipment {orderId}-1 cancelled"));
        Assert.Empty(world.CallsTo("PrintAck"));
        Assert.Single(world.CallsTo($"Refund {orderId}-reversal"));
        Assert.Contains($"ReadModel order-{orderId} cancelled/done closed", world.Calls);
        Assert.Contains($"ReadModel label-{orderId}-1 cancelled/done closed", world.Calls);
    }

    [Fact]
    public async Task Run_PlaceOrderFailsForGoodAndTheOrderRowNeverExists_RunStillClosesItsReadModelWithTheReason()
    {
        var world = new ScriptedWorld(Client) { PlaceOrderFailure = "SKU NOPE-404 is not in the catalogue.", OrderRowMissing = true };
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);

            var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());

            Assert.Contains("SKU NOPE-404 is not in the catalogue.", failure.InnerException!.Message, StringComparison.Ordinal);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal("failed", status.Status);
            Assert.Equal("done", status.Stage);
            Assert.Equal("SKU NOPE-404 is not in the catalogue.", status.FailureReason);
            // The run knows the order was never placed: it closes its row without asking for a status move that must fail.
            Assert.DoesNotContain(status.Timeline, e => e.Step == "order status");
            await Histories.SaveAsync(Client, "order-place-failed-no-row", handle.Id);
            await Histories.SaveAsync(Client, "order-steps-place-failed", handle.Id);
            await Histories.SaveAsync(Client, "order-local-steps-place-failed", handle.Id);
        });

        Assert.Equal($"ReadModel order-{orderId} failed/done closed", world.CallsTo("ReadModel").Last());
        Assert.Empty(world.CallsTo("Reserve"));
        Assert.Empty(world.CallsTo("OrderStatus"));
    }

    private Task<WorkflowHandle<OrderFulfillmentWorkflow, FulfillOrderResult>> StartAsync(string orderId, string taskQueue, bool useExisting = false) =>
        Client.StartWorkflowAsync(
            (OrderFulfillmentWorkflow wf) => wf.RunAsync(Orders.Input(orderId)),
            new WorkflowOptions(WorkflowIds.Order(orderId), taskQueue)
            {
                IdConflictPolicy = useExisting ? WorkflowIdConflictPolicy.UseExisting : WorkflowIdConflictPolicy.Fail,
            });

    /// <summary>Plays the warehouse printer: waits for the label's print job and acknowledges it.</summary>
    private async Task AcknowledgePrintAsync(string orderId)
    {
        var label = Client.GetWorkflowHandle<LabelPrintingWorkflow>(WorkflowIds.Label($"{orderId}-1"));
        var status = await WaitForStatusAsync(label, wf => wf.Status, s => s.PrintJob is not null);
        await label.SignalAsync(wf => wf.PrintedAsync(new PrintAcknowledgement(status.PrintJob!.Id, status.PrintJob.StationId)));
    }
}

/// <summary>Order inputs for tests.</summary>
public static class Orders
{
    public static FulfillOrderInput Input(string orderId) => new(
        orderId,
        "cus-ava",
        "USD",
        [new OrderLine("TENT-2P", 1), new OrderLine("HEADLAMP-400", 1)],
        new Address("Ava Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US"),
        "4242424242424242");
}

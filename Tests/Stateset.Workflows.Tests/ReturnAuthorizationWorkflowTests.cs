using System.Collections.Concurrent;
using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.ReturnAuthorization;
using Temporalio.Client;
using Temporalio.Exceptions;
using static Stateset.Workflows.Tests.WorkflowTestKit;

namespace Stateset.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class ReturnAuthorizationWorkflowTests(TemporalFixture temporal)
{
    private ITemporalClient Client => temporal.Environment.Client;

    [Fact]
    public async Task OutsideTheWindow_IsRefused_AndOpensNoRma()
    {
        var world = new ScriptedWorld(Client) { ReturnEligible = false };
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(NewId("ret"), new ReturnLine("TENT-2P", 1)), taskQueue);

            var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());

            Assert.Equal(CommerceErrorTypes.ReturnNotEligible, Failures.ErrorType(failure));
            Assert.Contains("TENT-2P: outside the 30-day return window", failure.InnerException!.Message, StringComparison.Ordinal);
        });

        Assert.Empty(world.CallsTo("OpenReturn"));
        Assert.Empty(world.CallsTo("BuyLabel"));
    }

    [Fact]
    public async Task Approved_Received_Inspected_RestocksAndRefunds_ThenCloses()
    {
        var world = new ScriptedWorld(Client);
        var returnId = NewId("ret");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(returnId, new ReturnLine("TENT-2P", 1)), taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting receipt");
            await handle.SignalAsync(wf => wf.ReceivedAsync(new ReturnReceipt("dock-reno")));
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting inspection");
            var report = new InspectionReport("qa-reno", [new InspectedLine("TENT-2P", "new")]);
            await handle.SignalAsync(wf => wf.InspectedAsync(report));

            var result = await handle.GetResultAsync();

            Assert.Equal("closed", result.Status);
            Assert.Equal(50m, result.RefundAmount);
            Assert.Equal(0m, result.RestockingFee);
            Assert.Equal($"RMA-{returnId}", result.RmaNumber);
            Assert.NotNull((await handle.QueryAsync(wf => wf.Status)).ReturnTrackingNumber);

            // One activity task per business step: the return's status moves, its emails and its view ride in the
            // steps' transactions (one RecordStep where the run moves on without a step of its own), and the first
            // view is a local activity. Before that the same return took 19 activity tasks (return-refunded-0.json).
            Assert.Equal(
                ["CheckReturnEligibility", "OpenReturn", "PrepareShipment", "RecordStep", "RecordStep", "RecordInspection", "RestockReturn", "RecordStep"],
                await ScheduledActivitiesAsync(handle));
            await Histories.SaveAsync(Client, "return-refunded", handle.Id, WorkflowIds.Label($"{returnId}-return"), WorkflowIds.Refund(returnId));
            await Histories.SaveAsync(Client, "return-steps-refunded", handle.Id, WorkflowIds.Label($"{returnId}-return"), WorkflowIds.Refund(returnId));
            await Histories.SaveAsync(Client, "return-local-steps-refunded", handle.Id, WorkflowIds.Label($"{returnId}-return"), WorkflowIds.Refund(returnId));
        });

        Assert.Single(world.CallsTo($"Restock {returnId} TENT-2Px1 at wh-reno"));
        Assert.Single(world.CallsTo($"Refund {returnId} 50"));
        Assert.Single(world.CallsTo($"BuyLabel {returnId}-return"));
        Assert.Empty(world.CallsTo("VoidLabel"));
        Assert.Equal(["approved", "label_issued", "received", "inspected", "refunded", "closed"], world.CallsTo("ReturnStatus ").Select(c => c["ReturnStatus ".Length..]));
    }

    [Fact]
    public async Task ReceiptAndInspection_SentTheMomentTheStageSaysSo_AreNotIgnored()
    {
        // The gateway accepts a warehouse event as soon as the stage reads so; here each stage's read-model write
        // is still running when the event arrives, as with a slow database.
        var writes = new ConcurrentDictionary<string, TaskCompletionSource>(StringComparer.Ordinal);
        var world = new ScriptedWorld(Client)
        {
            ReadModelWriteDelay = update => update.Stage is "awaiting receipt" or "awaiting inspection"
                ? writes.GetOrAdd(update.Stage, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task
                : Task.CompletedTask,
        };
        var returnId = NewId("ret");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(returnId, new ReturnLine("TENT-2P", 1)), taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting receipt");
            await handle.SignalAsync(wf => wf.ReceivedAsync(new ReturnReceipt("dock-reno")));
            writes.GetOrAdd("awaiting receipt", _ => new TaskCompletionSource()).TrySetResult();
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting inspection");
            var report = new InspectionReport("qa-reno", [new InspectedLine("TENT-2P", "new")]);
            await handle.SignalAsync(wf => wf.InspectedAsync(report));
            writes.GetOrAdd("awaiting inspection", _ => new TaskCompletionSource()).TrySetResult();

            var result = await handle.GetResultAsync();

            Assert.Equal("closed", result.Status);
            Assert.DoesNotContain((await handle.QueryAsync(wf => wf.Status)).Timeline, e => e.Outcome == StepOutcome.Ignored);
        });
    }

    [Fact]
    public async Task DamagedItem_ChargesRestockingFee_AndIsNotRestocked()
    {
        var world = new ScriptedWorld(Client);
        var returnId = NewId("ret");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(returnId, new ReturnLine("TENT-2P", 1), new ReturnLine("PAD-INS", 1)), taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting receipt");
            await handle.SignalAsync(wf => wf.ReceivedAsync(new ReturnReceipt("dock-reno")));
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting inspection");
            var report = new InspectionReport("qa-reno", [new InspectedLine("TENT-2P", "damaged"), new InspectedLine("PAD-INS", "new")]);
            await handle.SignalAsync(wf => wf.InspectedAsync(report));

            var result = await handle.GetResultAsync();

            Assert.Equal(7.50m, result.RestockingFee);
            Assert.Equal(92.50m, result.RefundAmount);
            await Histories.SaveAsync(Client, "return-damaged", handle.Id);
            await Histories.SaveAsync(Client, "return-steps-damaged", handle.Id);
        });

        Assert.Single(world.CallsTo($"Restock {returnId} PAD-INSx1 at wh-reno"));
        Assert.Single(world.CallsTo($"Refund {returnId} 92.50"));
    }

    [TimeSkippingFact]
    public async Task ApprovedButNeverReceived_ExpiresAndVoidsTheReturnLabel()
    {
        var world = new ScriptedWorld(Client);
        var returnId = NewId("ret");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(returnId, new ReturnLine("TENT-2P", 1)), taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting receipt");

            var result = await handle.GetResultAsync();

            Assert.Equal("expired", result.Status);
            Assert.Equal(["void return label"], (await handle.QueryAsync(wf => wf.Status)).CompensationsRun);
            await Histories.SaveAsync(Client, "return-expired", handle.Id);
            await Histories.SaveAsync(Client, "return-steps-expired", handle.Id);
        });

        Assert.Single(world.CallsTo($"VoidLabel {returnId}-return"));
        Assert.Empty(world.CallsTo("Refund "));
        Assert.Contains("ReturnStatus expired", world.Calls);
    }

    [Fact]
    public async Task AboveThreshold_NeedsOperator_AndRejectionClosesWithoutLabel()
    {
        var world = new ScriptedWorld(Client) { ReturnUnitPrice = 200m };
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(NewId("ret"), new ReturnLine("PACK-55L", 1)), taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.PendingApproval is not null);
            await handle.SignalAsync(wf => wf.ReceivedAsync(new ReturnReceipt("dock-reno")));
            await handle.SignalAsync(wf => wf.RejectAsync(new OperatorDecision("returns-desk", "worn outdoors")));

            var result = await handle.GetResultAsync();

            Assert.Equal("rejected", result.Status);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Contains(status.Timeline, e => e.Step == "receipt" && e.Outcome == StepOutcome.Ignored);
            await Histories.SaveAsync(Client, "return-steps-rejected", handle.Id);
        });

        Assert.Empty(world.CallsTo("BuyLabel"));
        Assert.Contains(world.Calls, c => c.StartsWith("Notify return_rejected", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ApprovalStatusWriteFailingForGood_FailsTheRun_AndClosesItsRowAsFailedWithTheReason()
    {
        var world = new ScriptedWorld(Client) { FailOnce = "ReturnStatus approved" };
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(NewId("ret"), new ReturnLine("TENT-2P", 1)), taskQueue);

            var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());

            Assert.Contains("Injected failure of ReturnStatus approved", Failures.Describe(failure.InnerException!), StringComparison.Ordinal);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal("failed", status.Status);
            Assert.Contains("Injected failure", status.FailureReason, StringComparison.Ordinal);
            Assert.Equal($"ReadModel {handle.Id} failed/done closed", world.CallsTo($"ReadModel {handle.Id}").Last());
            await Histories.SaveAsync(Client, "return-status-failed-closes-row", handle.Id);
            await Histories.SaveAsync(Client, "return-steps-status-failed-closes-row", handle.Id);
        });

        Assert.Empty(world.CallsTo("BuyLabel"));
    }

    [Fact]
    public async Task FirstReadModelWriteFailing_FailsTheRun_AndStillWritesItsRowClosed()
    {
        var world = new ScriptedWorld(Client) { FailOnce = "ReadModel" };
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(NewId("ret"), new ReturnLine("TENT-2P", 1)), taskQueue);

            await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());

            Assert.Equal(
                [$"ReadModel {handle.Id} requested/checking eligibility", $"ReadModel {handle.Id} failed/done closed"],
                world.CallsTo($"ReadModel {handle.Id}").ToArray());
        });

        Assert.Empty(world.CallsTo("OpenReturn"));
    }

    private static AuthorizeReturnInput Input(string returnId, params ReturnLine[] lines) => new(returnId, "o-1", "cus-ava", lines, "does not fit");

    private Task<WorkflowHandle<ReturnAuthorizationWorkflow, AuthorizeReturnResult>> StartAsync(AuthorizeReturnInput input, string taskQueue) =>
        Client.StartWorkflowAsync((ReturnAuthorizationWorkflow wf) => wf.RunAsync(input), new WorkflowOptions(WorkflowIds.Return(input.ReturnId), taskQueue));
}

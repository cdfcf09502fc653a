using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.RefundProcessing;
using Temporalio.Client;
using Temporalio.Exceptions;
using static Stateset.Workflows.Tests.WorkflowTestKit;

namespace Stateset.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class RefundProcessingWorkflowTests(TemporalFixture temporal)
{
    private ITemporalClient Client => temporal.Environment.Client;

    [Fact]
    public async Task PartialRefunds_UpToCaptured_Succeed_AndOnePastIt_IsRefused()
    {
        var world = new ScriptedWorld(Client) { Captured = 200m };
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var first = await (await StartAsync(Request(orderId, "r1", 80m), taskQueue)).GetResultAsync();
            var second = await (await StartAsync(Request(orderId, "r2", 90m), taskQueue)).GetResultAsync();
            var third = await (await StartAsync(Request(orderId, "r3", 30m), taskQueue)).GetResultAsync();
            var fourth = await StartAsync(Request(orderId, "r4", 0.01m), taskQueue);
            var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => fourth.GetResultAsync());

            Assert.Equal(["refunded", "refunded", "refunded"], new[] { first.Status, second.Status, third.Status });
            Assert.Equal(CommerceErrorTypes.RefundExceedsCaptured, Failures.ErrorType(failure));
            Assert.Contains("exceeds the refundable 0 (captured 200, refunded 200)", failure.InnerException!.Message, StringComparison.Ordinal);
            Assert.Equal("refused", (await fourth.QueryAsync(wf => wf.Status)).Status);
            await Histories.SaveAsync(Client, "refund-refused", fourth.Id);
            await Histories.SaveAsync(Client, "refund-steps-refused", fourth.Id);
        });

        Assert.Equal(3, world.CallsTo("Refund ").Count());
        Assert.Equal(3, world.CallsTo("Ledger").Count());
    }

    [Fact]
    public async Task AboveThreshold_WaitsForOperator_AndApprovalRefunds()
    {
        var world = new ScriptedWorld(Client);
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Request(orderId, "r1", 150m), taskQueue);
            var waiting = await WaitForStatusAsync(handle, wf => wf.Status, s => s.PendingApproval is not null);
            Assert.Empty(world.CallsTo("Refund "));
            Assert.Contains("exceeds the automatic limit of 100", waiting.PendingApproval!.Reason, StringComparison.Ordinal);

            await handle.SignalAsync(wf => wf.ApproveAsync(new OperatorDecision("finance@example.com")));
            var result = await handle.GetResultAsync();

            Assert.Equal("refunded", result.Status);
            Assert.Equal(150m, result.Amount);
            await Histories.SaveAsync(Client, "refund-approved", handle.Id);
            await Histories.SaveAsync(Client, "refund-steps-approved", handle.Id);
        });

        Assert.Contains("ApprovalDecision approved by finance@example.com", world.Calls);
    }

    [Fact]
    public async Task BelowThreshold_IsApprovedAutomatically()
    {
        var world = new ScriptedWorld(Client);
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Request(NewId("o"), "r1", 100m), taskQueue);

            var result = await handle.GetResultAsync();

            Assert.Equal("refunded", result.Status);
            Assert.Contains((await handle.QueryAsync(wf => wf.Status)).Timeline, e => e.Step == "approval" && e.Detail!.StartsWith("automatic", StringComparison.Ordinal));
        });

        Assert.Empty(world.CallsTo("ApprovalRequested"));
    }

    [Fact]
    public async Task ProviderCallbackArrivingTwice_RefundsAndBooksOnce()
    {
        var world = new ScriptedWorld(Client) { RefundCallbacksPerRefund = 2 };
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Request(NewId("o"), "r1", 40m), taskQueue);
            var result = await handle.GetResultAsync();

            Assert.Equal("refunded", result.Status);
            await Histories.SaveAsync(Client, "refund-create-then-await", handle.Id);
            await Histories.SaveAsync(Client, "refund-steps-create-then-await", handle.Id);
        });

        Assert.Single(world.CallsTo("Refund "));
        Assert.Single(world.CallsTo("AwaitRefund "));
        Assert.Single(world.CallsTo("Ledger"));
        Assert.Single(world.CallsTo("Notify refund_issued"));
    }

    [TimeSkippingFact]
    public async Task NobodyDecides_EscalatesThenExpires_WithoutRefunding()
    {
        var world = new ScriptedWorld(Client);
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Request(NewId("o"), "r1", 150m), taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.PendingApproval is not null);

            var result = await handle.GetResultAsync();

            Assert.Equal("expired", result.Status);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.True(status.Escalated);
            await Histories.SaveAsync(Client, "refund-escalated-expired", handle.Id);
            await Histories.SaveAsync(Client, "refund-steps-escalated-expired", handle.Id);
        });

        Assert.Empty(world.CallsTo("Refund "));
        Assert.Single(world.CallsTo("Notify approval_needed"), c => c.EndsWith("-r1:approval-escalated", StringComparison.Ordinal));
    }

    [TimeSkippingFact]
    public async Task EscalatedRefund_ApprovedByOperator_Refunds()
    {
        var world = new ScriptedWorld(Client);
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Request(NewId("o"), "r1", 150m), taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.PendingApproval is not null);
            await temporal.Environment.DelayAsync(TimeSpan.FromHours(49));
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Escalated && s.PendingApproval is not null);

            await handle.SignalAsync(wf => wf.ApproveAsync(new OperatorDecision("head-of-finance")));

            Assert.Equal("refunded", (await handle.GetResultAsync()).Status);
        });
    }

    [Fact]
    public async Task NotificationFailingForGood_FailsTheRun_AndClosesItsRowAsFailedWithTheReason()
    {
        var world = new ScriptedWorld(Client) { FailOnce = "Notify refund_issued" };
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Request(NewId("o"), "r1", 40m), taskQueue);

            var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());

            Assert.Contains("Injected failure of Notify refund_issued", Failures.Describe(failure.InnerException!), StringComparison.Ordinal);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal("failed", status.Status);
            Assert.Contains("Injected failure", status.FailureReason, StringComparison.Ordinal);
            Assert.Equal($"ReadModel {handle.Id} failed/done closed", world.CallsTo($"ReadModel {handle.Id}").Last());
            await Histories.SaveAsync(Client, "refund-notify-failed-closes-row", handle.Id);
            await Histories.SaveAsync(Client, "refund-steps-notify-failed-closes-row", handle.Id);
        });
    }

    [Fact]
    public async Task FirstReadModelWriteFailing_FailsTheRun_AndStillWritesItsRowClosed()
    {
        var world = new ScriptedWorld(Client) { FailOnce = "ReadModel" };
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Request(NewId("o"), "r1", 40m), taskQueue);

            await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());

            Assert.Equal(
                [$"ReadModel {handle.Id} validating/validating", $"ReadModel {handle.Id} failed/done closed"],
                world.CallsTo($"ReadModel {handle.Id}").ToArray());
        });

        Assert.Empty(world.CallsTo("Refund "));
    }

    private static RefundRequest Request(string orderId, string refund, decimal amount) =>
        new($"{orderId}-{refund}", orderId, "cus-ava", amount, "USD", "damaged in transit", "ops@example.com");

    private Task<WorkflowHandle<RefundProcessingWorkflow, RefundResult>> StartAsync(RefundRequest request, string taskQueue) =>
        Client.StartWorkflowAsync((RefundProcessingWorkflow wf) => wf.RunAsync(request), new WorkflowOptions(WorkflowIds.Refund(request.RefundId), taskQueue));
}

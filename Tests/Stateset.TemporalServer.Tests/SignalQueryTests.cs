using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Stateset.TemporalServer.Tests;

public sealed class SignalQueryTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    private Task WithApprovalWorkerAsync(Func<string, Task> test) => WithWorkerAsync(w => w.AddWorkflow<ApprovalWorkflow>(), test);

    [Fact]
    public async Task Signal_Decision_CompletesWorkflow()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("approval"), taskQueue));
            await handle.SignalAsync(wf => wf.DecideAsync("approved by ops"));
            Assert.Equal("approved by ops", await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task Query_RunningAndClosedWorkflow_AnswersFromWorkflowState()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(7), new(NewId("query"), taskQueue));
            Assert.Equal("awaiting approval", await handle.QueryAsync(wf => wf.Stage));
            await handle.SignalAsync(wf => wf.NoteAsync("customer called"));
            Assert.Equal(["customer called"], await handle.QueryAsync(wf => wf.Notes));
            await handle.SignalAsync(wf => wf.DecideAsync("approved"));
            Assert.Equal("approved", await handle.GetResultAsync());
            Assert.Equal("decided", await handle.QueryAsync(wf => wf.Stage));
        });
    }

    [Fact]
    public async Task Query_Throws_WorkflowQueryFailed()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("query-fail"), taskQueue));
            var e = await Assert.ThrowsAsync<WorkflowQueryFailedException>(() => handle.QueryAsync(wf => wf.Broken()));
            Assert.Contains("always fails", e.Message);
            await handle.TerminateAsync("test over");
        });
    }

    [Fact]
    public async Task Query_RejectConditionNotOpen_RejectsClosedWorkflow()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("query-reject"), taskQueue));
            await handle.SignalAsync(wf => wf.DecideAsync("approved"));
            await handle.GetResultAsync();
            var e = await Assert.ThrowsAsync<WorkflowQueryRejectedException>(() =>
                handle.QueryAsync(wf => wf.Stage, new() { RejectCondition = QueryRejectCondition.NotOpen }));
            Assert.Equal(WorkflowExecutionStatus.Completed, e.WorkflowStatus);
        });
    }

    [TimeSkippingFact]
    public async Task Expiry_NoDecision_TimerFiresWhileAwaitingResult()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(7), new(NewId("expiry"), taskQueue));

            // Nobody awaits the result yet, so the seven-day timer must not have fired.
            Assert.Equal("awaiting approval", await handle.QueryAsync(wf => wf.Stage));
            Assert.Equal("expired", await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task SignalWithStart_StartsOnceThenSignalsTheRunningWorkflow()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var id = NewId("signal-with-start");
            var options = new WorkflowOptions(id, taskQueue);
            options.SignalWithStart((ApprovalWorkflow wf) => wf.NoteAsync("first"));
            var first = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), options);
            var againOptions = new WorkflowOptions(id, taskQueue);
            againOptions.SignalWithStart((ApprovalWorkflow wf) => wf.NoteAsync("second"));
            var second = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), againOptions);
            Assert.Equal(first.ResultRunId, second.ResultRunId);
            Assert.Equal(["first", "second"], await first.QueryAsync(wf => wf.Notes));
            await first.SignalAsync(wf => wf.DecideAsync("done"));
            Assert.Equal("done", await first.GetResultAsync());
        });
    }

    [Fact]
    public async Task Terminate_RunningWorkflow_ResultIsTerminatedFailure()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("terminate"), taskQueue));
            await handle.TerminateAsync("operator gave up");
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
            Assert.IsType<TerminatedFailureException>(e.InnerException);
            Assert.Equal(WorkflowExecutionStatus.Terminated, (await handle.DescribeAsync()).Status);
            var again = await Assert.ThrowsAsync<RpcException>(() => handle.TerminateAsync("twice"));
            Assert.Equal(RpcException.StatusCode.NotFound, again.Code);
        });
    }

    [Fact]
    public async Task Cancel_RunningWorkflow_WorkflowEndsCancelled()
    {
        await WithWorkerAsync(w => w.AddWorkflow<WaitForeverWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((WaitForeverWorkflow wf) => wf.RunAsync(), new(NewId("cancel"), taskQueue));
            await handle.CancelAsync();
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
            Assert.IsType<CanceledFailureException>(e.InnerException);
            Assert.Equal(WorkflowExecutionStatus.Canceled, (await handle.DescribeAsync()).Status);
        });
    }

    [Fact]
    public async Task Update_Accepted_ReturnsResultAndChangesState()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("update"), taskQueue));
            Assert.Equal("accepted approved", await handle.ExecuteUpdateAsync(wf => wf.SetDecisionAsync("approved")));
            Assert.Equal("approved", await handle.GetResultAsync());
            var events = (await handle.FetchHistoryAsync()).Events.Select(e => e.EventType).ToList();
            Assert.Contains(EventType.WorkflowExecutionUpdateAccepted, events);
            Assert.Contains(EventType.WorkflowExecutionUpdateCompleted, events);
        });
    }

    [Fact]
    public async Task Update_RejectedByValidator_ThrowsAndLeavesNoEvents()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("update-reject"), taskQueue));
            var e = await Assert.ThrowsAsync<WorkflowUpdateFailedException>(() => handle.ExecuteUpdateAsync(wf => wf.SetDecisionAsync(" ")));
            Assert.Contains("a decision is required", e.InnerException?.Message);
            Assert.Equal("awaiting approval", await handle.QueryAsync(wf => wf.Stage));
            var events = (await handle.FetchHistoryAsync()).Events.Select(e => e.EventType).ToList();
            Assert.DoesNotContain(EventType.WorkflowExecutionUpdateAccepted, events);
            await handle.TerminateAsync("test over");
        });
    }

    [Fact]
    public async Task Update_StartThenPollResult_UsesPollWorkflowExecutionUpdate()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("update-poll"), taskQueue));
            var update = await handle.StartUpdateAsync(wf => wf.SetDecisionAsync("later"), new(WorkflowUpdateStage.Accepted));
            var fetched = handle.GetUpdateHandle<string>(update.Id);
            Assert.Equal("accepted later", await fetched.GetResultAsync());
            Assert.Equal("later", await handle.GetResultAsync());
        });
    }

    [TimeSkippingFact]
    public async Task Query_RightAfterSkippingPastATimer_SeesTheTimerFired()
    {
        await WithWorkerAsync(w => w.AddWorkflow<ReminderWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ReminderWorkflow wf) => wf.RunAsync(), new(NewId("reminder"), taskQueue));
            Assert.False(await handle.QueryAsync(wf => wf.Reminded));
            await Environment.DelayAsync(TimeSpan.FromHours(2));
            Assert.True(await handle.QueryAsync(wf => wf.Reminded));
            await handle.SignalAsync(wf => wf.DecideAsync());
            Assert.Equal("decided after reminder", await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task UpdateWithStart_StartsThenUpdatesAndReusesTheRunningWorkflow()
    {
        await WithApprovalWorkerAsync(async taskQueue =>
        {
            var id = NewId("update-with-start");
            var start = WithStartWorkflowOperation.Create(
                (ApprovalWorkflow wf) => wf.RunAsync(0), new(id, taskQueue) { IdConflictPolicy = WorkflowIdConflictPolicy.UseExisting });
            var note = await Client.ExecuteUpdateWithStartWorkflowAsync((ApprovalWorkflow wf) => wf.SetDecisionAsync("first"), new(start));
            Assert.Equal("accepted first", note);
            var handle = await start.GetHandleAsync();
            Assert.Equal("first", await handle.GetResultAsync());
        });
    }
}

using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;

namespace Stateset.TemporalServer.Tests;

public sealed class TimerTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    [TimeSkippingFact]
    public async Task Timer_FourteenDays_SkipsVirtualTimeInMilliseconds()
    {
        await WithWorkerAsync(w => w.AddWorkflow<SleepWorkflow>(), async taskQueue =>
        {
            var before = await Environment.GetCurrentTimeAsync();
            var clock = Stopwatch.StartNew();
            var sleptDays = await Client.ExecuteWorkflowAsync((SleepWorkflow wf) => wf.RunAsync(14), new(NewId("sleep"), taskQueue));
            Assert.True(sleptDays >= 14, $"slept {sleptDays} days");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
            Assert.True(await Environment.GetCurrentTimeAsync() - before >= TimeSpan.FromDays(14));
        });
    }

    [TimeSkippingFact]
    public async Task Timer_CancelledLoser_RecordsTimerCanceled()
    {
        await WithWorkerAsync(w => w.AddWorkflow<TimerRaceWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((TimerRaceWorkflow wf) => wf.RunAsync(), new(NewId("race"), taskQueue));
            Assert.Equal("short", await handle.GetResultAsync());
            var events = (await handle.FetchHistoryAsync()).Events.Select(e => e.EventType).ToList();
            Assert.Equal(2, events.Count(e => e == EventType.TimerStarted));
            Assert.Contains(EventType.TimerFired, events);
            Assert.Contains(EventType.TimerCanceled, events);
        });
    }

    [TimeSkippingFact]
    public async Task SkipAsync_MovesTheClockForward()
    {
        var before = await Environment.GetCurrentTimeAsync();
        await Environment.DelayAsync(TimeSpan.FromHours(3));
        Assert.True(await Environment.GetCurrentTimeAsync() - before >= TimeSpan.FromHours(3));
    }

    [Fact]
    public async Task WorkflowTask_ThrowsBug_FailsAndIsRetried()
    {
        var key = NewId("flaky");
        await WithWorkerAsync(w => w.AddWorkflow<FlakyWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((FlakyWorkflow wf) => wf.RunAsync(key), new(NewId("flaky"), taskQueue));
            Assert.Equal("recovered", await handle.GetResultAsync());
            var events = (await handle.FetchHistoryAsync()).Events.Select(e => e.EventType).ToList();
            Assert.Contains(EventType.WorkflowTaskFailed, events);
        });
    }

    [TimeSkippingFact]
    public async Task WorkflowTask_NotAnswered_TimesOutAndIsRescheduled()
    {
        var taskQueue = NewTaskQueue();
        var id = NewId("wft-timeout");
        var service = Client.Connection.WorkflowService;
        await service.StartWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowId = id,
            WorkflowType = new() { Name = "NobodyRunsThis" },
            TaskQueue = new() { Name = taskQueue },
            WorkflowTaskTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
            RequestId = Guid.NewGuid().ToString(),
        });
        var task = await service.PollWorkflowTaskQueueAsync(new() { Namespace = "default", TaskQueue = new() { Name = taskQueue }, Identity = "test" });
        Assert.Equal(id, task.WorkflowExecution.WorkflowId);

        await Environment.DelayAsync(TimeSpan.FromSeconds(6));
        var retry = await service.PollWorkflowTaskQueueAsync(new() { Namespace = "default", TaskQueue = new() { Name = taskQueue }, Identity = "test" });
        Assert.Equal(2, retry.Attempt);
        Assert.Contains(retry.History.Events, e => e.EventType == EventType.WorkflowTaskTimedOut);

        var stale = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() =>
            service.RespondWorkflowTaskCompletedAsync(new() { Namespace = "default", TaskToken = task.TaskToken }));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.NotFound, stale.Code);
        await Client.GetWorkflowHandle(id).TerminateAsync("test over");
    }
}

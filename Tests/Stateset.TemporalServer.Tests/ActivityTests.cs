using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

public sealed class ActivityTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    private static void Register(TemporalWorkerOptions options) =>
        options.AddWorkflow<ActivityScenarioWorkflow>().AddWorkflow<CancellableActivityWorkflow>().AddAllActivities(new TestActivities());

    private Task<string> RunScenarioAsync(string taskQueue, ActivityScenario scenario) =>
        Client.ExecuteWorkflowAsync((ActivityScenarioWorkflow wf) => wf.RunAsync(scenario), new(NewId("activity"), taskQueue));

    [Fact]
    public async Task Activity_Completes_ResultReachesWorkflow()
    {
        await WithWorkerAsync(Register, async taskQueue =>
            Assert.Equal("Hi k", await RunScenarioAsync(taskQueue, new("Greet", "k"))));
    }

    [Fact]
    public async Task WorkflowTask_AfterFirst_GoesToTheWorkersStickyQueue()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ActivityScenarioWorkflow wf) => wf.RunAsync(new("Greet", "sticky")), new(NewId("sticky"), taskQueue));
            await handle.GetResultAsync();
            var scheduled = (await handle.FetchHistoryAsync()).Events
                .Where(e => e.EventType == EventType.WorkflowTaskScheduled)
                .Select(e => e.WorkflowTaskScheduledEventAttributes.TaskQueue)
                .ToList();
            Assert.Equal(2, scheduled.Count);
            Assert.Equal(taskQueue, scheduled[0].Name);
            Assert.Equal(TaskQueueKind.Sticky, scheduled[1].Kind);
            Assert.Equal(taskQueue, scheduled[1].NormalName);
        });
    }

    [Fact]
    public async Task Activity_FailsTwice_RetriedWithBackoffUntilSuccess()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync(
                (ActivityScenarioWorkflow wf) => wf.RunAsync(new("FailTwice", "k", MaximumAttempts: 5)), new(NewId("retry"), taskQueue));
            Assert.Equal("ok on attempt 3", await handle.GetResultAsync());
            var events = await handle.FetchHistoryAsync();
            var started = Assert.Single(events.Events, e => e.EventType == EventType.ActivityTaskStarted);
            Assert.Equal(3, started.ActivityTaskStartedEventAttributes.Attempt);
            Assert.Contains("attempt 2", started.ActivityTaskStartedEventAttributes.LastFailure.Message);
        });
    }

    [Fact]
    public async Task Activity_MaximumAttemptsReached_WorkflowSeesLastFailure()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => RunScenarioAsync(taskQueue, new("AlwaysFail", "k", MaximumAttempts: 3)));
            var activityFailure = Assert.IsType<ActivityFailureException>(e.InnerException);
            Assert.Equal(RetryState.MaximumAttemptsReached, activityFailure.RetryState);
            Assert.Equal("attempt 3 failed", Assert.IsType<ApplicationFailureException>(activityFailure.InnerException).Message);
        });
    }

    [Fact]
    public async Task Activity_NonRetryableErrorType_FailsAfterOneAttempt()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() =>
                RunScenarioAsync(taskQueue, new("FailFatally", "k", MaximumAttempts: 10, NonRetryableErrorTypes: ["Fatal"])));
            var activityFailure = Assert.IsType<ActivityFailureException>(e.InnerException);
            Assert.Equal(RetryState.NonRetryableFailure, activityFailure.RetryState);
        });
    }

    [Fact]
    public async Task Activity_StartToCloseExceeded_TimesOut()
    {
        var key = NewId("hang");
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var run = RunScenarioAsync(taskQueue, new("Hang", key, MaximumAttempts: 1, StartToCloseSeconds: 2));
            await TestActivities.StartedAsync(key);

            // The activity is running, so the clock does not skip by itself; move it past the timeout.
            await Environment.DelayAsync(TimeSpan.FromSeconds(3));
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => run);
            var timeout = Assert.IsType<TimeoutFailureException>(Assert.IsType<ActivityFailureException>(e.InnerException).InnerException);
            Assert.Equal(TimeoutType.StartToClose, timeout.TimeoutType);
        });
    }

    [Fact]
    public async Task Activity_HeartbeatTimeoutExceeded_TimesOutWithLastDetails()
    {
        var key = NewId("heartbeat");
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var id = NewId("heartbeat");
            var handle = await Client.StartWorkflowAsync(
                (ActivityScenarioWorkflow wf) => wf.RunAsync(new("Hang", key, MaximumAttempts: 1, StartToCloseSeconds: 600, HeartbeatSeconds: 5)),
                new(id, taskQueue));
            var run = handle.GetResultAsync();
            await TestActivities.StartedAsync(key);

            // Heartbeats reach the server asynchronously; wait until the first one is recorded.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            var describe = new Temporalio.Api.WorkflowService.V1.DescribeWorkflowExecutionRequest
            {
                Namespace = Client.Options.Namespace,
                Execution = new() { WorkflowId = id },
            };
            while ((await Client.Connection.WorkflowService.DescribeWorkflowExecutionAsync(describe)).PendingActivities.FirstOrDefault()?.HeartbeatDetails is null &&
                   DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            await Environment.DelayAsync(TimeSpan.FromSeconds(10));
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => run);
            var timeout = Assert.IsType<TimeoutFailureException>(Assert.IsType<ActivityFailureException>(e.InnerException).InnerException);
            Assert.Equal(TimeoutType.Heartbeat, timeout.TimeoutType);
            Assert.Equal("beat-1", timeout.LastHeartbeatDetails.ElementAt<string>(0));
        });
    }

    [Fact]
    public async Task Activity_ScheduleToCloseExceededDuringRetries_TimesOut()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() =>
                RunScenarioAsync(taskQueue, new("AlwaysFail", "k", StartToCloseSeconds: 5, ScheduleToCloseSeconds: 20)));
            var activityFailure = Assert.IsType<ActivityFailureException>(e.InnerException);
            Assert.Equal(RetryState.Timeout, activityFailure.RetryState);
        });
    }

    [Fact]
    public async Task Activity_CancelledByWorkflow_LearnsItThroughHeartbeat()
    {
        var key = NewId("cancel-activity");
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((CancellableActivityWorkflow wf) => wf.RunAsync(key), new(NewId("cancel"), taskQueue));
            await TestActivities.StartedAsync(key);
            await handle.SignalAsync(wf => wf.CancelAsync());
            Assert.Equal("activity cancelled", await handle.GetResultAsync());
            var events = (await handle.FetchHistoryAsync()).Events.Select(e => e.EventType).ToList();
            Assert.Contains(EventType.ActivityTaskCancelRequested, events);
            Assert.Contains(EventType.ActivityTaskCanceled, events);
        });
    }
}

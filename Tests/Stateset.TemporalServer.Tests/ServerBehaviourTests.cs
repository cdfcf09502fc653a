using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

public sealed class ServerBehaviourTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    [Fact]
    public async Task ManyWorkersAndClients_RunConcurrentWorkflowsIndependently()
    {
        var taskQueue = NewTaskQueue();
        var options = new TemporalWorkerOptions(taskQueue).AddWorkflow<ActivityScenarioWorkflow>().AddAllActivities(new TestActivities());
        var otherClient = await TemporalClient.ConnectAsync(new(Client.Connection.Options.TargetHost!) { Namespace = Client.Options.Namespace });

        // Two workers (one per client connection, as the SDK allows one per queue and client) share the queue.
        using var first = new TemporalWorker(Client, options);
        using var second = new TemporalWorker(otherClient, (TemporalWorkerOptions)options.Clone());
        await first.ExecuteAsync(() => second.ExecuteAsync(async () =>
        {
            var runs = Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? Client : otherClient).ExecuteWorkflowAsync(
                (ActivityScenarioWorkflow wf) => wf.RunAsync(new("Greet", $"n{i}")), new(NewId($"many-{i}"), taskQueue)));
            var results = await Task.WhenAll(runs);
            Assert.Equal(Enumerable.Range(0, 40).Select(i => $"Hi n{i}"), results);
        }));
    }

    [TimeSkippingFact]
    public async Task WorkflowExecutionTimeout_Exceeded_WorkflowTimesOut()
    {
        await WithWorkerAsync(w => w.AddWorkflow<WaitForeverWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync(
                (WaitForeverWorkflow wf) => wf.RunAsync(), new(NewId("timeout"), taskQueue) { ExecutionTimeout = TimeSpan.FromDays(2) });
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
            Assert.IsType<TimeoutFailureException>(e.InnerException);
            Assert.Equal(WorkflowExecutionStatus.TimedOut, (await handle.DescribeAsync()).Status);
        });
    }

    [TimeSkippingFact]
    public async Task Start_PortInUse_ThrowsIOException()
    {
        // The command turns this exception into its one-line "Cannot listen on ..." message and exit code 1.
        var e = await Assert.ThrowsAnyAsync<IOException>(() =>
            EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { Port = new Uri($"http://{Client.Connection.Options.TargetHost}").Port }));
        Assert.Contains("address already in use", e.Message);
    }

    [Fact]
    public async Task WorkflowRetryPolicy_FailedAttempts_AreRetriedInNewRuns()
    {
        await WithWorkerAsync(w => w.AddWorkflow<RetriedWorkflow>(), async taskQueue =>
        {
            var retry = new Temporalio.Common.RetryPolicy { InitialInterval = TimeSpan.FromSeconds(1), MaximumAttempts = 5 };
            var handle = await Client.StartWorkflowAsync((RetriedWorkflow wf) => wf.RunAsync(), new(NewId("retried"), taskQueue) { RetryPolicy = retry });
            Assert.Equal("ok on attempt 3", await handle.GetResultAsync());

            var limited = new Temporalio.Common.RetryPolicy { InitialInterval = TimeSpan.FromSeconds(1), MaximumAttempts = 2 };
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => Client.ExecuteWorkflowAsync(
                (RetriedWorkflow wf) => wf.RunAsync(), new(NewId("retried"), taskQueue) { RetryPolicy = limited }));
            Assert.Equal("attempt 2 failed", e.InnerException?.Message);
        });
    }

    [Fact]
    public async Task BadCommand_IsRejectedWithoutHarmingTheWorkflow()
    {
        var service = Client.Connection.WorkflowService;
        var (id, taskQueue, task) = await StartRawAsync("bad-command");

        var bad = new Temporalio.Api.WorkflowService.V1.RespondWorkflowTaskCompletedRequest { Namespace = "default", TaskToken = task.TaskToken };
        bad.Commands.Add(new Temporalio.Api.Command.V1.Command { CommandType = CommandType.StartTimer });
        var e = await Assert.ThrowsAsync<RpcException>(() => service.RespondWorkflowTaskCompletedAsync(bad));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, e.Code);

        var garbage = await Assert.ThrowsAsync<RpcException>(() => service.RespondWorkflowTaskCompletedAsync(new()
        {
            Namespace = "default",
            TaskToken = Google.Protobuf.ByteString.CopyFromUtf8("not a token"),
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, garbage.Code);

        var good = new Temporalio.Api.WorkflowService.V1.RespondWorkflowTaskCompletedRequest { Namespace = "default", TaskToken = task.TaskToken };
        good.Commands.Add(new Temporalio.Api.Command.V1.Command
        {
            CommandType = CommandType.CompleteWorkflowExecution,
            CompleteWorkflowExecutionCommandAttributes = new(),
        });
        await service.RespondWorkflowTaskCompletedAsync(good);
        Assert.Equal(WorkflowExecutionStatus.Completed, (await Client.GetWorkflowHandle(id).DescribeAsync()).Status);
    }

    [Fact]
    public async Task CompletingWhileASignalArrived_TaskIsRejectedAndTheSignalDelivered()
    {
        var service = Client.Connection.WorkflowService;
        var (id, taskQueue, task) = await StartRawAsync("unhandled");
        await Client.GetWorkflowHandle(id).SignalAsync("Late", []);

        var complete = new Temporalio.Api.WorkflowService.V1.RespondWorkflowTaskCompletedRequest { Namespace = "default", TaskToken = task.TaskToken };
        complete.Commands.Add(new Temporalio.Api.Command.V1.Command
        {
            CommandType = CommandType.CompleteWorkflowExecution,
            CompleteWorkflowExecutionCommandAttributes = new(),
        });
        await service.RespondWorkflowTaskCompletedAsync(complete);

        var next = await service.PollWorkflowTaskQueueAsync(new() { Namespace = "default", TaskQueue = new() { Name = taskQueue } });
        var events = next.History.Events.Select(e => e.EventType).ToList();
        Assert.Contains(EventType.WorkflowTaskFailed, events);
        Assert.Contains(EventType.WorkflowExecutionSignaled, events);
        Assert.Equal(WorkflowTaskFailedCause.UnhandledCommand, next.History.Events.Single(e => e.EventType == EventType.WorkflowTaskFailed).WorkflowTaskFailedEventAttributes.Cause);
        Assert.Equal(WorkflowExecutionStatus.Running, (await Client.GetWorkflowHandle(id).DescribeAsync()).Status);
        await Client.GetWorkflowHandle(id).TerminateAsync("test over");
    }

    [Fact]
    public async Task CancellingAnActivity_ThatFinishedDuringTheWorkflowTask_RecordsTheRequestBeforeTheBufferedFinish()
    {
        // The SDK resolves a try-cancel at once and replays its cancel command against ActivityTaskCancelRequested;
        // Temporal writes that event even when the activity's completion is still buffered behind the task.
        var service = Client.Connection.WorkflowService;
        var (id, taskQueue, first) = await StartRawAsync("cancel-finished");
        var schedule = new Temporalio.Api.WorkflowService.V1.RespondWorkflowTaskCompletedRequest { Namespace = "default", TaskToken = first.TaskToken };
        schedule.Commands.Add(new Temporalio.Api.Command.V1.Command
        {
            CommandType = CommandType.ScheduleActivityTask,
            ScheduleActivityTaskCommandAttributes = new()
            {
                ActivityId = "a",
                ActivityType = new() { Name = "Work" },
                TaskQueue = new() { Name = taskQueue },
                StartToCloseTimeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
            },
        });
        await service.RespondWorkflowTaskCompletedAsync(schedule);
        var activity = await service.PollActivityTaskQueueAsync(new() { Namespace = "default", TaskQueue = new() { Name = taskQueue } });
        const long scheduledEventId = 5; // after started, and the first task's scheduled, started and completed

        await Client.GetWorkflowHandle(id).SignalAsync("Stop", []);
        var second = await service.PollWorkflowTaskQueueAsync(new() { Namespace = "default", TaskQueue = new() { Name = taskQueue } });
        await service.RespondActivityTaskCompletedAsync(new() { Namespace = "default", TaskToken = activity.TaskToken });
        var cancel = new Temporalio.Api.WorkflowService.V1.RespondWorkflowTaskCompletedRequest { Namespace = "default", TaskToken = second.TaskToken };
        cancel.Commands.Add(new Temporalio.Api.Command.V1.Command
        {
            CommandType = CommandType.RequestCancelActivityTask,
            RequestCancelActivityTaskCommandAttributes = new() { ScheduledEventId = scheduledEventId },
        });
        await service.RespondWorkflowTaskCompletedAsync(cancel);

        var events = new List<Temporalio.Api.History.V1.HistoryEvent>();
        await foreach (var e in Client.GetWorkflowHandle(id).FetchHistoryEventsAsync())
        {
            events.Add(e);
        }

        var types = events.SkipWhile(e => e.EventType != EventType.WorkflowExecutionSignaled).Select(e => e.EventType).ToList();
        Assert.Equal(
            [EventType.WorkflowExecutionSignaled, EventType.WorkflowTaskScheduled, EventType.WorkflowTaskStarted, EventType.WorkflowTaskCompleted,
             EventType.ActivityTaskCancelRequested, EventType.ActivityTaskStarted, EventType.ActivityTaskCompleted, EventType.WorkflowTaskScheduled],
            types);
        Assert.Equal(scheduledEventId, events.Single(e => e.EventType == EventType.ActivityTaskCancelRequested).ActivityTaskCancelRequestedEventAttributes.ScheduledEventId);
        await Client.GetWorkflowHandle(id).TerminateAsync("test over");
    }

    /// <summary>Starts a workflow no worker runs and takes its first task, so a test can answer it command by command.</summary>
    private async Task<(string Id, string TaskQueue, Temporalio.Api.WorkflowService.V1.PollWorkflowTaskQueueResponse Task)> StartRawAsync(string prefix)
    {
        var service = Client.Connection.WorkflowService;
        var taskQueue = NewTaskQueue();
        var id = NewId(prefix);
        await service.StartWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowId = id,
            WorkflowType = new() { Name = "Raw" },
            TaskQueue = new() { Name = taskQueue },
            RequestId = Guid.NewGuid().ToString(),
        });
        return (id, taskQueue, await service.PollWorkflowTaskQueueAsync(new() { Namespace = "default", TaskQueue = new() { Name = taskQueue } }));
    }
}

using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Worker;
using static Stateset.Workflows.Tests.WorkflowTestKit;

namespace Stateset.Workflows.Tests;

/// <summary>
/// The database steps as local activities (Patches.DatabaseStepsAsLocalActivities): their failures reach the workflow
/// where its catch clauses and the Failures helpers look, and a step that outlasts the workflow task timeout
/// completes once, the worker heartbeating the task meanwhile.
/// </summary>
[Collection(TemporalCollection.Name)]
public sealed class LocalStepTests(TemporalFixture temporal)
{
    private ITemporalClient Client => temporal.Environment.Client;

    [Fact]
    public async Task LocalStep_FailingForGood_IsOneAttempt_AndReadsAsAnActivityFailureWithItsErrorType()
    {
        var (result, attempts, _) = await ProbeAsync("fail");

        Assert.Equal("ApplicationFailureException activityFailure=True timeout=False errorType=OutOfStock reason=Only 0 of SKU TENT-2P in stock.", result);
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task LocalStep_TimingOut_ReadsAsAnActivityFailureAndATimeout()
    {
        var (result, _, _) = await ProbeAsync("hang");

        // Unlike a failure the activity raised (unwrapped), a timeout arrives wrapped, as an activity's does.
        Assert.StartsWith("ActivityFailureException activityFailure=True timeout=True", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LocalStep_OutlastingTheWorkflowTaskTimeout_CompletesOnce_WithoutTheTaskTimingOut()
    {
        var (result, attempts, events) = await ProbeAsync("slow", TimeSpan.FromSeconds(1));

        Assert.Equal("completed", result);
        Assert.Equal(1, attempts);
        Assert.DoesNotContain(EventType.WorkflowTaskTimedOut, events);
        Assert.DoesNotContain(EventType.WorkflowTaskFailed, events);
        Assert.Single(events, EventType.MarkerRecorded);

        // The heartbeats: each a task completed with no commands but "force a new task" while the step still ran.
        Assert.True(events.Count(e => e == EventType.WorkflowTaskCompleted) >= 2, string.Join(", ", events));
    }

    private async Task<(string Result, int Attempts, List<EventType> Events)> ProbeAsync(string mode, TimeSpan? taskTimeout = null)
    {
        var activities = new LocalStepProbeActivities();
        var taskQueue = NewTaskQueue();
        using var worker = new TemporalWorker(
            Client, new TemporalWorkerOptions(taskQueue).AddWorkflow<LocalStepProbeWorkflow>().AddAllActivities(activities));
        return await worker.ExecuteAsync(async () =>
        {
            var handle = await Client.StartWorkflowAsync(
                (LocalStepProbeWorkflow wf) => wf.RunAsync(mode),
                new WorkflowOptions(NewId("probe"), taskQueue) { TaskTimeout = taskTimeout });
            var result = await handle.GetResultAsync();
            var history = await handle.FetchHistoryAsync();
            return (result, activities.Attempts, history.Events.Select(e => e.EventType).ToList());
        });
    }
}

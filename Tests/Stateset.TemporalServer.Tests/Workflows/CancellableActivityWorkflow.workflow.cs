using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

/// <summary>Starts a heartbeating activity and cancels it when the "Cancel" signal arrives.</summary>
[Workflow]
public sealed class CancellableActivityWorkflow
{
    private bool _cancel;

    [WorkflowRun]
    public async Task<string> RunAsync(string key)
    {
        using var activityCancellation = new CancellationTokenSource();
        var activity = Workflow.ExecuteActivityAsync(
            (TestActivities a) => a.HeartbeatUntilCancelledAsync(key),
            new()
            {
                StartToCloseTimeout = TimeSpan.FromMinutes(5),
                HeartbeatTimeout = TimeSpan.FromSeconds(1),
                CancellationToken = activityCancellation.Token,
                CancellationType = ActivityCancellationType.WaitCancellationCompleted,
            });
        await Workflow.WaitConditionAsync(() => _cancel);
        activityCancellation.Cancel();
        try
        {
            await activity;
            return "completed";
        }
        catch (Temporalio.Exceptions.ActivityFailureException e) when (e.InnerException is Temporalio.Exceptions.CanceledFailureException)
        {
            return "activity cancelled";
        }
    }

    [WorkflowSignal]
    public async Task CancelAsync() => _cancel = true;
}

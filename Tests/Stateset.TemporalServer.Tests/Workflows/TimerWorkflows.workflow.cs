using System.Collections.Concurrent;
using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

/// <summary>Sleeps for the given number of days and reports how long the workflow clock says it slept.</summary>
[Workflow]
public sealed class SleepWorkflow
{
    [WorkflowRun]
    public async Task<double> RunAsync(double days)
    {
        var start = Workflow.UtcNow;
        await Workflow.DelayAsync(TimeSpan.FromDays(days));
        return (Workflow.UtcNow - start).TotalDays;
    }
}

/// <summary>Races a one-day timer against a one-hour one and cancels the loser.</summary>
[Workflow]
public sealed class TimerRaceWorkflow
{
    [WorkflowRun]
    public async Task<string> RunAsync()
    {
        using var longCancellation = new CancellationTokenSource();
        var longTimer = Workflow.DelayAsync(TimeSpan.FromDays(1), longCancellation.Token);
        var shortTimer = Workflow.DelayAsync(TimeSpan.FromHours(1));
        var first = await Workflow.WhenAnyAsync(longTimer, shortTimer);
        longCancellation.Cancel();
        return first == shortTimer ? "short" : "long";
    }
}

/// <summary>Its first workflow task throws a bug (not a Temporal failure), so the task fails and is retried.</summary>
[Workflow]
public sealed class FlakyWorkflow
{
    public static ConcurrentDictionary<string, int> Runs { get; } = new();

    [WorkflowRun]
    public async Task<string> RunAsync(string key) =>
        Runs.AddOrUpdate(key, 1, (_, n) => n + 1) == 1 ? throw new InvalidOperationException("a bug in the first attempt") : "recovered";
}

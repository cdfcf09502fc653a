using Temporalio.Common;
using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

/// <summary>
/// One workflow per kind of pending state a server restart must keep: it waits where the test stops the server, and
/// carries on where the restarted server takes it up.
/// </summary>
[Workflow]
public sealed class DurableStepsWorkflow
{
    public static readonly SearchAttributeKey<string> Stage = SearchAttributeKey.CreateKeyword("DurableStage");
    private static readonly ActivityOptions Once = new() { StartToCloseTimeout = TimeSpan.FromMinutes(5), RetryPolicy = new() { MaximumAttempts = 1 } };

    // An attempt nobody answers is given up after three seconds and retried.
    private static readonly ActivityOptions Retried = new()
    {
        StartToCloseTimeout = TimeSpan.FromSeconds(3),
        RetryPolicy = new() { InitialInterval = TimeSpan.FromMilliseconds(200), MaximumAttempts = 5 },
    };
    private string? _approval;

    /// <summary>Runs <paramref name="kind"/>: "timer", "activity", "retried-activity", "async-activity", "child", "signal", "update" or "countdown".</summary>
    [WorkflowRun]
    public async Task<string> RunAsync(string kind, string key)
    {
        Workflow.UpsertTypedSearchAttributes(Stage.ValueSet("waiting"));
        var result = kind switch
        {
            "timer" => await TimerAsync(),
            "activity" => await Workflow.ExecuteActivityAsync((TestActivities a) => a.Greet(key), Once),
            "retried-activity" => await Workflow.ExecuteActivityAsync((TestActivities a) => a.HangOnceThenGreetAsync(key), Retried),
            "async-activity" => await Workflow.ExecuteActivityAsync((TestActivities a) => a.CompleteLater(key), Once),
            "child" => await Workflow.ExecuteChildWorkflowAsync((DurableStepsWorkflow c) => c.RunAsync("timer", key), new() { Id = $"{key}-child" }),
            "countdown" => $"counted {await Workflow.ExecuteChildWorkflowAsync((TickingCountdownWorkflow c) => c.RunAsync(3, 0), new() { Id = $"{key}-countdown" })}",
            _ => await ApprovalAsync(),
        };
        Workflow.UpsertTypedSearchAttributes(Stage.ValueSet("done"));
        return result;
    }

    [WorkflowQuery]
    public string Approval => _approval ?? "none";

    [WorkflowSignal]
    public async Task ApproveAsync(string who) => _approval = who;

    [WorkflowUpdate]
    public async Task<string> ApproveByUpdateAsync(string who)
    {
        _approval = who;
        return $"accepted {who}";
    }

    private static async Task<string> TimerAsync()
    {
        var start = Workflow.UtcNow;
        await Workflow.DelayAsync(TimeSpan.FromSeconds(3));
        return Workflow.UtcNow - start >= TimeSpan.FromSeconds(3) ? "timer fired" : "timer fired early";
    }

    private async Task<string> ApprovalAsync()
    {
        await Workflow.WaitConditionAsync(() => _approval is not null);
        return $"approved by {_approval}";
    }
}

/// <summary>Continues as new every second until it has counted down, so a restart falls in the middle of the chain.</summary>
[Workflow]
public sealed class TickingCountdownWorkflow
{
    [WorkflowRun]
    public async Task<int> RunAsync(int remaining, int total)
    {
        if (remaining == 0)
        {
            return total;
        }

        await Workflow.DelayAsync(TimeSpan.FromSeconds(1));
        throw Workflow.CreateContinueAsNewException((TickingCountdownWorkflow wf) => wf.RunAsync(remaining - 1, total + 1));
    }
}

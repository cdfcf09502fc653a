using Temporalio.Common;
using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

/// <summary>Counts down by continuing as new, carrying the total forward.</summary>
[Workflow]
public sealed class CountdownWorkflow
{
    [WorkflowRun]
    public async Task<int> RunAsync(int remaining, int total)
    {
        if (remaining == 0)
        {
            return total;
        }

        throw Workflow.CreateContinueAsNewException((CountdownWorkflow wf) => wf.RunAsync(remaining - 1, total + 1));
    }
}

/// <summary>Upserts search attributes and memo, records a patch marker, then waits for a signal to finish.</summary>
[Workflow]
public sealed class UpsertWorkflow
{
    public static readonly SearchAttributeKey<string> OrderStatus = SearchAttributeKey.CreateKeyword("OrderStatus");

    private bool _done;

    [WorkflowRun]
    public async Task<string> RunAsync()
    {
        Workflow.UpsertTypedSearchAttributes(OrderStatus.ValueSet("captured"));
        Workflow.UpsertMemo(MemoUpdate.ValueSet("stage", "capture"));
        var patched = Workflow.Patched("new-capture-flow");
        await Workflow.WaitConditionAsync(() => _done);
        return patched ? "patched" : "old";
    }

    [WorkflowSignal]
    public async Task FinishAsync() => _done = true;
}

/// <summary>Runs until cancelled, then reports that it was cancelled by rethrowing.</summary>
[Workflow]
public sealed class WaitForeverWorkflow
{
    [WorkflowRun]
    public async Task RunAsync() => await Workflow.WaitConditionAsync(() => false);
}

/// <summary>Sends a reminder after an hour without a decision, then keeps waiting for the decision.</summary>
[Workflow]
public sealed class ReminderWorkflow
{
    private bool _decided;

    [WorkflowRun]
    public async Task<string> RunAsync()
    {
        if (!await Workflow.WaitConditionAsync(() => _decided, TimeSpan.FromHours(1)))
        {
            Reminded = true;
            await Workflow.WaitConditionAsync(() => _decided);
        }

        return Reminded ? "decided after reminder" : "decided";
    }

    [WorkflowQuery]
    public bool Reminded { get; private set; }

    [WorkflowSignal]
    public async Task DecideAsync() => _decided = true;
}

/// <summary>Fails its first two attempts (the workflow's own retry policy retries it).</summary>
[Workflow]
public sealed class RetriedWorkflow
{
    [WorkflowRun]
    public async Task<string> RunAsync() => Workflow.Info.Attempt < 3
        ? throw new Temporalio.Exceptions.ApplicationFailureException($"attempt {Workflow.Info.Attempt} failed")
        : $"ok on attempt {Workflow.Info.Attempt}";
}

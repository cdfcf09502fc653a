using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

/// <summary>
/// Like an order: a run of steps, each activity's input carrying a sizeable status view, then a wait for an operator,
/// then one more step. Its history is long, so it shows what the server keeps in memory while the run waits.
/// </summary>
[Workflow]
public sealed class StepsThenApprovalWorkflow
{
    private static readonly ActivityOptions Step = new() { StartToCloseTimeout = TimeSpan.FromMinutes(1) };
    private string? _approvedBy;
    private bool _waiting;

    [WorkflowRun]
    public async Task<string> RunAsync(int steps, int viewSize)
    {
        var view = new string('v', viewSize);
        for (var i = 0; i < steps; i++)
        {
            await Workflow.ExecuteActivityAsync((TestActivities a) => a.Greet($"{i}:{view}"), Step);
        }

        _waiting = true;
        await Workflow.WaitConditionAsync(() => _approvedBy is not null);
        _waiting = false;
        var last = await Workflow.ExecuteActivityAsync((TestActivities a) => a.Greet(_approvedBy!), Step);
        return $"{steps} steps, {last}";
    }

    [WorkflowQuery]
    public bool Waiting => _waiting;

    [WorkflowSignal]
    public async Task ApproveAsync(string who) => _approvedBy = who;
}

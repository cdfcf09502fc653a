using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

public sealed record ParentScenario(string Mode, string ChildId);

/// <summary>Exercises child workflows and external signal/cancel in the mode the test picks.</summary>
[Workflow]
public sealed class ParentWorkflow
{
    [WorkflowRun]
    public async Task<string> RunAsync(ParentScenario scenario)
    {
        switch (scenario.Mode)
        {
            case "result":
                return await Workflow.ExecuteChildWorkflowAsync((GreetingWorkflow c) => c.RunAsync("child"), new() { Id = scenario.ChildId });
            case "fail":
                try
                {
                    await Workflow.ExecuteChildWorkflowAsync((FailingWorkflow c) => c.RunAsync("child broke"), new() { Id = scenario.ChildId });
                    return "child succeeded";
                }
                catch (ChildWorkflowFailureException e)
                {
                    return $"child failed: {e.InnerException?.Message}";
                }

            case "signal-child":
                var child = await Workflow.StartChildWorkflowAsync((ApprovalWorkflow c) => c.RunAsync(0), new() { Id = scenario.ChildId });
                await child.SignalAsync(c => c.DecideAsync("approved by parent"));
                return await child.GetResultAsync();
            case "cancel-child":
                using (var cancellation = new CancellationTokenSource())
                {
                    var cancellable = await Workflow.StartChildWorkflowAsync(
                        (ApprovalWorkflow c) => c.RunAsync(0), new() { Id = scenario.ChildId, CancellationToken = cancellation.Token });
                    cancellation.Cancel();
                    try
                    {
                        await cancellable.GetResultAsync();
                        return "child finished";
                    }
                    catch (ChildWorkflowFailureException e) when (e.InnerException is CanceledFailureException)
                    {
                        return "child cancelled";
                    }
                }

            case "abandon":
                await Workflow.StartChildWorkflowAsync(
                    (ApprovalWorkflow c) => c.RunAsync(0), new() { Id = scenario.ChildId, ParentClosePolicy = ParentClosePolicy.Abandon });
                return "left child running";
            case "terminate":
                await Workflow.StartChildWorkflowAsync(
                    (ApprovalWorkflow c) => c.RunAsync(0), new() { Id = scenario.ChildId, ParentClosePolicy = ParentClosePolicy.Terminate });
                return "child will be terminated";
            case "duplicate":
                try
                {
                    await Workflow.StartChildWorkflowAsync((ApprovalWorkflow c) => c.RunAsync(0), new() { Id = scenario.ChildId });
                    return "started";
                }
                catch (WorkflowAlreadyStartedException)
                {
                    return "already started";
                }

            case "signal-external":
                await Workflow.GetExternalWorkflowHandle<ApprovalWorkflow>(scenario.ChildId).SignalAsync(c => c.DecideAsync("approved externally"));
                return "signalled";
            case "signal-missing":
                try
                {
                    await Workflow.GetExternalWorkflowHandle<ApprovalWorkflow>(scenario.ChildId).SignalAsync(c => c.DecideAsync("nobody"));
                    return "signalled";
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    return "signal failed";
                }

            case "cancel-external":
                await Workflow.GetExternalWorkflowHandle(scenario.ChildId).CancelAsync();
                return "cancel requested";
            default:
                throw new ApplicationFailureException($"unknown mode {scenario.Mode}", nonRetryable: true);
        }
    }
}

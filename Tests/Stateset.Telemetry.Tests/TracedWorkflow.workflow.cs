using Microsoft.Extensions.Logging;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Stateset.Telemetry.Tests;

/// <summary>A tiny order-shaped workflow: one activity, optionally a signal to wait for and a failing step.</summary>
[Workflow]
public sealed class TracedWorkflow
{
    private static readonly ActivityOptions Quick = new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) };

    private bool _proceed;

    [WorkflowRun]
    public async Task<TracedResult> RunAsync(TracedInput input)
    {
        Workflow.Logger.LogInformation("Workflow running for {Order}", input.OrderId);
        await Workflow.ExecuteActivityAsync((TracedActivities a) => a.Charge(input.OrderId), Quick);
        if (input.WaitForSignal)
        {
            await Workflow.WaitConditionAsync(() => _proceed);
        }

        if (input.FailStep)
        {
            try
            {
                await Workflow.ExecuteActivityAsync(
                    (TracedActivities a) => a.Decline(),
                    new() { StartToCloseTimeout = TimeSpan.FromSeconds(30), RetryPolicy = new RetryPolicy { MaximumAttempts = 1 } });
            }
            catch (ActivityFailureException)
            {
                return new TracedResult(input.OrderId, "cancelled");
            }
        }

        return new TracedResult(input.OrderId, "delivered");
    }

    [WorkflowSignal]
    public Task ProceedAsync()
    {
        _proceed = true;
        return Task.CompletedTask;
    }
}

public sealed record TracedInput(string OrderId, bool WaitForSignal = false, bool FailStep = false);

public sealed record TracedResult(string OrderId, string Status);

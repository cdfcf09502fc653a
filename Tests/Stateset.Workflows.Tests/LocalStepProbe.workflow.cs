using Stateset.Workflows.Common;
using Temporalio.Activities;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Stateset.Workflows.Tests;

/// <summary>
/// Runs one local activity the way the workflows run their database steps and answers how its failure reached the
/// workflow, as the <see cref="Failures"/> helpers read it: the steps' catch clauses rely on that.
/// </summary>
[Workflow]
public sealed class LocalStepProbeWorkflow
{
    [WorkflowRun]
    public async Task<string> RunAsync(string mode)
    {
        var options = mode == "hang"
            ? new LocalActivityOptions { StartToCloseTimeout = TimeSpan.FromMilliseconds(200), RetryPolicy = new RetryPolicy { MaximumAttempts = 1 } }
            : ActivityProfiles.LocalBusinessStep;
        try
        {
            await Calls.LocalActivityAsync((LocalStepProbeActivities a) => a.StepAsync(mode), options);
            return "completed";
        }
        catch (Exception e) when (e is FailureException)
        {
            return $"{e.GetType().Name} activityFailure={Failures.IsActivityFailure(e)} timeout={Failures.IsTimeout(e)} errorType={Failures.ErrorType(e)} reason={Failures.Describe(e)}";
        }
    }
}

/// <summary>The probe's activity: fails for good, hangs past its timeout, or outlasts the workflow task timeout.</summary>
public sealed class LocalStepProbeActivities
{
    private int _attempts;

    public int Attempts => _attempts;

    [Activity("LocalStepProbe")]
    public async Task StepAsync(string mode)
    {
        Interlocked.Increment(ref _attempts);
        var cancellation = ActivityExecutionContext.Current.CancellationToken;
        switch (mode)
        {
            case "fail":
                throw new ApplicationFailureException("Only 0 of SKU TENT-2P in stock.", "OutOfStock", nonRetryable: true);
            case "hang":
                await Task.Delay(TimeSpan.FromSeconds(10), cancellation);
                break;
            case "slow":
                await Task.Delay(TimeSpan.FromSeconds(2.5), cancellation);
                break;
            default:
                break;
        }
    }
}

using Temporalio.Common;
using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

public sealed record ActivityScenario(
    string Activity,
    string Key,
    int MaximumAttempts = 0,
    double StartToCloseSeconds = 30,
    double HeartbeatSeconds = 0,
    double ScheduleToCloseSeconds = 0,
    string[]? NonRetryableErrorTypes = null,
    string? ActivityId = null);

/// <summary>Runs one activity, chosen by name, with the retry policy and timeouts the scenario gives.</summary>
[Workflow]
public sealed class ActivityScenarioWorkflow
{
    [WorkflowRun]
    public async Task<string> RunAsync(ActivityScenario scenario)
    {
        var options = new ActivityOptions
        {
            ActivityId = scenario.ActivityId,
            StartToCloseTimeout = TimeSpan.FromSeconds(scenario.StartToCloseSeconds),
            RetryPolicy = new RetryPolicy
            {
                InitialInterval = TimeSpan.FromSeconds(1),
                MaximumAttempts = scenario.MaximumAttempts,
                NonRetryableErrorTypes = scenario.NonRetryableErrorTypes,
            },
        };
        if (scenario.HeartbeatSeconds > 0)
        {
            options.HeartbeatTimeout = TimeSpan.FromSeconds(scenario.HeartbeatSeconds);
        }

        if (scenario.ScheduleToCloseSeconds > 0)
        {
            options.ScheduleToCloseTimeout = TimeSpan.FromSeconds(scenario.ScheduleToCloseSeconds);
        }

        return await Workflow.ExecuteActivityAsync<string>(scenario.Activity, [scenario.Key], options);
    }
}

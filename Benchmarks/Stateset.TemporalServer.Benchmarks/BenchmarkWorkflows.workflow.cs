using Temporalio.Activities;
using Temporalio.Workflows;

namespace Stateset.TemporalServer.Benchmarks;

[Workflow]
public sealed class TrivialWorkflow
{
    [WorkflowRun]
    public async Task<int> RunAsync(int value) => value;
}

[Workflow]
public sealed class OneActivityWorkflow
{
    [WorkflowRun]
    public async Task<int> RunAsync(int value) =>
        await Workflow.ExecuteActivityAsync(() => BenchmarkActivities.Echo(value), new() { StartToCloseTimeout = TimeSpan.FromSeconds(30) });
}

public static class BenchmarkActivities
{
    [Activity]
    public static int Echo(int value) => value;
}

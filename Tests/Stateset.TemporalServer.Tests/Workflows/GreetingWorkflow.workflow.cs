using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

[Workflow]
public sealed class GreetingWorkflow
{
    [WorkflowRun]
    public async Task<string> RunAsync(string name) => $"Hello, {name}";
}

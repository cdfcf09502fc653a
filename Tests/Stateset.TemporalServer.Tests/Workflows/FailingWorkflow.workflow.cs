using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

[Workflow]
public sealed class FailingWorkflow
{
    [WorkflowRun]
    public async Task RunAsync(string reason) => throw new ApplicationFailureException(reason, "OrderRejected", nonRetryable: true);
}

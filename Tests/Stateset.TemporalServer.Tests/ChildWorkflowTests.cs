using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

public sealed class ChildWorkflowTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    private static void Register(TemporalWorkerOptions options) => options
        .AddWorkflow<ParentWorkflow>().AddWorkflow<GreetingWorkflow>().AddWorkflow<FailingWorkflow>().AddWorkflow<ApprovalWorkflow>();

    private Task<string> RunParentAsync(string taskQueue, string mode, string childId) =>
        Client.ExecuteWorkflowAsync((ParentWorkflow wf) => wf.RunAsync(new(mode, childId)), new(NewId("parent"), taskQueue));

    [Fact]
    public async Task Child_Completes_ParentGetsResult()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var childId = NewId("child");
            Assert.Equal("Hello, child", await RunParentAsync(taskQueue, "result", childId));
            var child = await Client.GetWorkflowHandle(childId).DescribeAsync();
            Assert.Equal(WorkflowExecutionStatus.Completed, child.Status);
            Assert.NotNull(child.ParentId);
        });
    }

    [Fact]
    public async Task Child_IsFoundByTheQueriesOfTheUisRelationshipsTab()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var parentId = NewId("parent");
            var childId = NewId("child");
            var parent = await Client.StartWorkflowAsync((ParentWorkflow wf) => wf.RunAsync(new("result", childId)), new(parentId, taskQueue));
            await parent.GetResultAsync();
            var runId = parent.ResultRunId!;

            // The Temporal UI finds a run's children and its tree with exactly these visibility queries.
            async Task<List<string>> IdsAsync(string query)
            {
                var ids = new List<string>();
                await foreach (var run in Client.ListWorkflowsAsync(query))
                {
                    ids.Add(run.Id);
                }

                return ids;
            }

            Assert.Equal([childId], await IdsAsync($"ParentWorkflowId = \"{parentId}\" AND ParentRunId = \"{runId}\""));
            Assert.Empty(await IdsAsync($"ParentWorkflowId = \"{parentId}\" AND ParentRunId = \"not-the-run\""));
            Assert.Equal([childId, parentId], (await IdsAsync($"RootWorkflowId = \"{parentId}\" AND RootRunId = \"{runId}\"")).Order());
        });
    }

    [Fact]
    public async Task Child_Fails_ParentSeesChildFailure()
    {
        await WithWorkerAsync(Register, async taskQueue =>
            Assert.Equal("child failed: child broke", await RunParentAsync(taskQueue, "fail", NewId("child"))));
    }

    [Fact]
    public async Task Child_SignalledByParent_CompletesWithSignal()
    {
        await WithWorkerAsync(Register, async taskQueue =>
            Assert.Equal("approved by parent", await RunParentAsync(taskQueue, "signal-child", NewId("child"))));
    }

    [Fact]
    public async Task Child_CancelledByParent_ParentSeesCancellation()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var childId = NewId("child");
            Assert.Equal("child cancelled", await RunParentAsync(taskQueue, "cancel-child", childId));
            Assert.Equal(WorkflowExecutionStatus.Canceled, (await Client.GetWorkflowHandle(childId).DescribeAsync()).Status);
        });
    }

    [Fact]
    public async Task ParentClosePolicy_TerminateAndAbandon_AreApplied()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var terminated = NewId("child");
            await RunParentAsync(taskQueue, "terminate", terminated);
            Assert.Equal(WorkflowExecutionStatus.Terminated, (await Client.GetWorkflowHandle(terminated).DescribeAsync()).Status);

            var abandoned = NewId("child");
            await RunParentAsync(taskQueue, "abandon", abandoned);
            var handle = Client.GetWorkflowHandle(abandoned);
            Assert.Equal(WorkflowExecutionStatus.Running, (await handle.DescribeAsync()).Status);
            await handle.TerminateAsync("test over");
        });
    }

    [Fact]
    public async Task Child_IdAlreadyRunning_StartFails()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var childId = NewId("child");
            var existing = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(childId, taskQueue));
            Assert.Equal("already started", await RunParentAsync(taskQueue, "duplicate", childId));
            await existing.TerminateAsync("test over");
        });
    }

    [Fact]
    public async Task ExternalSignal_ReachesOtherWorkflow()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var targetId = NewId("target");
            var target = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(targetId, taskQueue));
            Assert.Equal("signalled", await RunParentAsync(taskQueue, "signal-external", targetId));
            Assert.Equal("approved externally", await target.GetResultAsync());
        });
    }

    [Fact]
    public async Task ExternalSignal_MissingWorkflow_FailsInWorkflow()
    {
        await WithWorkerAsync(Register, async taskQueue =>
            Assert.Equal("signal failed", await RunParentAsync(taskQueue, "signal-missing", NewId("nobody"))));
    }

    [Fact]
    public async Task ExternalCancel_CancelsOtherWorkflow()
    {
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var targetId = NewId("target");
            var target = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(targetId, taskQueue));
            Assert.Equal("cancel requested", await RunParentAsync(taskQueue, "cancel-external", targetId));
            await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowFailedException>(() => target.GetResultAsync());
            Assert.Equal(WorkflowExecutionStatus.Canceled, (await target.DescribeAsync()).Status);
        });
    }
}

using Google.Protobuf;
using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Common;
using Temporalio.Exceptions;

namespace Stateset.TemporalServer.Tests;

public sealed class LifecycleTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    [Fact]
    public async Task DescribeNamespace_Default_IsRegistered()
    {
        var response = await Client.Connection.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "default" });
        Assert.Equal(NamespaceState.Registered, response.NamespaceInfo.State);
    }

    [Fact]
    public async Task DescribeNamespace_Unknown_IsNotFound()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            Client.Connection.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "no-such-namespace" }));
        Assert.Equal(RpcException.StatusCode.NotFound, e.Code);
    }

    [Fact]
    public async Task UnimplementedMethod_AnswersUnimplemented()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            Client.Connection.WorkflowService.ListSchedulesAsync(new() { Namespace = "default" }));
        Assert.Equal(RpcException.StatusCode.Unimplemented, e.Code);
    }

    [Fact]
    public async Task Start_WithoutWorkflowId_IsInvalidArgument()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Client.Connection.WorkflowService.StartWorkflowExecutionAsync(new()
        {
            Namespace = "default",
            WorkflowType = new WorkflowType { Name = "Anything" },
            TaskQueue = new() { Name = NewTaskQueue() },
            RequestId = Guid.NewGuid().ToString(),
        }));
        Assert.Equal(RpcException.StatusCode.InvalidArgument, e.Code);
    }

    [Fact]
    public async Task Execute_SimpleWorkflow_ReturnsResult()
    {
        await WithWorkerAsync(w => w.AddWorkflow<GreetingWorkflow>(), async taskQueue =>
        {
            var result = await Client.ExecuteWorkflowAsync(
                (GreetingWorkflow wf) => wf.RunAsync("Temporal"), new(NewId("greet"), taskQueue));
            Assert.Equal("Hello, Temporal", result);
        });
    }

    [Fact]
    public async Task Execute_FailingWorkflow_ThrowsWorkflowFailedWithCause()
    {
        await WithWorkerAsync(w => w.AddWorkflow<FailingWorkflow>(), async taskQueue =>
        {
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => Client.ExecuteWorkflowAsync(
                (FailingWorkflow wf) => wf.RunAsync("card declined"), new(NewId("fail"), taskQueue)));
            var cause = Assert.IsType<ApplicationFailureException>(e.InnerException);
            Assert.Equal("card declined", cause.Message);
            Assert.Equal("OrderRejected", cause.ErrorType);
        });
    }

    [Fact]
    public async Task Describe_CompletedWorkflow_ShowsStatusMemoAndSearchAttributes()
    {
        var orderId = SearchAttributeKey.CreateKeyword("OrderId");
        await WithWorkerAsync(w => w.AddWorkflow<GreetingWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("memo"), new(NewId("describe"), taskQueue)
            {
                Memo = new Dictionary<string, object> { ["customer"] = "c-42" },
                TypedSearchAttributes = new SearchAttributeCollection.Builder().Set(orderId, "o-1").ToSearchAttributeCollection(),
            });
            await handle.GetResultAsync();
            var description = await handle.DescribeAsync();
            Assert.Equal(WorkflowExecutionStatus.Completed, description.Status);
            Assert.Equal("GreetingWorkflow", description.WorkflowType);
            Assert.Equal("c-42", await description.Memo["customer"].ToValueAsync<string>());
            Assert.Equal("o-1", description.TypedSearchAttributes.Get(orderId));
            Assert.NotNull(description.CloseTime);
            Assert.True(description.HistoryLength >= 5);
        });
    }

    [Fact]
    public async Task Start_SameIdWhileRunning_ThrowsAlreadyStarted()
    {
        var taskQueue = NewTaskQueue();
        var id = NewId("dup");
        var first = await Client.StartWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("a"), new(id, taskQueue));
        var e = await Assert.ThrowsAsync<WorkflowAlreadyStartedException>(() =>
            Client.StartWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("b"), new(id, taskQueue)));
        Assert.Equal(first.ResultRunId, e.RunId);

        var existing = await Client.StartWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("c"), new(id, taskQueue)
        {
            IdConflictPolicy = WorkflowIdConflictPolicy.UseExisting,
        });
        Assert.Equal(first.ResultRunId, existing.ResultRunId);

        var replaced = await Client.StartWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("d"), new(id, taskQueue)
        {
            IdConflictPolicy = WorkflowIdConflictPolicy.TerminateExisting,
        });
        Assert.NotEqual(first.ResultRunId, replaced.ResultRunId);
        Assert.Equal(WorkflowExecutionStatus.Terminated, (await Client.GetWorkflowHandle(id, runId: first.ResultRunId).DescribeAsync()).Status);
        await replaced.TerminateAsync("test over");
    }

    [Fact]
    public async Task Start_SameRequestId_ReturnsSameRun()
    {
        var request = new StartWorkflowExecutionRequest
        {
            Namespace = "default",
            WorkflowId = NewId("request-id"),
            WorkflowType = new WorkflowType { Name = "GreetingWorkflow" },
            TaskQueue = new() { Name = NewTaskQueue() },
            RequestId = Guid.NewGuid().ToString(),
        };
        var first = await Client.Connection.WorkflowService.StartWorkflowExecutionAsync(request);
        var second = await Client.Connection.WorkflowService.StartWorkflowExecutionAsync(request);
        Assert.Equal(first.RunId, second.RunId);
        await Client.GetWorkflowHandle(request.WorkflowId).TerminateAsync("test over");
    }

    [Fact]
    public async Task Start_RejectDuplicateAfterCompletion_ThrowsAlreadyStarted()
    {
        await WithWorkerAsync(w => w.AddWorkflow<GreetingWorkflow>(), async taskQueue =>
        {
            var id = NewId("reject-dup");
            await Client.ExecuteWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("once"), new(id, taskQueue));
            await Assert.ThrowsAsync<WorkflowAlreadyStartedException>(() => Client.StartWorkflowAsync(
                (GreetingWorkflow wf) => wf.RunAsync("twice"), new(id, taskQueue) { IdReusePolicy = WorkflowIdReusePolicy.RejectDuplicate }));
            var again = await Client.ExecuteWorkflowAsync(
                (GreetingWorkflow wf) => wf.RunAsync("again"), new(id, taskQueue) { IdReusePolicy = WorkflowIdReusePolicy.AllowDuplicate });
            Assert.Equal("Hello, again", again);
        });
    }

    [Fact]
    public async Task GetHistory_SmallPages_FollowsNextPageTokens()
    {
        await WithWorkerAsync(w => w.AddWorkflow<GreetingWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("pages"), new(NewId("pages"), taskQueue));
            await handle.GetResultAsync();
            var events = new List<long>();
            var token = ByteString.Empty;
            do
            {
                var page = await Client.Connection.WorkflowService.GetWorkflowExecutionHistoryAsync(new()
                {
                    Namespace = "default",
                    Execution = new Temporalio.Api.Common.V1.WorkflowExecution { WorkflowId = handle.Id },
                    MaximumPageSize = 2,
                    NextPageToken = token,
                });
                Assert.True(page.History.Events.Count <= 2);
                events.AddRange(page.History.Events.Select(e => e.EventId));
                token = page.NextPageToken;
            }
            while (!token.IsEmpty);

            Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events);
            var history = await handle.FetchHistoryAsync();
            Assert.Equal(events.Count, history.Events.Count);
            Assert.Equal(EventType.WorkflowExecutionCompleted, history.Events.Last().EventType);
        });
    }

    [Fact]
    public async Task Signal_UnknownWorkflow_IsNotFound()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Client.GetWorkflowHandle(NewId("missing")).SignalAsync("Nothing", []));
        Assert.Equal(RpcException.StatusCode.NotFound, e.Code);
    }
}

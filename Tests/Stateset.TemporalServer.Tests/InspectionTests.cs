using System.Text;
using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.OperatorService.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;

namespace Stateset.TemporalServer.Tests;

/// <summary>
/// The RPCs that tools inspecting runs call (the Temporal UI, the CLI), through the real SDK's gRPC client; they hold on
/// a real Temporal too (TEMPORAL_ADDRESS).
/// </summary>
public sealed class InspectionTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    private string Namespace => Client.Options.Namespace;

    [Fact]
    public async Task GetClusterInfo_ReportsAServerVersionTheUiTreatsAsAdvancedVisibility()
    {
        var info = await Client.WorkflowService.GetClusterInfoAsync(new GetClusterInfoRequest());
        var version = Version.Parse(info.ServerVersion.Split('-', '+')[0]);
        Assert.True(version > new Version(1, 19), $"server version {info.ServerVersion}");
        Assert.False(string.IsNullOrEmpty(info.ClusterId));
    }

    [Fact]
    public async Task DescribeTaskQueue_ListsTheWorkersPollingIt_WithTheirIdentityAndLastAccess()
    {
        var identity = $"inspection-worker-{Guid.NewGuid():N}";
        await WithWorkerAsync(w => w.AddWorkflow<GreetingWorkflow>().Identity = identity, async taskQueue =>
        {
            // A finished run proves the worker has polled the queue.
            await Client.ExecuteWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("poller"), new(NewId("describe-tq"), taskQueue));
            var response = await Client.WorkflowService.DescribeTaskQueueAsync(new DescribeTaskQueueRequest
            {
                Namespace = Namespace,
                TaskQueue = new TaskQueue { Name = taskQueue, Kind = TaskQueueKind.Normal },
                TaskQueueType = TaskQueueType.Workflow,
            });
            var poller = Assert.Single(response.Pollers);
            Assert.Equal(identity, poller.Identity);
            var now = await Environment.GetCurrentTimeAsync();
            Assert.InRange(poller.LastAccessTime.ToDateTimeOffset(), now.AddMinutes(-5), now.AddMinutes(1));
        });
    }

    [Fact]
    public async Task DescribeTaskQueue_ForAQueueNobodyPolls_ListsNoPoller()
    {
        var response = await Client.WorkflowService.DescribeTaskQueueAsync(new DescribeTaskQueueRequest
        {
            Namespace = Namespace,
            TaskQueue = new TaskQueue { Name = NewTaskQueue() },
            TaskQueueType = TaskQueueType.Activity,
        });
        Assert.Empty(response.Pollers);
    }

    [Fact]
    public async Task GetWorkflowExecutionHistoryReverse_PagesFromTheNewestEvent()
    {
        await WithWorkerAsync(w => w.AddWorkflow<ApprovalWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("reverse"), taskQueue));
            await handle.SignalAsync(wf => wf.NoteAsync("one"));
            await handle.SignalAsync(wf => wf.DecideAsync("approved"));
            await handle.GetResultAsync();
            var forward = (await handle.FetchHistoryAsync()).Events.Select(e => e.EventId).ToList();

            var reverse = new List<long>();
            var request = new GetWorkflowExecutionHistoryReverseRequest { Namespace = Namespace, Execution = new() { WorkflowId = handle.Id }, MaximumPageSize = 3 };
            do
            {
                var page = await Client.WorkflowService.GetWorkflowExecutionHistoryReverseAsync(request);
                Assert.InRange(page.History.Events.Count, 1, 3);
                reverse.AddRange(page.History.Events.Select(e => e.EventId));
                request.NextPageToken = page.NextPageToken;
            }
            while (!request.NextPageToken.IsEmpty);

            Assert.Equal(Enumerable.Reverse(forward), reverse);
            Assert.Equal(EventType.WorkflowExecutionCompleted, (await Client.WorkflowService.GetWorkflowExecutionHistoryReverseAsync(
                new() { Namespace = Namespace, Execution = new() { WorkflowId = handle.Id }, MaximumPageSize = 1 })).History.Events[0].EventType);
        });
    }

    [Fact]
    public async Task CountWorkflowExecutions_GroupByExecutionStatus_CountsEachStatus()
    {
        await WithWorkerAsync(w => w.AddWorkflow<ApprovalWorkflow>(), async taskQueue =>
        {
            var done = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("count"), taskQueue));
            await done.SignalAsync(wf => wf.DecideAsync("approved"));
            await done.GetResultAsync();
            var running = new[]
            {
                await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("count"), taskQueue)),
                await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("count"), taskQueue)),
            };
            var terminated = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(NewId("count"), taskQueue));
            await terminated.TerminateAsync("test");

            var counts = await Client.WorkflowService.CountWorkflowExecutionsAsync(new CountWorkflowExecutionsRequest
            {
                Namespace = Namespace,
                Query = $"TaskQueue = '{taskQueue}' GROUP BY ExecutionStatus",
            });
            Assert.Equal(4, counts.Count);
            var groups = counts.Groups.ToDictionary(
                g => Encoding.UTF8.GetString(g.GroupValues.Single().Data.Span).Trim('"'),
                g => g.Count);
            Assert.Equal(new Dictionary<string, long> { ["Completed"] = 1, ["Running"] = 2, ["Terminated"] = 1 }, groups);
            foreach (var run in running)
            {
                await run.TerminateAsync("test over");
            }
        });
    }

    [Fact]
    public async Task ListSearchAttributes_ListsTheSystemAttributes_AndRegisteredCustomOnes()
    {
        var name = $"Inspect{Guid.NewGuid():N}"[..20];
        await Client.OperatorService.AddSearchAttributesAsync(new AddSearchAttributesRequest
        {
            Namespace = Namespace,
            SearchAttributes = { [name] = IndexedValueType.Keyword },
        });
        var response = await Client.OperatorService.ListSearchAttributesAsync(new ListSearchAttributesRequest { Namespace = Namespace });
        foreach (var system in (string[])["WorkflowId", "RunId", "WorkflowType", "ExecutionStatus", "StartTime", "CloseTime", "TaskQueue"])
        {
            Assert.True(response.SystemAttributes.ContainsKey(system), $"{system} missing");
        }

        Assert.Equal(IndexedValueType.Datetime, response.SystemAttributes["StartTime"]);
        Assert.Equal(IndexedValueType.Keyword, response.CustomAttributes[name]);
    }
}

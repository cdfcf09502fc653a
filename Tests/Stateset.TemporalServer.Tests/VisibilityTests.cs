using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Common;

namespace Stateset.TemporalServer.Tests;

public sealed class VisibilityTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    private static readonly SearchAttributeKey<string> Batch = SearchAttributeKey.CreateKeyword("TestBatch");
    private static readonly SearchAttributeKey<long> Amount = SearchAttributeKey.CreateLong("OrderAmount");
    private static readonly SearchAttributeKey<double> Weight = SearchAttributeKey.CreateDouble("ParcelWeight");
    private static readonly SearchAttributeKey<DateTimeOffset> DueAt = SearchAttributeKey.CreateDateTimeOffset("DueAt");

    private async Task<List<string>> ListIdsAsync(string query)
    {
        var ids = new List<string>();
        await foreach (var execution in Client.ListWorkflowsAsync(query))
        {
            ids.Add(execution.Id);
        }

        return ids;
    }

    [Fact]
    public async Task ListAndCount_FilterByTypeStatusAndCustomAttributes()
    {
        await WithWorkerAsync(w => w.AddWorkflow<GreetingWorkflow>().AddWorkflow<ApprovalWorkflow>(), async taskQueue =>
        {
            var batch = Guid.NewGuid().ToString();
            var due = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
            var ids = new List<string>();
            for (var i = 1; i <= 3; i++)
            {
                var id = $"vis-{i}-{batch}";
                ids.Add(id);
                var attributes = new SearchAttributeCollection.Builder()
                    .Set(Batch, batch).Set(Amount, i * 10).Set(Weight, i * 1.5).Set(DueAt, due.AddDays(i)).ToSearchAttributeCollection();
                await Client.ExecuteWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync($"{i}"), new(id, taskQueue) { TypedSearchAttributes = attributes });
            }

            var running = await Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new($"vis-open-{batch}", taskQueue)
            {
                TypedSearchAttributes = new SearchAttributeCollection.Builder().Set(Batch, batch).Set(Amount, 99).ToSearchAttributeCollection(),
            });

            Assert.Equal(ids, await ListIdsAsync($"TestBatch = '{batch}' AND WorkflowType = 'GreetingWorkflow' ORDER BY StartTime"));
            Assert.Equal(ids[1..], await ListIdsAsync($"TestBatch = '{batch}' AND OrderAmount > 15 AND OrderAmount < 99 ORDER BY StartTime ASC"));
            Assert.Equal([ids[0], ids[2]], await ListIdsAsync($"TestBatch = '{batch}' AND (OrderAmount = 10 OR ParcelWeight >= 4.5) ORDER BY StartTime"));
            Assert.Equal([ids[1]], await ListIdsAsync($"TestBatch = '{batch}' AND DueAt BETWEEN '2031-01-01T00:00:00Z' AND '2030-01-02T12:00:00Z' OR (TestBatch = '{batch}' AND DueAt BETWEEN '2030-01-02T12:00:00Z' AND '2030-01-03T12:00:00Z')"));
            Assert.Equal([running.Id], await ListIdsAsync($"TestBatch = '{batch}' AND ExecutionStatus = 'Running'"));
            Assert.Equal(3, (await Client.CountWorkflowsAsync($"TestBatch = '{batch}' AND ExecutionStatus != 'Running'")).Count);
            Assert.Equal(1, (await Client.CountWorkflowsAsync($"TestBatch = '{batch}' AND WorkflowId = '{ids[0]}'")).Count);
            Assert.Equal([.. ids.Append(running.Id).Reverse()], await ListIdsAsync($"TestBatch = '{batch}' ORDER BY StartTime DESC"));
            await running.TerminateAsync("test over");
        });
    }

    [Fact]
    public async Task List_MalformedQuery_IsInvalidArgument()
    {
        var e = await Assert.ThrowsAsync<Temporalio.Exceptions.RpcException>(() => ListIdsAsync("WorkflowType = "));
        Assert.Equal(Temporalio.Exceptions.RpcException.StatusCode.InvalidArgument, e.Code);
    }

    [Fact]
    public async Task Upsert_SearchAttributesMemoAndMarker_AreVisible()
    {
        await WithWorkerAsync(w => w.AddWorkflow<UpsertWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((UpsertWorkflow wf) => wf.RunAsync(), new(NewId("upsert"), taskQueue));
            await handle.SignalAsync(wf => wf.FinishAsync());
            Assert.Equal("patched", await handle.GetResultAsync());
            var description = await handle.DescribeAsync();
            Assert.Equal("captured", description.TypedSearchAttributes.Get(UpsertWorkflow.OrderStatus));
            Assert.Equal("capture", await description.Memo["stage"].ToValueAsync<string>());
            Assert.Contains(handle.Id, await ListIdsAsync($"OrderStatus = 'captured' AND WorkflowId = '{handle.Id}'"));
            var events = (await handle.FetchHistoryAsync()).Events.Select(e => e.EventType).ToList();
            Assert.Contains(EventType.UpsertWorkflowSearchAttributes, events);
            Assert.Contains(EventType.WorkflowPropertiesModified, events);
            Assert.Contains(EventType.MarkerRecorded, events);
        });
    }

    [Fact]
    public async Task ContinueAsNew_ChainOfRuns_ResultFollowsToLastRun()
    {
        await WithWorkerAsync(w => w.AddWorkflow<CountdownWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((CountdownWorkflow wf) => wf.RunAsync(3, 0), new(NewId("countdown"), taskQueue));
            Assert.Equal(3, await handle.GetResultAsync());
            var runs = await ListIdsAsync($"WorkflowId = '{handle.Id}'");
            Assert.Equal(4, runs.Count);
            Assert.Equal(3, (await Client.CountWorkflowsAsync($"WorkflowId = '{handle.Id}' AND ExecutionStatus = 'ContinuedAsNew'")).Count);
            var first = await Client.GetWorkflowHandle(handle.Id, runId: handle.ResultRunId).DescribeAsync();
            Assert.Equal(WorkflowExecutionStatus.ContinuedAsNew, first.Status);
        });
    }
}

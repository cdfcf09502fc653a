using Microsoft.Data.Sqlite;
using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.WorkflowService.V1;
using Temporalio.Client;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

/// <summary>
/// On a <c>--db-filename</c> file the server keeps in memory only the events a run's next workflow task sends and
/// reads the rest back from the file: every reader of history (a worker without the run in its cache, history pages
/// forwards and backwards, a restart) still sees the whole history, event for event.
/// </summary>
public sealed class HistoryReleaseTests : IDisposable
{
    private const int Steps = 12;
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"release-{Guid.NewGuid():N}.db");
    private readonly string _taskQueue = $"tq-{Guid.NewGuid()}";

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(_file + suffix);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WaitingRun_HoldsOnlyItsLastTaskInMemory_AndEveryReaderSeesTheWholeHistory(bool workerCachesRuns)
    {
        var id = $"release-{Guid.NewGuid()}";
        List<HistoryEvent> waitingHistory;
        await using (var server = await StartAsync())
        {
            var client = await ConnectAsync(server);
            var handle = await client.StartWorkflowAsync((StepsThenApprovalWorkflow wf) => wf.RunAsync(Steps, 4096), new(id, _taskQueue));
            await WithWorkerAsync(client, workerCachesRuns, async () =>
            {
                while (!await handle.QueryAsync(wf => wf.Waiting))
                {
                    await Task.Delay(50);
                }
            });

            // A query is answered from a workflow task of its own, so the history is unchanged by asking it.
            waitingHistory = [.. (await handle.FetchHistoryAsync()).Events];
            Assert.True(waitingHistory.Count > Steps * 6, $"only {waitingHistory.Count} events");
            await WaitForReleaseAsync(server, id, waitingHistory.Count);

            await AssertReverseHistoryAsync(client, id, waitingHistory);
        }

        // After a restart the run is held as small as before, and a worker that has never seen it replays it in full.
        await using (var server = await StartAsync())
        {
            var client = await ConnectAsync(server);
            var (inMemory, count) = server.Engine.HeldEvents("default", id);
            Assert.Equal(waitingHistory.Count, count);
            Assert.True(inMemory < 10, $"{inMemory} of {count} events held in memory after the restart");
            var handle = client.GetWorkflowHandle<StepsThenApprovalWorkflow, string>(id);
            Assert.Equal(waitingHistory, (await handle.FetchHistoryAsync()).Events.Take(waitingHistory.Count));

            await handle.SignalAsync(wf => wf.ApproveAsync("ops"));
            var result = await WithWorkerAsync(client, workerCachesRuns, () => handle.GetResultAsync());
            Assert.Equal($"{Steps} steps, Hi ops", result);

            var closed = (await handle.FetchHistoryAsync()).Events.ToList();
            Assert.Equal(waitingHistory, closed.Take(waitingHistory.Count));
            Assert.Equal(Enumerable.Range(1, closed.Count).Select(i => (long)i), closed.Select(e => e.EventId));
            Assert.Equal(EventType.WorkflowExecutionCompleted, closed[^1].EventType);
            var held = await WaitForReleaseAsync(server, id, closed.Count);
            Assert.True(held <= 1, $"a closed run holds {held} events");
        }
    }

    private static async Task<int> WaitForReleaseAsync(EmbeddedTemporalServer server, string id, int expectedCount)
    {
        // The events are let go of once the group commit that holds them is on disk, just after the RPC is answered.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var (inMemory, count) = server.Engine.HeldEvents("default", id);
            Assert.Equal(expectedCount, count);
            if (inMemory < 10)
            {
                return inMemory;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{inMemory} of {count} events still held in memory");
            await Task.Delay(50);
        }
    }

    private static async Task AssertReverseHistoryAsync(TemporalClient client, string id, List<HistoryEvent> forward)
    {
        var reverse = new List<HistoryEvent>();
        var request = new GetWorkflowExecutionHistoryReverseRequest
        {
            Namespace = "default",
            Execution = new() { WorkflowId = id },
            MaximumPageSize = 7,
        };
        do
        {
            var page = await client.WorkflowService.GetWorkflowExecutionHistoryReverseAsync(request);
            reverse.AddRange(page.History.Events);
            request.NextPageToken = page.NextPageToken;
        }
        while (!request.NextPageToken.IsEmpty);

        reverse.Reverse();
        Assert.Equal(forward, reverse);
    }

    private Task<EmbeddedTemporalServer> StartAsync() => EmbeddedTemporalServer.StartAsync(new() { DatabaseFile = _file, Headless = true });

    private static Task<TemporalClient> ConnectAsync(EmbeddedTemporalServer server) => TemporalClient.ConnectAsync(new(server.Target));

    /// <summary>Without a cache the worker asks for the whole history at every workflow task, so each is read back from the file.</summary>
    private async Task<T> WithWorkerAsync<T>(ITemporalClient client, bool cachesRuns, Func<Task<T>> test)
    {
        var options = new TemporalWorkerOptions(_taskQueue).AddWorkflow<StepsThenApprovalWorkflow>().AddAllActivities(new TestActivities());
        if (!cachesRuns)
        {
            options.MaxCachedWorkflows = 0;
        }

        using var worker = new TemporalWorker(client, options);
        return await worker.ExecuteAsync(test);
    }

    private Task WithWorkerAsync(ITemporalClient client, bool cachesRuns, Func<Task> test) => WithWorkerAsync(client, cachesRuns, async () =>
    {
        await test();
        return true;
    });
}

using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Client;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

/// <summary>
/// The server on a <c>--db-filename</c> file, killed with SIGKILL while a workflow waits on each kind of pending state,
/// then started again on the same file: the workflow completes with the same result and its history has no doubled event.
/// </summary>
/// <remarks>
/// Split into classes by what the server is killed during, so xunit runs the classes side by side: every test has a
/// file, a task queue and server processes of its own. In one class they ran one after another, the longest lane of
/// the project.
/// </remarks>
public abstract class DurabilityTest : IDisposable
{
    protected string DbFile { get; } = Path.Combine(Path.GetTempPath(), $"durable-{Guid.NewGuid():N}.db");
    protected string TaskQueue { get; } = $"tq-{Guid.NewGuid()}";

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(DbFile + suffix);
        }

        GC.SuppressFinalize(this);
    }

    protected async Task PrepareBadFileAsync(string kind)
    {
        switch (kind)
        {
            case "not sqlite":
                await File.WriteAllTextAsync(DbFile, "these are somebody's notes, not a database\n");
                return;
            case "another program's":
                await using (var connection = new SqliteConnection($"Data Source={DbFile};Pooling=False"))
                {
                    await connection.OpenAsync();
                    await using var command = connection.CreateCommand();
                    command.CommandText = "CREATE TABLE invoices (id INTEGER PRIMARY KEY)";
                    await command.ExecuteNonQueryAsync();
                }

                return;
        }

        // A real file of this server, with work in it, then damaged.
        var id = $"durable-bad-{Guid.NewGuid()}";
        var (server, client) = await TemporalServerProcess.StartOnFileAsync(DbFile);
        await using (server)
        {
            for (var i = 0; i < 20; i++)
            {
                await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("signal", id), new($"{id}-{i}", TaskQueue));
            }

            // A clean stop folds the write-ahead log into the file, so what is cut below is the data itself.
            await server.InterruptAsync();
        }

        SqliteConnection.ClearAllPools();
        if (kind == "newer schema")
        {
            await using var connection = new SqliteConnection($"Data Source={DbFile};Pooling=False");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE meta SET value = '99' WHERE key = 'schema_version'; PRAGMA wal_checkpoint(TRUNCATE);";
            await command.ExecuteNonQueryAsync();
        }
        else
        {
            var bytes = await File.ReadAllBytesAsync(DbFile);
            await File.WriteAllBytesAsync(DbFile, bytes[..(bytes.Length / 2)]);
        }
    }

    /// <summary>Runs <paramref name="before"/> on a server, kills it with SIGKILL, and runs <paramref name="after"/> on a new one on the same file.</summary>
    protected async Task RunAcrossRestartAsync(Func<TemporalClient, Task> before, Func<TemporalClient, Task> after)
    {
        var (first, client) = await TemporalServerProcess.StartOnFileAsync(DbFile);
        await using (first)
        {
            await before(client);
            await first.KillAsync();
        }

        var (second, again) = await TemporalServerProcess.StartOnFileAsync(DbFile);
        await using (second)
        {
            await after(again);
        }
    }

    protected async Task<T> WithWorkerAsync<T>(ITemporalClient client, Func<Task<T>> test)
    {
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(TaskQueue)
            .AddWorkflow<DurableStepsWorkflow>()
            .AddWorkflow<TickingCountdownWorkflow>()
            .AddAllActivities(new TestActivities()));
        return await worker.ExecuteAsync(test);
    }

    protected Task WithWorkerAsync(ITemporalClient client, Func<Task> test) => WithWorkerAsync(client, async () =>
    {
        await test();
        return true;
    });

    protected static async Task<bool> WaitForEventAsync(ITemporalClient client, string id, EventType type)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var history = await client.GetWorkflowHandle(id).FetchHistoryAsync();
            if (history.Events.Any(e => e.EventType == type))
            {
                return true;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{id} never wrote {type}");
    }

    /// <summary>Ids run 1..n without a gap, and nothing that happens once (a timer firing, an activity ending) happens twice.</summary>
    protected static async Task AssertNoDoubledEventsAsync(ITemporalClient client, string id)
    {
        var events = (await client.GetWorkflowHandle(id).FetchHistoryAsync()).Events;
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.EventId));
        Assert.Single(events, e => e.EventType == EventType.WorkflowExecutionStarted);
        Assert.Single(events, e => e.EventType is EventType.WorkflowExecutionCompleted);
        AssertOnce(events, e => e.TimerFiredEventAttributes?.StartedEventId);
        AssertOnce(events, e => e.ActivityTaskCompletedEventAttributes?.ScheduledEventId);
        AssertOnce(events, e => e.ActivityTaskStartedEventAttributes?.ScheduledEventId);
        AssertOnce(events, e => e.ChildWorkflowExecutionCompletedEventAttributes?.InitiatedEventId);
        AssertOnce(events, e => e.WorkflowExecutionSignaledEventAttributes is null ? null : e.WorkflowExecutionSignaledEventAttributes.SignalName);
    }

    protected static void AssertOnce<T>(IEnumerable<HistoryEvent> events, Func<HistoryEvent, T?> key)
    {
        var keys = events.Select(key).Where(k => k is not null).ToList();
        Assert.Equal(keys.Distinct().Count(), keys.Count);
    }
}

/// <summary>Killed while a workflow waits on a timer, an activity, a child or a countdown of timers.</summary>
public sealed class DurabilityWhileWaitingTests : DurabilityTest
{
    [Theory]
    [InlineData("timer")]
    [InlineData("activity")]
    [InlineData("child")]
    [InlineData("countdown")]
    public async Task Kill9_WhileWaiting_CompletesAfterRestart(string kind)
    {
        var id = $"durable-{kind}-{Guid.NewGuid()}";
        await RunAcrossRestartAsync(
            async client =>
            {
                // "activity": no worker yet, so the restart finds the activity task queued and undelivered.
                await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync(kind, id), new(id, TaskQueue));
                if (kind != "activity")
                {
                    await WithWorkerAsync(client, () => WaitForEventAsync(client, id, kind == "timer" ? EventType.TimerStarted : EventType.StartChildWorkflowExecutionInitiated));
                }
            },
            async client =>
            {
                var result = await WithWorkerAsync(client, () => client.GetWorkflowHandle<DurableStepsWorkflow, string>(id).GetResultAsync());
                Assert.Equal(kind switch { "activity" => $"Hi {id}", "countdown" => "counted 3", _ => "timer fired" }, result);
                await AssertNoDoubledEventsAsync(client, id);
            });
    }
}

/// <summary>Killed around signals, updates, handed-out tasks and running attempts, or restarted with visibility to keep.</summary>
public sealed class DurabilityMidTaskTests : DurabilityTest
{
    [Fact]
    public async Task Kill9_WaitingForApproval_SignalAfterRestart_Completes_AndIsQueryableAfterClose()
    {
        var id = $"durable-signal-{Guid.NewGuid()}";
        await RunAcrossRestartAsync(
            async client =>
            {
                var handle = await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("signal", id), new(id, TaskQueue));
                await WithWorkerAsync(client, async () => Assert.Equal("none", await handle.QueryAsync(wf => wf.Approval)));
            },
            async client =>
            {
                var handle = client.GetWorkflowHandle<DurableStepsWorkflow, string>(id);
                await handle.SignalAsync(wf => wf.ApproveAsync("ops"));
                await WithWorkerAsync(client, async () =>
                {
                    Assert.Equal("approved by ops", await handle.GetResultAsync());
                    Assert.Equal("ops", await handle.QueryAsync(wf => wf.Approval));
                });
                await AssertNoDoubledEventsAsync(client, id);
            });
    }

    [Fact]
    public async Task Kill9_AfterSignalWithStartAndUpdate_BothSurvive()
    {
        var id = $"durable-update-{Guid.NewGuid()}";
        await RunAcrossRestartAsync(
            async client =>
            {
                var options = new WorkflowOptions(id, TaskQueue);
                options.SignalWithStart((DurableStepsWorkflow wf) => wf.ApproveAsync("signal-with-start"));
                await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("update", id), options);
            },
            async client =>
            {
                var handle = client.GetWorkflowHandle<DurableStepsWorkflow, string>(id);
                await WithWorkerAsync(client, async () =>
                {
                    Assert.Equal("approved by signal-with-start", await handle.GetResultAsync());
                });
                await AssertNoDoubledEventsAsync(client, id);
            });

        var second = $"durable-update2-{Guid.NewGuid()}";
        await RunAcrossRestartAsync(
            async client =>
            {
                var handle = await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("update", second), new(second, TaskQueue));
                await WithWorkerAsync(client, async () => Assert.Equal("accepted ops", await handle.ExecuteUpdateAsync(wf => wf.ApproveByUpdateAsync("ops"))));
            },
            async client =>
            {
                var handle = client.GetWorkflowHandle<DurableStepsWorkflow, string>(second);
                Assert.Equal("approved by ops", await WithWorkerAsync(client, () => handle.GetResultAsync()));
                await AssertNoDoubledEventsAsync(client, second);
            });
    }

    [Fact]
    public async Task Kill9_DuringAsyncCompletion_TheTokenFromBeforeTheRestartCompletesTheActivity()
    {
        var id = $"durable-async-{Guid.NewGuid()}";
        string token = string.Empty;
        await RunAcrossRestartAsync(
            async client =>
            {
                await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("async-activity", id), new(id, TaskQueue));
                token = await WithWorkerAsync(client, () => TestActivities.StartedAsync(id));
            },
            async client =>
            {
                await client.GetAsyncActivityHandle(Convert.FromBase64String(token)).CompleteAsync("paid after the restart");
                var result = await WithWorkerAsync(client, () => client.GetWorkflowHandle<DurableStepsWorkflow, string>(id).GetResultAsync());
                Assert.Equal("paid after the restart", result);
                await AssertNoDoubledEventsAsync(client, id);
            });
    }

    [Fact]
    public async Task Kill9_WithAnActivityScheduledButNotYetPolled_ItRunsAfterTheRestart()
    {
        var id = $"durable-scheduled-{Guid.NewGuid()}";
        await RunAcrossRestartAsync(
            async client =>
            {
                await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("activity", id), new(id, TaskQueue));

                // A worker of workflows only: the activity task is scheduled and waits in its queue.
                using var workflowsOnly = new TemporalWorker(client, new TemporalWorkerOptions(TaskQueue).AddWorkflow<DurableStepsWorkflow>());
                await workflowsOnly.ExecuteAsync(() => WaitForEventAsync(client, id, EventType.ActivityTaskScheduled));
            },
            async client =>
            {
                Assert.Equal($"Hi {id}", await WithWorkerAsync(client, () => client.GetWorkflowHandle<DurableStepsWorkflow, string>(id).GetResultAsync()));
                await AssertNoDoubledEventsAsync(client, id);
            });
    }

    [Fact]
    public async Task Kill9_WithAWorkflowTaskHandedOutAndUnanswered_ItIsHandedOutAgainAfterItsTimeout()
    {
        var id = $"durable-task-{Guid.NewGuid()}";
        await RunAcrossRestartAsync(
            async client =>
            {
                await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("activity", id), new(id, TaskQueue) { TaskTimeout = TimeSpan.FromSeconds(2) });

                // Taken by a poller that then vanishes: started, never completed.
                var task = await client.WorkflowService.PollWorkflowTaskQueueAsync(new() { Namespace = "default", TaskQueue = new() { Name = TaskQueue } });
                Assert.Equal(id, task.WorkflowExecution.WorkflowId);
            },
            async client =>
            {
                Assert.Equal($"Hi {id}", await WithWorkerAsync(client, () => client.GetWorkflowHandle<DurableStepsWorkflow, string>(id).GetResultAsync()));
                var events = (await client.GetWorkflowHandle(id).FetchHistoryAsync()).Events;
                Assert.Contains(events, e => e.EventType == EventType.WorkflowTaskTimedOut);
                await AssertNoDoubledEventsAsync(client, id);
            });
    }

    /// <summary>
    /// The worker keeps running while the server is killed under its running attempt and started again on the same
    /// port: the attempt nobody will answer times out from its stored start, and the retry runs on the same worker.
    /// </summary>
    [Fact]
    public async Task Kill9_WhileAnActivityRuns_ItsAttemptTimesOutAfterTheRestart_AndTheRetryCompletes()
    {
        var id = $"durable-running-{Guid.NewGuid()}";
        var port = TemporalServerProcess.FreePort();
        var (first, client) = await TemporalServerProcess.StartOnFileAsync(DbFile, port);
        TemporalServerProcess? second = null;
        try
        {
            await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("retried-activity", id), new(id, TaskQueue));
            var result = await WithWorkerAsync(client, async () =>
            {
                await TestActivities.StartedAsync(id);
                await first.KillAsync();
                (second, _) = await TemporalServerProcess.StartOnFileAsync(DbFile, port);
                return await client.GetWorkflowHandle<DurableStepsWorkflow, string>(id).GetResultAsync();
            });
            Assert.Equal($"Hi {id} on attempt 2", result);
            await AssertNoDoubledEventsAsync(client, id);
        }
        finally
        {
            await first.DisposeAsync();
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Restart_KeepsVisibility_SearchAttributes_AndRequestIdDedupe()
    {
        var id = $"durable-visibility-{Guid.NewGuid()}";
        string runId = string.Empty;
        await RunAcrossRestartAsync(
            async client =>
            {
                var handle = await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("timer", id), new(id, TaskQueue));
                runId = handle.ResultRunId!;
                await WithWorkerAsync(client, () => handle.GetResultAsync());
            },
            async client =>
            {
                var found = new List<WorkflowExecution>();
                await foreach (var execution in client.ListWorkflowsAsync($"WorkflowId = '{id}' AND DurableStage = 'done' AND ExecutionStatus = 'Completed'"))
                {
                    found.Add(execution);
                }

                Assert.Equal(runId, Assert.Single(found).RunId);
                Assert.Equal("timer fired", await client.GetWorkflowHandle<DurableStepsWorkflow, string>(id).GetResultAsync());
                await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowAlreadyStartedException>(() =>
                    client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("timer", id), new(id, TaskQueue) { IdReusePolicy = WorkflowIdReusePolicy.RejectDuplicate }));
            });
    }
}

/// <summary>Killed during a stream of commits, stopped cleanly, or started on a damaged file.</summary>
public sealed class DurabilityOfTheFileTests : DurabilityTest
{
    /// <summary>
    /// Sixteen writers start workflows and signal one shared run as fast as the server answers, and the server is killed
    /// in the middle of that stream, with a commit being written and requests waiting for the next; three times over on
    /// one file. After each restart every start and signal that was answered is there exactly once; what was never
    /// answered may or may not be, but whatever is there is whole (a run's history starts at its first event, no gap).
    /// </summary>
    [Fact]
    public async Task Kill9_DuringAStreamOfCommits_KeepsEveryAcknowledgedChange_AndNothingHalfWritten()
    {
        var shared = $"durable-stream-{Guid.NewGuid()}";
        var prefix = $"durable-stream-{Guid.NewGuid():N}";
        var acknowledgedStarts = new ConcurrentBag<string>();
        var acknowledgedSignals = new ConcurrentBag<string>();

        // Signals of 64 KiB make each commit take long enough that requests are always waiting for one when the kill comes.
        var bulk = new Temporalio.Api.Common.V1.Payloads();
        bulk.Payloads_.Add(new Temporalio.Api.Common.V1.Payload { Data = Google.Protobuf.ByteString.CopyFrom(new byte[64 * 1024]) });
        for (var round = 0; round <= 3; round++)
        {
            var (server, client) = await TemporalServerProcess.StartOnFileAsync(DbFile);
            await using (server)
            {
                if (round == 0)
                {
                    await client.StartWorkflowAsync((DurableStepsWorkflow wf) => wf.RunAsync("signal", shared), new(shared, TaskQueue));
                }
                else
                {
                    await AssertEveryAcknowledgedChangeIsWholeAsync(client);
                }

                if (round < 3)
                {
                    var unanswered = await StreamUntilKilledAsync(server, client, round, acknowledgedSignals.Count + 150);
                    Assert.True(unanswered > 0, "the kill found no request in flight");
                }
            }
        }

        async Task<int> StreamUntilKilledAsync(TemporalServerProcess server, TemporalClient client, int round, int killAfterSignals)
        {
            var killed = false;
            var unanswered = 0;
            var writers = Enumerable.Range(0, 16).Select(writer => Task.Run(async () =>
            {
                for (var n = 0; ; n++)
                {
                    var id = $"{prefix}-{round}-{writer}-{n}";
                    var signal = $"s-{round}-{writer}-{n}";
                    try
                    {
                        // No client-side retry: an answer is exactly what the server acknowledged.
                        await client.WorkflowService.StartWorkflowExecutionAsync(
                            new()
                            {
                                Namespace = "default",
                                WorkflowId = id,
                                WorkflowType = new() { Name = nameof(DurableStepsWorkflow) },
                                TaskQueue = new() { Name = TaskQueue },
                                RequestId = Guid.NewGuid().ToString(),
                            },
                            new() { Retry = false });
                        acknowledgedStarts.Add(id);
                        await client.WorkflowService.SignalWorkflowExecutionAsync(
                            new()
                            {
                                Namespace = "default",
                                WorkflowExecution = new() { WorkflowId = shared },
                                SignalName = signal,
                                Input = bulk,
                                RequestId = Guid.NewGuid().ToString(),
                            },
                            new() { Retry = false });
                        acknowledgedSignals.Add(signal);
                    }
                    catch (Exception) when (Volatile.Read(ref killed))
                    {
                        Interlocked.Increment(ref unanswered);
                        return;
                    }
                }
            })).ToList();

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (acknowledgedSignals.Count < killAfterSignals && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }

            Assert.True(acknowledgedSignals.Count >= killAfterSignals, $"only {acknowledgedSignals.Count} signals were answered in 30 s");
            Volatile.Write(ref killed, true);
            await server.KillAsync();
            await Task.WhenAll(writers);
            return unanswered;
        }

        async Task AssertEveryAcknowledgedChangeIsWholeAsync(TemporalClient client)
        {
            var sharedEvents = (await client.GetWorkflowHandle(shared).FetchHistoryAsync()).Events;
            AssertWhole(sharedEvents);
            var signalled = sharedEvents.Where(e => e.EventType == EventType.WorkflowExecutionSignaled)
                .Select(e => e.WorkflowExecutionSignaledEventAttributes.SignalName).ToList();
            Assert.Equal(signalled.Count, signalled.Distinct(StringComparer.Ordinal).Count());
            Assert.Empty(acknowledgedSignals.Except(signalled, StringComparer.Ordinal));

            var listed = new List<string>();
            await foreach (var execution in client.ListWorkflowsAsync($"WorkflowId STARTS_WITH '{prefix}'"))
            {
                listed.Add(execution.Id);
            }

            Assert.Empty(acknowledgedStarts.Except(listed, StringComparer.Ordinal));
            foreach (var id in listed)
            {
                AssertWhole((await client.GetWorkflowHandle(id).FetchHistoryAsync()).Events);
            }
        }

        static void AssertWhole(IReadOnlyCollection<HistoryEvent> events)
        {
            Assert.Equal(EventType.WorkflowExecutionStarted, events.First().EventType);
            Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.EventId));
        }
    }

    [Fact]
    public async Task CleanStop_ThenRestart_KeepsRegisteredNamespaces()
    {
        var (first, client) = await TemporalServerProcess.StartOnFileAsync(DbFile);
        await using (first)
        {
            await client.WorkflowService.RegisterNamespaceAsync(new() { Namespace = "kept" });
            await first.InterruptAsync();
        }

        var (second, again) = await TemporalServerProcess.StartOnFileAsync(DbFile);
        await using (second)
        {
            var described = await again.WorkflowService.DescribeNamespaceAsync(new() { Namespace = "kept" });
            Assert.Equal("kept", described.NamespaceInfo.Name);
        }
    }

    [Theory]
    [InlineData("not sqlite")]
    [InlineData("truncated")]
    [InlineData("newer schema")]
    [InlineData("another program's")]
    public async Task BadFile_OneLine_NonZeroExit_FileUntouched(string kind)
    {
        await PrepareBadFileAsync(kind);
        var before = await File.ReadAllBytesAsync(DbFile);

        await using var server = TemporalServerProcess.Start("--db-filename", DbFile);
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        var line = Assert.Single(server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(DbFile, line, StringComparison.Ordinal);
        Assert.Contains("refusing", line, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(DbFile));
    }
}

using System.Diagnostics;
using Stateset.TemporalServer;
using Stateset.TemporalServer.Benchmarks;
using Temporalio.Client;
using Temporalio.Worker;

// Measures the embedded server through the real Temporalio SDK on this machine, beside the same loop with the
// workflow replaced by a no-op RPC (GetSystemInfo), so the ratio shows what the server itself costs; then the same
// one-activity loop on a server keeping its state in a SQLite file (--db-filename), and the start-up time on a file
// holding 10,000 closed and 1,000 open runs.
//   dotnet run -c Release --project Benchmarks/Stateset.TemporalServer.Benchmarks [-- <seconds per phase> <concurrency> [<server address>]]
// With an address it measures that server (e.g. the standalone command) instead of in-process ones.
var seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 10;
var concurrency = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64;
var external = args.Length > 2 ? args[2] : null;
var phase = TimeSpan.FromSeconds(seconds);
Console.WriteLine($"Embedded Temporal server benchmark: {Environment.ProcessorCount} cores, {concurrency} concurrent callers, {seconds} s per phase");
var file = Path.Combine(Path.GetTempPath(), $"temporal-bench-{Guid.NewGuid():N}.db");
try
{
    await using (var server = external is null ? await EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions()) : null)
    {
        var client = await TemporalClient.ConnectAsync(new(external ?? server!.Target));
        await WithWorkerAsync(client, async taskQueue =>
        {
            Report("no-op RPC (GetSystemInfo)", await MeasureAsync(phase, concurrency, _ => client.Connection.WorkflowService.GetSystemInfoAsync(new())));
            Report("trivial workflow, start to result", await MeasureAsync(phase, concurrency, i =>
                client.ExecuteWorkflowAsync((TrivialWorkflow wf) => wf.RunAsync(i), new($"trivial-{Guid.NewGuid()}", taskQueue))));
            Report("one-activity workflow, start to result", await MeasureAsync(phase, concurrency, i =>
                client.ExecuteWorkflowAsync((OneActivityWorkflow wf) => wf.RunAsync(i), new($"activity-{Guid.NewGuid()}", taskQueue))));
            Report("one-activity workflow, one caller", await MeasureAsync(phase / 2, 1, i =>
                client.ExecuteWorkflowAsync((OneActivityWorkflow wf) => wf.RunAsync(i), new($"serial-{Guid.NewGuid()}", taskQueue))));
        });
    }

    if (external is not null)
    {
        return;
    }

    await using (var server = await EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { DatabaseFile = file }))
    {
        var client = await TemporalClient.ConnectAsync(new(server.Target));
        await WithWorkerAsync(client, async taskQueue =>
        {
            Report("file-backed: one-activity workflow", await MeasureAsync(phase, concurrency, i =>
                client.ExecuteWorkflowAsync((OneActivityWorkflow wf) => wf.RunAsync(i), new($"file-activity-{Guid.NewGuid()}", taskQueue))));
            Report("file-backed: one-activity, one caller", await MeasureAsync(phase / 2, 1, i =>
                client.ExecuteWorkflowAsync((OneActivityWorkflow wf) => wf.RunAsync(i), new($"file-serial-{Guid.NewGuid()}", taskQueue))));

            // Fill the file up to 10,000 closed runs, then leave 1,000 open on a queue nobody polls.
            var closed = (int)(await client.CountWorkflowsAsync("ExecutionStatus = 'Completed'")).Count;
            var left = Math.Max(0, 10_000 - closed);
            var next = 0;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                while (Interlocked.Increment(ref next) <= left)
                {
                    await client.ExecuteWorkflowAsync((TrivialWorkflow wf) => wf.RunAsync(1), new($"fill-{Guid.NewGuid()}", taskQueue));
                }
            }));
        });
        var open = 0;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref open) <= 1_000)
            {
                await client.StartWorkflowAsync((TrivialWorkflow wf) => wf.RunAsync(1), new($"open-{Guid.NewGuid()}", "nobody-polls"));
            }
        }));
    }

    var startUp = Stopwatch.StartNew();
    await using (var reloaded = await EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { DatabaseFile = file }))
    {
        startUp.Stop();
        var client = await TemporalClient.ConnectAsync(new(reloaded.Target));
        var runs = (await client.CountWorkflowsAsync(string.Empty)).Count;
        var running = (await client.CountWorkflowsAsync("ExecutionStatus = 'Running'")).Count;
        Console.WriteLine($"{"file-backed: start-up on the file",-42} {startUp.Elapsed.TotalSeconds,9:F2} s   ({runs} runs, {running} open, {new FileInfo(file).Length / 1024.0 / 1024.0:F1} MiB)");
    }
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
    {
        File.Delete(file + suffix);
    }
}

static async Task WithWorkerAsync(TemporalClient client, Func<string, Task> measure)
{
    var taskQueue = $"bench-{Guid.NewGuid()}";
    using var worker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue)
    {
        MaxConcurrentWorkflowTaskPolls = 8,
        MaxConcurrentActivityTaskPolls = 8,
    }.AddWorkflow<TrivialWorkflow>().AddWorkflow<OneActivityWorkflow>().AddActivity(BenchmarkActivities.Echo));
    await worker.ExecuteAsync(async () =>
    {
        // Warm up JIT, connections and the worker.
        await MeasureAsync(TimeSpan.FromSeconds(2), 64, i =>
            client.ExecuteWorkflowAsync((OneActivityWorkflow wf) => wf.RunAsync(i), new($"warm-{Guid.NewGuid()}", taskQueue)));
        await measure(taskQueue);
    });
}

static void Report(string name, (int Count, TimeSpan Elapsed, List<double> LatenciesMs) result)
{
    result.LatenciesMs.Sort();
    double Percentile(double p) => result.LatenciesMs.Count == 0 ? double.NaN : result.LatenciesMs[(int)Math.Min(result.LatenciesMs.Count - 1, p * result.LatenciesMs.Count)];
    Console.WriteLine(
        $"{name,-42} {result.Count / result.Elapsed.TotalSeconds,9:F0} /s   p50 {Percentile(0.50),7:F1} ms   p99 {Percentile(0.99),7:F1} ms   ({result.Count} in {result.Elapsed.TotalSeconds:F1} s)");
}

static async Task<(int Count, TimeSpan Elapsed, List<double> LatenciesMs)> MeasureAsync(TimeSpan duration, int callers, Func<int, Task> operation)
{
    var latencies = new List<double>();
    var count = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(async caller =>
    {
        var mine = new List<double>();
        while (clock.Elapsed < duration)
        {
            var started = Stopwatch.GetTimestamp();
            await operation(Interlocked.Increment(ref count));
            mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        lock (latencies)
        {
            latencies.AddRange(mine);
        }
    }));
    return (latencies.Count, clock.Elapsed, latencies);
}

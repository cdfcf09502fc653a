using System.Diagnostics;
using System.Globalization;
using Temporalio.Client;

namespace Stateset.Load;

/// <summary>One measurement against one checkout: start its system, drive the load, read the figures, stop it.</summary>
internal static class LoadRun
{
    private const int HistorySample = 5;
    private const int TopStatements = 12;

    /// <summary>Runs the load the options ask for against <paramref name="checkout"/>.</summary>
    public static async Task<Figures> RunAsync(string checkout, LoadOptions options, Action<SystemUnderTest> started, CancellationToken ct)
    {
        var title = $"{Path.GetFileName(checkout.TrimEnd('/'))}@{await CommitOfAsync(checkout)}";
        Console.WriteLine();
        Console.WriteLine($"== {title} ({checkout}, {options.Configuration}); Temporal: {options.TemporalAddress ?? "embedded"}; {Environment.ProcessorCount} cores (shared: figures move with what else runs)");
        var runDirectory = Path.Combine(options.DataDirectory ?? Path.GetTempPath(), $"stateset-load-{Guid.NewGuid().ToString("N")[..8]}");
        await using var system = await SystemUnderTest.StartAsync(checkout, options, runDirectory, started, ct);
        await DatabaseProbe.TopUpStockAsync(system.ConnectionString, ct);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var calls = new GatewayCalls(http, system.Gateway, system.Sandboxes);
        await using var traffic = await OrderTraffic.StartAsync(calls, system.AdminKey, ct);
        var idle = system.Parts.ToDictionary(p => p.Name, p => p.Sample?.Invoke());
        var figures = new Figures(title);
        try
        {
            if (options.Approvals is { } approvals)
            {
                await HoldForApprovalAsync(system, traffic, approvals, options, idle, figures, ct);
            }
            else
            {
                await FullOrdersAsync(system, traffic, options, idle, figures, ct);
            }
        }
        catch
        {
            system.KeepLogs();
            throw;
        }

        return figures;
    }

    private static async Task FullOrdersAsync(
        SystemUnderTest system, OrderTraffic traffic, LoadOptions options, Dictionary<string, ProcessSample?> idle, Figures figures, CancellationToken ct)
    {
        if (options.Warmup > 0)
        {
            await WithProgressAsync("warm-up", traffic, options.Warmup, () => traffic.RunAsync(options.Warmup, Math.Min(options.Concurrency, options.Warmup), null, ct), ct);
        }

        using var http = new HttpClient();
        await DatabaseProbe.ResetStatementsAsync(system.ConnectionString, system.CountsStatements, ct);
        var sqlBefore = await DatabaseProbe.CountAsync(system.ConnectionString, system.CountsStatements, ct);
        var tasksBefore = await TemporalTaskCounts.ReadAsync(http, system.WorkerMetrics, ct);
        var cpuBefore = Sample(system);
        var earlyBefore = traffic.EarlyAcknowledgements;
        var failedBefore = traffic.FailedAcknowledgements;

        var batch = await WithProgressAsync(
            "measured", traffic, options.Orders, () => traffic.RunAsync(options.Orders, options.Concurrency, options.Rate, ct), ct);
        var cpuAfter = Sample(system);
        var sqlAfter = await DatabaseProbe.CountAsync(system.ConnectionString, system.CountsStatements, ct);

        // The SDK hands its metrics over in the background; a moment later every task of the batch is counted.
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        var tasks = (await TemporalTaskCounts.ReadAsync(http, system.WorkerMetrics, ct)).Since(tasksBefore);

        var leftovers = await DatabaseProbe.FindLeftoversAsync(system.ConnectionString, ct);
        if (leftovers.Count > 0)
        {
            throw new LoadException($"After the run the database keeps what closed orders must not:\n  {string.Join("\n  ", leftovers.Take(20))}");
        }

        var n = batch.SecondsToClose.Count;
        figures.Add("orders", options.Rate is { } rate ? $"{n} at {rate:0.#}/s" : $"{n} at {options.Concurrency} in flight");
        figures.Add("orders/s", batch.PerSecond, "0.00");
        figures.Add("start-to-close p50", batch.Percentile(0.50), "0.00", " s");
        figures.Add("start-to-close p99", batch.Percentile(0.99), "0.00", " s");
        figures.Add("start-to-close max", batch.SecondsToClose.Max(), "0.00", " s");
        var total = TimeSpan.Zero;
        foreach (var part in system.Parts)
        {
            if (cpuBefore[part.Name] is { } before && cpuAfter[part.Name] is { } after)
            {
                var used = after.Cpu - before.Cpu;
                if (part.Name != "load generator")
                {
                    total += used;
                }

                figures.Add($"CPU/order {part.Name}", used.TotalMilliseconds / n, "0.0", " ms");
            }
            else
            {
                figures.Add($"CPU/order {part.Name}", "n/a");
            }
        }

        figures.Add("CPU/order system", total.TotalMilliseconds / n, "0.0", " ms");
        figures.Add("print acks refused (409)", (double)(traffic.EarlyAcknowledgements - earlyBefore) / n, "0.00", "/order");
        figures.Add("print acks failed (5xx)", traffic.FailedAcknowledgements - failedBefore, "0");
        AddMemory(figures, system, idle, cpuAfter);
        figures.Add("workflow tasks/order", tasks.WorkflowTasks / n, "0.0");
        figures.Add("activity tasks/order", tasks.ActivityTasks / n, "0.0");
        figures.Add("local activities/order", tasks.LocalActivities / n, "0.0");

        var client = await TemporalClient.ConnectAsync(new(system.TemporalTarget) { Namespace = system.TemporalNamespace });
        foreach (var (kind, perOrder) in await HistoryEvents.PerOrderAsync(client, batch.OrderIds.Take(HistorySample).ToList(), ct))
        {
            figures.Add($"history {kind}/order", perOrder, "0.0");
        }

        if (sqlAfter.Statements is { } statements)
        {
            var sqlStatements = statements - (sqlBefore.Statements ?? 0);
            var control = sqlAfter.TransactionControl - sqlBefore.TransactionControl;
            figures.Add("SQL statements/order", (double)sqlStatements / n, "0.0");
            figures.Add("  of which BEGIN/COMMIT", (double)control / n, "0.0");
        }
        else
        {
            figures.Add("SQL statements/order", "n/a (no pg_stat_statements)");
        }

        figures.Add("SQL transactions/order", (double)(sqlAfter.Commits - sqlBefore.Commits) / n, "0.0");
        figures.Print();
        PrintTopStatements(sqlBefore, sqlAfter, n);
    }

    private static async Task HoldForApprovalAsync(
        SystemUnderTest system, OrderTraffic traffic, int count, LoadOptions options, Dictionary<string, ProcessSample?> idle, Figures figures, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var placing = traffic.PlaceAwaitingApprovalAsync(count, options.Concurrency, ct);
        var waiting = 0;
        var progress = new ProgressLine();
        while (true)
        {
            var done = placing.IsCompleted;
            waiting = await DatabaseProbe.CountAwaitingApprovalAsync(system.ConnectionString, traffic.OrderPrefix, ct);
            progress.Show($"{clock.Elapsed.TotalSeconds,6:0.0} s  placed {traffic.Progress.Started}/{count}, waiting for approval {waiting}");
            if (done)
            {
                await placing;
                if (waiting == count)
                {
                    break;
                }
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(15))
            {
                throw new LoadException($"Only {waiting} of {count} orders reached the approval wait within 15 minutes.");
            }

            await Task.Delay(progress.Interval, ct);
        }

        progress.Done();
        var reached = clock.Elapsed;
        Console.WriteLine($"  all {count} wait for approval after {reached.TotalSeconds:0.0} s; watching memory for {options.Hold.TotalSeconds:0} s ...");
        var hold = Stopwatch.StartNew();
        Dictionary<string, ProcessSample?> now;
        do
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, Math.Max(0.1, options.Hold.TotalSeconds))), ct);
            now = Sample(system);
            Console.WriteLine("  " + string.Join(", ", system.Parts.Where(p => now[p.Name] is not null).Select(p => $"{p.Name} {Megabytes(now[p.Name]!.Value)}")));
        }
        while (hold.Elapsed < options.Hold);

        figures.Add("orders awaiting approval", count, "0");
        figures.Add("time to place them all", reached.TotalSeconds, "0.0", " s");
        AddMemory(figures, system, idle, now);
        figures.Print();
    }

    private static void AddMemory(Figures figures, SystemUnderTest system, Dictionary<string, ProcessSample?> idle, Dictionary<string, ProcessSample?> now)
    {
        long idleTotal = 0, nowTotal = 0;
        foreach (var part in system.Parts)
        {
            if (idle[part.Name] is { } before && now[part.Name] is { } after)
            {
                figures.Add($"RSS {part.Name}", $"{Megabytes(after)} (idle {Megabytes(before)})");
                if (part.Name != "load generator")
                {
                    idleTotal += before.MemoryBytes;
                    nowTotal += after.MemoryBytes;
                }
            }
            else
            {
                figures.Add($"RSS {part.Name}", "n/a");
            }
        }

        figures.Add("RSS system", $"{nowTotal / 1048576.0:0} MB (idle {idleTotal / 1048576.0:0} MB)");
        figures.Add("PostgreSQL processes", system.PostgresProcesses, "0");
    }

    private static string Megabytes(ProcessSample sample) => $"{sample.MemoryBytes / 1048576.0:0} MB";

    private static Dictionary<string, ProcessSample?> Sample(SystemUnderTest system) =>
        system.Parts.ToDictionary(p => p.Name, p => p.Sample?.Invoke());

    private static async Task<T> WithProgressAsync<T>(string phase, OrderTraffic traffic, int count, Func<Task<T>> run, CancellationToken ct)
    {
        var start = traffic.Progress;
        var clock = Stopwatch.StartNew();
        var progress = new ProgressLine();
        var work = run();
        var lastClosed = 0;
        var lastAt = TimeSpan.Zero;
        while (await Task.WhenAny(work, Task.Delay(progress.Interval, ct)) != work)
        {
            var (started, printed, closed) = traffic.Progress;
            closed -= start.Closed;
            var rate = (closed - lastClosed) / (clock.Elapsed - lastAt).TotalSeconds;
            (lastClosed, lastAt) = (closed, clock.Elapsed);
            progress.Show(string.Create(
                CultureInfo.InvariantCulture,
                $"{phase} {clock.Elapsed.TotalSeconds,6:0.0} s  started {started - start.Started}/{count}  printed {printed - start.Printed}  closed {closed}  in flight {started - start.Started - closed}  {rate:0.0} orders/s now"));
        }

        progress.Done();
        return await work;
    }

    private static void PrintTopStatements(SqlCounts before, SqlCounts after, int orders)
    {
        if (after.Statements is null)
        {
            return;
        }

        Console.WriteLine();
        Console.WriteLine($"  most frequent SQL statements (calls per order, pg_stat_statements):");
        foreach (var (query, calls) in after.ByQuery
            .Select(q => (q.Key, q.Value - before.ByQuery.GetValueOrDefault(q.Key)))
            .Where(q => q.Item2 > 0)
            .OrderByDescending(q => q.Item2)
            .Take(TopStatements))
        {
            var oneLine = string.Join(' ', query.Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
            Console.WriteLine($"  {(double)calls / orders,7:0.0}  {(oneLine.Length > 110 ? oneLine[..110] + " ..." : oneLine)}");
        }
    }

    private static async Task<string> CommitOfAsync(string checkout)
    {
        try
        {
            var git = Process.Start(new ProcessStartInfo("git", ["-C", checkout, "rev-parse", "--short", "HEAD"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var commit = (await git.StandardOutput.ReadToEndAsync()).Trim();
            await git.WaitForExitAsync();
            return git.ExitCode == 0 ? commit : "?";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "?";
        }
    }

    /// <summary>A status line rewritten in place on a terminal, or printed every few seconds into a file or pipe.</summary>
    private sealed class ProgressLine
    {
        private readonly bool _terminal = !Console.IsOutputRedirected;
        private int _width;

        /// <summary>Gets how often the line is shown.</summary>
        public TimeSpan Interval => _terminal ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(5);

        public void Show(string text)
        {
            if (_terminal)
            {
                Console.Write("\r  " + text.PadRight(_width));
                _width = text.Length;
            }
            else
            {
                Console.WriteLine("  " + text);
            }
        }

        public void Done()
        {
            if (_terminal && _width > 0)
            {
                Console.WriteLine();
            }
        }
    }
}

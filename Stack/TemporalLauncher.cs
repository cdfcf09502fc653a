using System.Diagnostics;
using System.Net.Sockets;
using Stateset.TemporalServer;
using Temporalio.Client;

namespace Stateset.Stack;

/// <summary>A Temporal the stack uses: where it is, its UI if it has one, and how to stop it if we started it.</summary>
internal sealed record RunningTemporal(string Target, string Description, string? UiUrl, Func<ValueTask> StopAsync)
{
    /// <summary>Gets the one line saying why a Temporal we started serves no UI and what to install, if so.</summary>
    public string? UiUnavailableReason { get; init; }
}

/// <summary>
/// Provides Temporal in the order ARCHITECTURE.md gives: the server named by TEMPORAL_ADDRESS; else the
/// <c>temporal</c> CLI's dev server (it brings the Temporal UI); else the embedded server.
/// </summary>
internal static class TemporalLauncher
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    public static async Task<RunningTemporal> StartAsync(StackSettings settings, CancellationToken ct)
    {
        if (settings.TemporalAddress is { } address)
        {
            await EnsureReachableAsync(address, settings.TemporalNamespace, "TEMPORAL_ADDRESS", ct);
            return new RunningTemporal(address, $"Temporal at {address} (TEMPORAL_ADDRESS)", null, () => ValueTask.CompletedTask);
        }

        EnsurePortFree(settings.TemporalPort, "STATESET_TEMPORAL_PORT");
        var cli = FindOnPath("temporal");
        return cli is not null
            ? await StartCliDevServerAsync(cli, settings, ct)
            : await StartEmbeddedAsync(settings, ct);
    }

    private static async Task<RunningTemporal> StartEmbeddedAsync(StackSettings settings, CancellationToken ct)
    {
        EnsurePortFree(settings.TemporalUiPort, "STATESET_TEMPORAL_UI_PORT");

        // File-backed beside the PostgreSQL data, so a stack restart keeps the workflows that own the commerce rows.
        var file = Path.Combine(settings.DataDirectory, "temporal.db");
        EmbeddedTemporalServer server;
        try
        {
            server = await EmbeddedTemporalServer.StartAsync(
                new EmbeddedTemporalServerOptions
                {
                    Port = settings.TemporalPort,
                    TimeSkipping = false,
                    UiPort = settings.TemporalUiPort,
                    Namespaces = [settings.TemporalNamespace],
                    DatabaseFile = file,
                },
                ct);
        }
        catch (DatabaseFileException e)
        {
            throw new StackStartException(e.Message);
        }

        return new RunningTemporal(
            server.Target,
            $"embedded Temporal-compatible server on {server.Target}, state in {file}",
            server.UiUnavailableReason is null ? server.UiUrl!.ToString().TrimEnd('/') : null,
            server.DisposeAsync)
        {
            UiUnavailableReason = server.UiUnavailableReason,
        };
    }

    private static async Task<RunningTemporal> StartCliDevServerAsync(string cli, StackSettings settings, CancellationToken ct)
    {
        EnsurePortFree(settings.TemporalUiPort, "STATESET_TEMPORAL_UI_PORT");
        Directory.CreateDirectory(settings.DataDirectory);
        var start = new ProcessStartInfo(cli)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[
            "server", "start-dev", "--ip", "127.0.0.1", "--port", $"{settings.TemporalPort}",
            "--ui-port", $"{settings.TemporalUiPort}", "--namespace", settings.TemporalNamespace,
            "--db-filename", Path.Combine(settings.DataDirectory, "temporal.db"), "--log-level", "warn"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new StackStartException($"Could not start {cli}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var target = $"127.0.0.1:{settings.TemporalPort}";
        async ValueTask StopAsync()
        {
            if (!process.HasExited)
            {
                // SIGINT lets the dev server flush its SQLite file; a kill is the fallback.
                _ = SignalInterrupt(process.Id);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            process.Dispose();
        }

        try
        {
            await EnsureReachableAsync(target, settings.TemporalNamespace, "the temporal CLI dev server", ct, retryUntilUp: true);
        }
        catch
        {
            await StopAsync();
            throw;
        }

        return new RunningTemporal(target, $"temporal CLI dev server on {target}", $"http://127.0.0.1:{settings.TemporalUiPort}", StopAsync);
    }

    private static async Task EnsureReachableAsync(string address, string ns, string source, CancellationToken ct, bool retryUntilUp = false)
    {
        var deadline = DateTime.UtcNow + (retryUntilUp ? TimeSpan.FromSeconds(60) : ConnectTimeout);
        while (true)
        {
            try
            {
                var client = await TemporalClient.ConnectAsync(new(address) { Namespace = ns }).WaitAsync(ConnectTimeout, ct);
                await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = ns });
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                if (!retryUntilUp || DateTime.UtcNow > deadline)
                {
                    var reason = e is TimeoutException ? $"no answer within {ConnectTimeout.TotalSeconds:0} s" : e.Message;
                    throw new StackStartException($"Cannot reach Temporal at {address} ({source}): {reason}");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            }
        }
    }

    internal static void EnsurePortFree(int port, string variable)
    {
        try
        {
            using var probe = new TcpListener(System.Net.IPAddress.Loopback, port);
            probe.Start();
        }
        catch (SocketException)
        {
            throw new StackStartException($"Port {port} is already in use: stop what holds it or set {variable} to another port.");
        }
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static int SignalInterrupt(int pid) => NativeMethods.Kill(pid, 2);

    private static class NativeMethods
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Temporalio.Client;

namespace Stateset.Testing;

/// <summary>
/// A dev server (<c>server start-dev</c>) as a child process on its own port, so a test can kill it (-9) and start it
/// again on the same database file and port: the embedded server's built executable, or the one
/// <c>STATESET_TEMPORAL_DEV_SERVER</c> names (Temporal's CLI takes the same flags).
/// </summary>
public sealed class TemporalServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private TemporalServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>Gets the port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Gets the server's address for a client.</summary>
    public string Target => $"127.0.0.1:{Port}";

    /// <summary>Gets what the server wrote to its standard output and error so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts a server on a free port with <paramref name="args"/> after the dev server's own flags.</summary>
    public static TemporalServerProcess Start(params string[] args) => Start(FreePort(), args);

    /// <summary>Starts a server on <paramref name="port"/> with <paramref name="args"/> after the dev server's own flags.</summary>
    public static TemporalServerProcess Start(int port, params string[] args)
    {
        var start = new ProcessStartInfo(TemporalEnvironments.DevServerExecutable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])["server", "start-dev", "--port", $"{port}", "--headless", "--log-level", "warn", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server");
        var server = new TemporalServerProcess(process, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Starts a server on <paramref name="file"/> and connects a client once it answers.</summary>
    public static Task<(TemporalServerProcess Server, TemporalClient Client)> StartOnFileAsync(string file) => StartOnFileAsync(file, FreePort());

    /// <summary>Starts a server on <paramref name="file"/> and <paramref name="port"/> (a restart keeps its clients' address) and connects a client once it answers.</summary>
    public static async Task<(TemporalServerProcess Server, TemporalClient Client)> StartOnFileAsync(string file, int port)
    {
        var server = Start(port, "--db-filename", file);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                var client = await TemporalClient.ConnectAsync(new(server.Target));
                await client.WorkflowService.GetSystemInfoAsync(new());
                return (server, client);
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !server._process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Waits for the server to exit by itself and answers its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Stops the server as Ctrl-C does (SIGINT) and waits for it to exit.</summary>
    public async Task InterruptAsync()
    {
        using (var kill = Process.Start("kill", ["-INT", $"{_process.Id}"]))
        {
            await kill.WaitForExitAsync();
        }

        await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Kills the server at once (SIGKILL): nothing gets a chance to flush.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    /// <summary>A port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}

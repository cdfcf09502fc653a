using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Stateset.Stack.Tests;

/// <summary>The built Stack program running as a child process with its own ports and data folder.</summary>
internal sealed class StackProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private StackProcess(Process process)
    {
        _process = process;
    }

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

    public int ProcessId => _process.Id;

    public static StackProcess Start(IReadOnlyDictionary<string, string> environment)
    {
        var stackDll = Path.Combine(RepositoryRoot(), "Stack", "bin", BuildConfiguration, "net10.0", "Stateset.Stack.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add(stackDll);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the stack");
        var stack = new StackProcess(process);
        process.OutputDataReceived += (_, e) => stack.Append(e.Data);
        process.ErrorDataReceived += (_, e) => stack.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return stack;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Waits until the stack prints that it is running, or fails with everything it printed.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var finished = await Task.WhenAny(_ready.Task, exited, Task.Delay(timeout));
        if (finished != _ready.Task)
        {
            throw new InvalidOperationException($"The stack did not become ready:\n{Output}");
        }
    }

    /// <summary>Sends SIGINT, as Ctrl-C in a terminal does, and waits for the exit code.</summary>
    public async Task<int> InterruptAsync(TimeSpan timeout)
    {
        _ = NativeMethods.Kill(_process.Id, 2);
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static string BuildConfiguration =>
        typeof(StackProcess).Assembly.Location.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Stateset.Workflows.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line.Contains("Press Ctrl-C to stop everything.", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }

    private static class NativeMethods
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}

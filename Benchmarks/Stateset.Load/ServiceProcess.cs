using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Stateset.Load;

/// <summary>
/// One part of the system under test in a process of its own (a built executable of the checkout), its output kept in
/// a log file for when it fails; stopped with SIGTERM, then killed if it does not stop in time.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServiceProcess(string name, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    /// <summary>Gets what the process is (gateway, worker, ...).</summary>
    public string Name { get; }

    /// <summary>Gets the file its standard output and error go to.</summary>
    public string LogPath { get; }

    /// <summary>Gets its process id.</summary>
    public int Id => _process.Id;

    /// <summary>Gets a value indicating whether it has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Starts an executable with its own folder as working directory (where its appsettings.json is).</summary>
    public static ServiceProcess Start(string name, string executable, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment, string logDirectory)
    {
        if (!File.Exists(executable))
        {
            throw new LoadException($"The {name} is not built at {executable}: build that checkout in this configuration first.");
        }

        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = Path.GetDirectoryName(executable)!,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            // A null value takes the variable away, so nothing of the load generator's own environment leaks in.
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        var logPath = Path.Combine(logDirectory, $"{name}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new LoadException($"Could not start the {name} ({executable}).");
        void Write(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (log)
                {
                    log.WriteLine(e.Data);
                }
            }
        }

        process.OutputDataReceived += Write;
        process.ErrorDataReceived += Write;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServiceProcess(name, process, log, logPath);
    }

    /// <summary>CPU used and resident memory now.</summary>
    public ProcessSample Sample() => _process.HasExited ? default : ProcFs.Process(_process.Id);

    /// <summary>The last lines it wrote, to say why it failed.</summary>
    public string Tail(int lines = 15)
    {
        lock (_log)
        {
            _log.Flush();
        }

        using var reader = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var text = new StreamReader(reader);
        var all = text.ReadToEnd().Split('\n');
        return string.Join('\n', all.TakeLast(lines)).TrimEnd();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _ = NativeMethods.Kill(_process.Id, 15);
            using var grace = new CancellationTokenSource(StopGrace);
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    /// <summary>Kills it at once (when the load generator itself is being stopped).</summary>
    public void KillNow()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}

/// <summary>A failure of the run that ends it with one clear message.</summary>
internal sealed class LoadException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="LoadException"/> class.</summary>
    public LoadException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LoadException"/> class.</summary>
    public LoadException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LoadException"/> class.</summary>
    public LoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

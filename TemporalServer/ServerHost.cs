using System.Runtime.InteropServices;

namespace Stateset.TemporalServer;

/// <summary>The server as a process: reads the command line, starts, prints where it listens, and stops on Ctrl-C or SIGTERM.</summary>
internal static partial class ServerHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        ServerCommand command;
        try
        {
            command = ServerCommandLine.Parse(args);
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync($"{e.Message}\n{ServerCommandLine.Usage}");
            return 2;
        }

        var options = command.Options;
        using var loggerFactory = LoggerFactory.Create(logging =>
        {
            if (command.JsonLogs)
            {
                logging.AddJsonConsole();
            }
            else
            {
                logging.AddSimpleConsole(console => console.SingleLine = true);
            }

            logging.SetMinimumLevel(command.LogLevel)
                .AddFilter("Microsoft", LogLevel.Warning)
                .AddFilter("Grpc", LogLevel.Warning)

                // A port in use is reported below in one line; the host would add a stack trace.
                .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        });
        options.LoggerFactory = loggerFactory;
        var logger = loggerFactory.CreateLogger("Stateset.TemporalServer");
        foreach (var setting in command.IgnoredSettings)
        {
            logger.LogInformation("Ignored (the embedded server has no such setting): {Setting}", setting);
        }

        using var stop = new CancellationTokenSource();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        EmbeddedTemporalServer server;
        try
        {
            server = await EmbeddedTemporalServer.StartAsync(options);
        }
        catch (DatabaseFileException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        catch (IOException e)
        {
            var ui = options.UiPort is { } uiPort && !options.Headless ? $" and {uiPort}" : string.Empty;
            await Console.Error.WriteLineAsync($"Cannot listen on {options.Address}:{options.Port}{ui}: {e.Message}");
            return 1;
        }

        await using (server)
        {
            var mode = server.TimeSkipping ? "time-skipping test server" : "dev server";
            var state = options.DatabaseFile is { } file ? $"state in {Path.GetFullPath(file)}" : "state in memory";
            await Console.Out.WriteLineAsync(
                $"Embedded Temporal {mode} listening on {server.Target} (namespaces: {string.Join(", ", options.Namespaces)}; {state}); Ctrl-C stops it");
            if (server.UiUrl is not null)
            {
                await Console.Out.WriteLineAsync(server.UiUnavailableReason ?? $"Temporal UI at {server.UiUrl}");
            }

            var parentGone = command.ExitWithParent ? WatchParentAsync(stop.Token) : Task.Delay(Timeout.Infinite, stop.Token);
            await parentGone.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return 0;
    }

    /// <summary>
    /// Completes when the process that launched this one has gone. An SDK launches the test server as its child and kills
    /// it when the test run ends; a test host that crashes cannot, and this keeps its servers from living on.
    /// </summary>
    private static async Task WatchParentAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return;
        }

        var parent = NativeMethods.GetParentProcessId();
        while (NativeMethods.GetParentProcessId() == parent)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    private static partial class NativeMethods
    {
        [DllImport("libc", EntryPoint = "getppid")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int GetParentProcessId();
    }
}

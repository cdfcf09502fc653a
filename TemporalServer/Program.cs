using System.Net;
using System.Runtime.InteropServices;
using Stateset.TemporalServer;

// Runs the embedded Temporal server alone in dev mode (real clock):
//   dotnet run --project TemporalServer -- --port 7233 [--ui-port 8233 | --headless] [--ip 127.0.0.1] [--namespace default] [--log-level debug]
var options = new EmbeddedTemporalServerOptions { Port = 7233, UiPort = 8233, Namespaces = [] };
var logLevel = LogLevel.Information;
var namespaces = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "--port" when int.TryParse(value, out var port):
            options.Port = port;
            break;
        case "--ui-port" when int.TryParse(value, out var uiPort):
            options.UiPort = uiPort;
            break;
        case "--headless":
            options.Headless = true;
            continue;
        case "--ip" when IPAddress.TryParse(value, out var address):
            options.Address = address;
            break;
        case "--namespace" when value is not null:
            namespaces.Add(value);
            break;
        case "--log-level" when Enum.TryParse<LogLevel>(value, ignoreCase: true, out var level):
            logLevel = level;
            break;
        default:
            await Console.Error.WriteLineAsync($"Unknown or incomplete option '{args[i]}'. Usage: --port N [--ui-port N | --headless] [--ip ADDRESS] [--namespace NAME]... [--log-level LEVEL]");
            return 2;
    }

    i++;
}

options.Namespaces = namespaces.Count > 0 ? namespaces : ["default"];
using var loggerFactory = LoggerFactory.Create(logging => logging
    .AddSimpleConsole(console => console.SingleLine = true)
    .SetMinimumLevel(logLevel)
    .AddFilter("Microsoft", LogLevel.Warning)
    .AddFilter("Grpc", LogLevel.Warning)

    // A port in use is reported below in one line; the host would add a stack trace.
    .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None));
options.LoggerFactory = loggerFactory;
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
catch (IOException e)
{
    await Console.Error.WriteLineAsync($"Cannot listen on {options.Address}:{options.Port}{(options.UiPort is { } ui && !options.Headless ? $" and {ui}" : string.Empty)}: {e.Message}");
    return 1;
}

await using (server)
{
    loggerFactory.CreateLogger("Stateset.TemporalServer").LogInformation(
        "Embedded Temporal server listening on {Target} (namespaces: {Namespaces}); Ctrl-C stops it", server.Target, string.Join(", ", options.Namespaces));
    if (server.UiUrl is not null)
    {
        loggerFactory.CreateLogger("Stateset.TemporalServer").LogInformation(
            "{Ui}", server.UiUnavailableReason ?? $"Temporal UI at {server.UiUrl}");
    }

    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
        // Ctrl-C: fall through to a clean stop.
    }
}

return 0;

/// <summary>The server command; internal so it does not clash with the gateway's public Program in assemblies that reference both.</summary>
internal sealed partial class Program;

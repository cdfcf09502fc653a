using System.Globalization;
using System.Net;

namespace Stateset.TemporalServer;

/// <summary>What the server's command line asks for.</summary>
/// <param name="Options">The server to start.</param>
/// <param name="LogLevel">The lowest level logged.</param>
/// <param name="JsonLogs">Whether logs are JSON lines (<c>--log-format json</c>) rather than plain lines.</param>
/// <param name="ExitWithParent">Whether the server stops when the process that launched it is gone (test-server form).</param>
/// <param name="IgnoredSettings">Settings accepted for compatibility that change nothing, to be logged.</param>
internal sealed record ServerCommand(
    EmbeddedTemporalServerOptions Options, LogLevel LogLevel, bool JsonLogs, bool ExitWithParent, IReadOnlyList<string> IgnoredSettings);

/// <summary>
/// Reads the three forms the server is launched with: Temporal CLI's <c>server start-dev [flags]</c> (what the SDK's
/// <c>WorkflowEnvironment.StartLocalAsync</c> passes to an existing binary), the same flags alone (the original form),
/// and Temporal test server's <c>&lt;port&gt; [--enable-time-skipping]</c> (plus our <c>--ui-port N</c>) (what <c>StartTimeSkippingAsync</c> passes).
/// </summary>
internal static class ServerCommandLine
{
    public const string Usage =
        "Usage: server start-dev [--port N] [--ip ADDRESS] [--namespace NAME]... [--db-filename FILE] [--ui-port N | --headless]\n" +
        "         [--log-level debug|info|warn|error|never] [--log-format pretty|json] [--dynamic-config-value KEY=VALUE]...\n" +
        "       --port N [same flags]              (dev server, real clock)\n" +
        "       <port> [--enable-time-skipping] [--ui-port N]   (time-skipping test server with the TestService API)";

    /// <summary>Dynamic config keys whose setting the server already behaves as if given, so they need no warning.</summary>
    private static readonly HashSet<string> BuiltInBehaviour = new(StringComparer.OrdinalIgnoreCase)
    {
        "frontend.enableUpdateWorkflowExecution",
        "frontend.enableUpdateWorkflowExecutionAsyncAccepted",
        "frontend.enableExecuteMultiOperation",
        "frontend.enableServerVersionCheck",
        "system.forceSearchAttributesCacheRefreshOnRead",
    };

    /// <summary>Flags of <c>temporal server start-dev</c> that take a value and mean nothing here.</summary>
    private static readonly HashSet<string> IgnoredValueFlags = new(StringComparer.Ordinal)
    {
        "--search-attribute", "--sqlite-pragma", "--metrics-port", "--http-port", "--ui-ip", "--ui-public-path",
        "--ui-asset-path", "--ui-codec-endpoint", "--log-config", "--config", "-c",
    };

    /// <summary>Parses <paramref name="args"/>; a <see cref="FormatException"/> carries the one line to show the user.</summary>
    public static ServerCommand Parse(IReadOnlyList<string> args)
    {
        if (args.Count > 0 && int.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out var testPort))
        {
            return ParseTestServer(testPort, args.Skip(1).ToList());
        }

        var flags = args.Count >= 2 && args[0] == "server" && args[1] == "start-dev" ? args.Skip(2).ToList() : args.ToList();
        return ParseDevServer(flags);
    }

    private static ServerCommand ParseTestServer(int port, List<string> extra)
    {
        RequirePort(port, "<port>");
        var locked = true;
        int? uiPort = null;
        for (var i = 0; i < extra.Count; i++)
        {
            if (extra[i].Equals("--enable-time-skipping", StringComparison.OrdinalIgnoreCase))
            {
                locked = false;
            }

            // Not a flag of Temporal's test server: ours can also serve the Web UI, which the end-to-end system's
            // browser tests read while its clock is skipped.
            else if (extra[i] == "--ui-port")
            {
                uiPort = ++i < extra.Count ? ReadPort(extra[i], "--ui-port") : throw new FormatException("Option '--ui-port' needs a value.");
            }
            else
            {
                throw new FormatException($"Unknown test server flag '{extra[i]}' (only --enable-time-skipping and --ui-port N are known).");
            }
        }

        var options = new EmbeddedTemporalServerOptions
        {
            Port = port,
            TimeSkipping = true,
            AutoTimeSkipping = AutoTimeSkipping.WheneverIdle,
            StartTimeSkippingLocked = locked,
            UiPort = uiPort,
            Headless = uiPort is null,
        };
        return new ServerCommand(options, LogLevel.Warning, JsonLogs: false, ExitWithParent: true, []);
    }

    private static ServerCommand ParseDevServer(List<string> args)
    {
        var options = new EmbeddedTemporalServerOptions { Port = 7233, UiPort = 8233 };
        var namespaces = new List<string>();
        var ignored = new List<string>();
        var logLevel = LogLevel.Information;
        var json = false;
        for (var i = 0; i < args.Count; i++)
        {
            var flag = args[i];
            string? inline = null;
            if (flag.StartsWith("--", StringComparison.Ordinal) && flag.IndexOf('=', StringComparison.Ordinal) is var equals and > 0)
            {
                inline = flag[(equals + 1)..];
                flag = flag[..equals];
            }

            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                return ++i < args.Count ? args[i] : throw new FormatException($"Option '{flag}' needs a value.");
            }

            switch (flag)
            {
                case "--port" or "-p":
                    options.Port = ReadPort(Value(), flag);
                    break;
                case "--ip":
                    var ip = Value();
                    options.Address = ip == "localhost" ? IPAddress.Loopback
                        : IPAddress.TryParse(ip, out var address) ? address : throw new FormatException($"--ip '{ip}' is not an IP address.");
                    break;
                case "--namespace" or "-n":
                    namespaces.Add(Value());
                    break;
                case "--log-level":
                    logLevel = ReadLogLevel(Value());
                    break;
                case "--log-format":
                    var format = Value();
                    json = format.Equals("json", StringComparison.OrdinalIgnoreCase) ? true
                        : format is "pretty" or "text" or "noop" ? false : throw new FormatException($"--log-format '{format}' is not json or pretty.");
                    break;
                case "--dynamic-config-value":
                    var setting = Value();
                    var key = setting.IndexOf('=', StringComparison.Ordinal) is var at and > 0
                        ? setting[..at]
                        : throw new FormatException($"--dynamic-config-value '{setting}' is not KEY=VALUE.");
                    if (!BuiltInBehaviour.Contains(key))
                    {
                        ignored.Add($"dynamic config {setting}");
                    }

                    break;
                case "--db-filename" or "-f":
                    options.DatabaseFile = Value();
                    break;
                case "--ui-port":
                    options.UiPort = ReadPort(Value(), flag);
                    break;
                case "--headless":
                    options.Headless = true;
                    break;
                default:
                    if (IgnoredValueFlags.Contains(flag))
                    {
                        ignored.Add($"{flag} {Value()}");
                        break;
                    }

                    throw new FormatException($"Unknown or incomplete option '{args[i]}'.");
            }
        }

        options.Namespaces = namespaces.Count > 0 ? namespaces.Distinct(StringComparer.Ordinal).ToList() : ["default"];
        return new ServerCommand(options, logLevel, json, ExitWithParent: false, ignored);
    }

    private static int ReadPort(string text, string flag)
    {
        var port = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : -1;
        RequirePort(port, flag);
        return port;
    }

    private static void RequirePort(int port, string flag)
    {
        if (port is < 0 or > 65535)
        {
            throw new FormatException($"{flag} must be a port number (0-65535).");
        }
    }

    private static LogLevel ReadLogLevel(string text) => text.ToUpperInvariant() switch
    {
        "DEBUG" => LogLevel.Debug,
        "INFO" => LogLevel.Information,
        "WARN" or "WARNING" => LogLevel.Warning,
        "ERROR" => LogLevel.Error,
        "FATAL" or "DPANIC" or "PANIC" => LogLevel.Critical,
        "NEVER" or "NONE" => LogLevel.None,
        _ => Enum.TryParse<LogLevel>(text, ignoreCase: true, out var level) ? level : throw new FormatException($"--log-level '{text}' is not debug, info, warn, error or never."),
    };
}

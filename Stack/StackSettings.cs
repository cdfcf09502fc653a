namespace Stateset.Stack;

/// <summary>What the stack starts and where; every value comes from an environment variable with a local default.</summary>
/// <param name="TemporalAddress"><c>TEMPORAL_ADDRESS</c>: use this Temporal server instead of starting one.</param>
/// <param name="TemporalNamespace"><c>TEMPORAL_NAMESPACE</c>.</param>
/// <param name="TemporalPort"><c>STATESET_TEMPORAL_PORT</c>: port of a Temporal the stack starts itself.</param>
/// <param name="TemporalUiPort"><c>STATESET_TEMPORAL_UI_PORT</c>: Temporal UI port when the temporal CLI serves one.</param>
/// <param name="PostgresConnectionString"><c>ConnectionStrings__Commerce</c>: use this database instead of a local cluster.</param>
/// <param name="PostgresPort"><c>STATESET_POSTGRES_PORT</c>: port of the local cluster.</param>
/// <param name="DataDirectory"><c>STATESET_DATA_DIR</c>: where the local cluster and dev Temporal keep their data.</param>
/// <param name="GatewayUrl"><c>STATESET_GATEWAY_URL</c>: where the gateway listens.</param>
/// <param name="SandboxPort"><c>STATESET_SANDBOX_PORT</c>: port of the payment provider and carrier sandboxes.</param>
/// <param name="LogLevel"><c>STATESET_LOG_LEVEL</c>: log level of the hosted services (Warning keeps the console readable).</param>
/// <param name="DashboardEnabled"><c>STATESET_DASHBOARD</c>: <c>off</c> starts no traces dashboard.</param>
/// <param name="DashboardPort"><c>STATESET_DASHBOARD_PORT</c>: port of the traces dashboard's pages.</param>
/// <param name="DashboardOtlpPort"><c>STATESET_DASHBOARD_OTLP_PORT</c>: port the dashboard receives OTLP (gRPC) on.</param>
public sealed record StackSettings(
    string? TemporalAddress,
    string TemporalNamespace,
    int TemporalPort,
    int TemporalUiPort,
    string? PostgresConnectionString,
    int PostgresPort,
    string DataDirectory,
    string GatewayUrl,
    int SandboxPort,
    string LogLevel,
    bool DashboardEnabled = true,
    int DashboardPort = 18888,
    int DashboardOtlpPort = 18889)
{
    /// <summary>Reads the settings from the process environment.</summary>
    public static StackSettings FromEnvironment()
    {
        static string? Read(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
        static int ReadPort(string name, int fallback) => Read(name) switch
        {
            null => fallback,
            var text when int.TryParse(text, out var port) && port is > 0 and < 65536 => port,
            var text => throw new StackStartException($"{name}='{text}' is not a port number (1-65535)."),
        };

        return new StackSettings(
            TemporalAddress: Read("TEMPORAL_ADDRESS"),
            TemporalNamespace: Read("TEMPORAL_NAMESPACE") ?? "default",
            TemporalPort: ReadPort("STATESET_TEMPORAL_PORT", 7233),
            TemporalUiPort: ReadPort("STATESET_TEMPORAL_UI_PORT", 8233),
            PostgresConnectionString: Read("ConnectionStrings__Commerce"),
            PostgresPort: ReadPort("STATESET_POSTGRES_PORT", 55432),
            DataDirectory: Path.GetFullPath(Read("STATESET_DATA_DIR") ?? ".data"),
            GatewayUrl: Read("STATESET_GATEWAY_URL") ?? "http://127.0.0.1:5080",
            SandboxPort: ReadPort("STATESET_SANDBOX_PORT", 5090),
            LogLevel: Read("STATESET_LOG_LEVEL") ?? "Warning",
            DashboardEnabled: Read("STATESET_DASHBOARD") is not ("off" or "false" or "0"),
            DashboardPort: ReadPort("STATESET_DASHBOARD_PORT", 18888),
            DashboardOtlpPort: ReadPort("STATESET_DASHBOARD_OTLP_PORT", 18889));
    }
}

/// <summary>The stack cannot start; the message is the one line the user sees.</summary>
public sealed class StackStartException(string message) : Exception(message);

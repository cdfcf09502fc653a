using System.Net;

namespace Stateset.Stack.Tests;

/// <summary>
/// The README's first command as a newcomer runs it: everything comes up on embedded defaults, answers, and
/// Ctrl-C leaves no process or port behind; a wrong setting ends it with one clear line.
/// </summary>
public sealed class LocalStackTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "stateset-stack-" + Guid.NewGuid().ToString("N"));
    private readonly int _sandboxPort = StackProcess.FreePort();
    private readonly int _temporalUiPort = StackProcess.FreePort();
    private readonly int _dashboardPort = StackProcess.FreePort();
    private readonly int _dashboardOtlpPort = StackProcess.FreePort();

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Run_EmbeddedDefaults_ServesGatewayTemporalUiAndTracesDashboard_AndCtrlCLeavesNothingBehind()
    {
        var ports = new { Temporal = StackProcess.FreePort(), Postgres = StackProcess.FreePort(), Gateway = StackProcess.FreePort() };
        await using var stack = StackProcess.Start(Environment(ports.Temporal, ports.Postgres, ports.Gateway));

        await stack.WaitUntilReadyAsync(TimeSpan.FromSeconds(120));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports.Gateway}") };
        var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
        var body = await ready.Content.ReadAsStringAsync();
        Assert.True(ready.StatusCode == HttpStatusCode.OK, body);
        Assert.Contains($"http://127.0.0.1:{ports.Gateway}/docs", stack.Output, StringComparison.Ordinal);
        Assert.Contains("embedded Temporal-compatible server", stack.Output, StringComparison.Ordinal);
        var adminKey = (await File.ReadAllTextAsync(Path.Combine(_dataDirectory, "admin-api-key"))).Trim();
        Assert.Contains(adminKey, stack.Output, StringComparison.Ordinal);
        http.DefaultRequestHeaders.Add("X-Api-Key", adminKey);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/api-keys", UriKind.Relative))).StatusCode);

        // The developer's two views: the Temporal UI (its settings come from the embedded server) and the traces dashboard.
        var temporalUi = $"http://127.0.0.1:{_temporalUiPort}";
        Assert.Contains($"Temporal UI    {temporalUi}", stack.Output, StringComparison.Ordinal);
        using var ui = new HttpClient { BaseAddress = new Uri(temporalUi) };
        Assert.Contains("\"DefaultNamespace\":\"default\"", await ui.GetStringAsync(new Uri("/api/v1/settings", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await ui.GetAsync(new Uri("/namespaces/default/workflows", UriKind.Relative))).StatusCode);
        var dashboard = $"http://127.0.0.1:{_dashboardPort}";
        Assert.Contains($"Traces         {dashboard}", stack.Output, StringComparison.Ordinal);
        using var traces = new HttpClient { BaseAddress = new Uri(dashboard) };
        Assert.Equal(HttpStatusCode.OK, (await traces.GetAsync(new Uri("/traces", UriKind.Relative))).StatusCode);

        var exitCode = await stack.InterruptAsync(TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 0, stack.Output);
        Assert.False(StackProcess.IsListening(ports.Temporal), "Temporal port still open");
        Assert.False(StackProcess.IsListening(ports.Postgres), "PostgreSQL port still open");
        Assert.False(StackProcess.IsListening(ports.Gateway), "gateway port still open");
        Assert.False(StackProcess.IsListening(_sandboxPort), "sandbox port still open");
        Assert.False(StackProcess.IsListening(_temporalUiPort), "Temporal UI port still open");
        Assert.False(StackProcess.IsListening(_dashboardPort), "dashboard port still open");
        Assert.False(StackProcess.IsListening(_dashboardOtlpPort), "dashboard OTLP port still open");
        Assert.False(File.Exists(Path.Combine(_dataDirectory, "postgres", "data", "postmaster.pid")), "PostgreSQL still running");
    }

    [Fact]
    public async Task Run_UnreachableTemporalAddress_FailsWithOneLine()
    {
        var environment = Environment(StackProcess.FreePort(), StackProcess.FreePort(), StackProcess.FreePort());
        environment["TEMPORAL_ADDRESS"] = $"127.0.0.1:{StackProcess.FreePort()}";
        await using var stack = StackProcess.Start(environment);

        var exitCode = await stack.WaitForExitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(1, exitCode);
        var errors = ErrorLines(stack.Output);
        Assert.Single(errors);
        Assert.Contains("Cannot reach Temporal at", errors[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stack.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_BadConnectionString_FailsWithOneLine()
    {
        var environment = Environment(StackProcess.FreePort(), StackProcess.FreePort(), StackProcess.FreePort());
        environment["ConnectionStrings__Commerce"] = $"Host=127.0.0.1;Port={StackProcess.FreePort()};Username=nobody;Database=none";
        await using var stack = StackProcess.Start(environment);

        var exitCode = await stack.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        var errors = ErrorLines(stack.Output);
        Assert.Single(errors);
        Assert.Contains("Cannot connect to PostgreSQL with ConnectionStrings__Commerce", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_GatewayPortInUse_FailsWithOneLine_AndStopsWhatItStarted()
    {
        using var blocker = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var gatewayPort = ((IPEndPoint)blocker.LocalEndpoint).Port;
        var postgresPort = StackProcess.FreePort();
        var temporalPort = StackProcess.FreePort();
        await using var stack = StackProcess.Start(Environment(temporalPort, postgresPort, gatewayPort));

        var exitCode = await stack.WaitForExitAsync(TimeSpan.FromSeconds(120));

        Assert.Equal(1, exitCode);
        var errors = ErrorLines(stack.Output);
        Assert.Single(errors);
        Assert.Contains($"Port {gatewayPort} is already in use", errors[0], StringComparison.Ordinal);
        Assert.False(StackProcess.IsListening(postgresPort), "PostgreSQL left running after a failed start");
        Assert.False(StackProcess.IsListening(temporalPort), "Temporal left running after a failed start");
        Assert.False(StackProcess.IsListening(_dashboardPort), "the dashboard left running after a failed start");
    }

    private static List<string> ErrorLines(string output) =>
        output.Split('\n').Where(line => line.StartsWith("error:", StringComparison.Ordinal)).ToList();

    private Dictionary<string, string> Environment(int temporalPort, int postgresPort, int gatewayPort) => new()
    {
        ["STATESET_TEMPORAL_PORT"] = $"{temporalPort}",
        ["STATESET_POSTGRES_PORT"] = $"{postgresPort}",
        ["STATESET_GATEWAY_URL"] = $"http://127.0.0.1:{gatewayPort}",
        ["STATESET_DATA_DIR"] = _dataDirectory,
        ["STATESET_SANDBOX_PORT"] = $"{_sandboxPort}",
        ["STATESET_TEMPORAL_UI_PORT"] = $"{_temporalUiPort}",
        ["STATESET_DASHBOARD_PORT"] = $"{_dashboardPort}",
        ["STATESET_DASHBOARD_OTLP_PORT"] = $"{_dashboardOtlpPort}",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = string.Empty,
        ["TEMPORAL_ADDRESS"] = string.Empty,
        ["ConnectionStrings__Commerce"] = string.Empty,
        ["PATH"] = "/usr/local/bin:/usr/bin:/bin",
    };
}

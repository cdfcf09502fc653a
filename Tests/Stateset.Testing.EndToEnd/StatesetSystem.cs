using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Stateset.Sandboxes;
using Stateset.Worker;
using Temporalio.Extensions.Hosting;
using Temporalio.Testing;
using Xunit;

namespace Stateset.Testing.EndToEnd;

/// <summary>
/// The whole system on loopback: a real PostgreSQL, a time-skipping Temporal test server started through the SDK's
/// <see cref="WorkflowEnvironment"/> (the embedded server's executable unless <see cref="TemporalEnvironments"/> is told
/// otherwise, so long waits can be skipped with <see cref="WorkflowEnvironment.DelayAsync(TimeSpan, CancellationToken?)"/>), the payment and carrier
/// sandboxes, the real worker
/// (every workflow, every real activity, plus <see cref="ActivityFaults"/>) and the real gateway on a real port, so
/// the sandboxes' signed webhooks reach the gateway's callbacks exactly as they would in production.
/// </summary>
public class StatesetSystem : IAsyncLifetime
{
    /// <summary>The bootstrap admin key the gateway is configured with.</summary>
    public const string AdminKey = "ss_testadmin_0123456789abcdefghijklmnopqrstuvwxyzABCDEF";

    /// <summary>The secret the carriers sandbox signs tracking webhooks with.</summary>
    public const string CarrierSecret = "carrier-e2e-secret";

    /// <summary>The secret the payment sandbox signs its webhooks with.</summary>
    public const string PaymentSecret = "whsec_e2e";

    private readonly PostgresFixture _postgres = new();
    private readonly Dictionary<string, string?> _settings = new(StringComparer.Ordinal);
    private WorkflowEnvironment? _temporal;
    private SandboxHost? _sandboxes;
    private IHost? _worker;
    private WebApplicationFactory<Program>? _gateway;

    /// <summary>Gets the gateway's base address.</summary>
    public Uri GatewayAddress { get; private set; } = null!;

    /// <summary>Gets the payment and carrier sandboxes.</summary>
    public SandboxHost Sandboxes => _sandboxes!;

    /// <summary>Gets the gateway's services, for a test that replays what the gateway did before it crashed.</summary>
    public IServiceProvider GatewayServices => _gateway!.Services;

    /// <summary>Gets the running worker's services.</summary>
    public IServiceProvider WorkerServices => _worker!.Services;

    /// <summary>Gets the commerce database's connection string.</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>Gets the Temporal environment (client, virtual clock).</summary>
    public WorkflowEnvironment Temporal => _temporal!;

    /// <summary>Gets a client of the Temporal the system runs on.</summary>
    public Temporalio.Client.ITemporalClient TemporalClient => _temporal!.Client;

    /// <summary>Gets the Temporal UI: the embedded server's, or <c>TEMPORAL_UI_URL</c> beside <c>TEMPORAL_ADDRESS</c>.</summary>
    public Uri? TemporalUiAddress { get; private set; }

    /// <summary>Gets the task queue the worker polls and the gateway starts workflows on.</summary>
    public string TaskQueue { get; } = $"e2e-{Guid.NewGuid():N}";

    /// <summary>Gets the fault injector every activity of the worker runs through.</summary>
    public ActivityFaults Faults { get; } = new();

    /// <summary>Gets the names of every activity the worker registers (what a fault table must cover).</summary>
    public IReadOnlyList<string> RegisteredActivities { get; private set; } = [];

    /// <summary>Gets the names of every workflow the worker registers.</summary>
    public IReadOnlyList<string> RegisteredWorkflows { get; private set; } = [];

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        (_temporal, TemporalUiAddress) = await StartTemporalAsync();
        ConnectionString = await _postgres.CreateMigratedDatabaseAsync();
        var gatewayPort = FreePort();
        GatewayAddress = new Uri($"http://127.0.0.1:{gatewayPort}/");
        _sandboxes = await SandboxHost.StartAsync(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sandboxes:PaymentProvider:WebhookUrl"] = new Uri(GatewayAddress, "callbacks/payments").ToString(),
            ["Sandboxes:PaymentProvider:WebhookSecret"] = PaymentSecret,
            ["Sandboxes:PaymentProvider:SettleDelay"] = "00:00:00",
            ["Sandboxes:CarrierSandbox:WebhookUrl"] = new Uri(GatewayAddress, "callbacks/carriers").ToString(),
            ["Sandboxes:CarrierSandbox:WebhookSecret"] = CarrierSecret,
        }).Build());

        _settings["ConnectionStrings:Commerce"] = ConnectionString;
        _settings["TEMPORAL_ADDRESS"] = _temporal.Client.Connection.Options.TargetHost;
        _settings["TEMPORAL_NAMESPACE"] = _temporal.Client.Options.Namespace;
        _settings["TEMPORAL_TASK_QUEUE"] = TaskQueue;
        _settings["Temporal:UiUrl"] = TemporalUiAddress?.ToString();
        _settings["PaymentProvider:BaseUrl"] = _sandboxes.PaymentProviderBaseAddress.ToString();
        _settings["PaymentProvider:WebhookSecret"] = PaymentSecret;
        _settings["Shipping:WebhookSecret"] = CarrierSecret;
        _settings["Gateway:AdminKey"] = AdminKey;
        _settings["Logging:LogLevel:Default"] = "Warning";

        // A worker stopped by a test lets running attempts go at once: what is tested is a worker that disappears.
        _settings["Worker:GracefulShutdownSeconds"] = "1";
        // One quick retry inside an attempt: the workflow's own retries are what the tests watch, and the client's
        // default (three retries with seconds of backoff per attempt) would make a failing carrier take minutes.
        _settings["Shipping:Resilience:Retry:MaxRetryAttempts"] = "1";
        _settings["Shipping:Resilience:Retry:Delay"] = "00:00:00.050";
        foreach (var carrier in new[] { "ridgeline", "swiftair", "maplepost" })
        {
            _settings[$"Shipping:Carriers:{carrier}:BaseUrl"] = new Uri(_sandboxes.BaseAddress, $"carriers/{carrier}/").ToString();
        }

        await StartWorkerAsync();

        _gateway = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            foreach (var (key, value) in _settings)
            {
                web.UseSetting(key, value);
            }
        });
        _gateway.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, gatewayPort));
        _gateway.StartServer();
    }

    /// <summary>A client of the real gateway over real HTTP, with a fresh API key holding <paramref name="scopes"/>.</summary>
    public async Task<HttpClient> ClientAsync(params string[] scopes)
    {
        using var admin = new HttpClient { BaseAddress = GatewayAddress };
        admin.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = $"e2e-{string.Join("-", scopes)}", scopes });
        created.EnsureSuccessStatusCode();
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        var client = new HttpClient { BaseAddress = GatewayAddress };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    /// <summary>
    /// Stops the worker (running attempts are abandoned, as when its process dies) and starts a fresh one on the
    /// same task queue.
    /// </summary>
    public async Task RestartWorkerAsync()
    {
        await StopWorkerAsync();
        await StartWorkerAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        Faults.ReleaseHolds();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        await StopWorkerAsync();
        if (_sandboxes is not null)
        {
            await _sandboxes.DisposeAsync();
        }

        if (_temporal is not null)
        {
            await _temporal.DisposeAsync();
        }

        await StopTemporalAsync();
        await _postgres.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops what <see cref="StartTemporalAsync"/> started beside its environment, once everything using it has stopped.</summary>
    protected virtual Task StopTemporalAsync() => Task.CompletedTask;

    /// <summary>
    /// Starts the Temporal the system runs on and answers it with its UI's address, if it serves one. Here a
    /// time-skipping test server rather than a dev server: the clock scenarios skip days. The embedded server's
    /// executable also serves the Temporal UI (for the UI's browser tests) when given a port, which Temporal's own test
    /// server cannot.
    /// </summary>
    protected virtual async Task<(WorkflowEnvironment Temporal, Uri? Ui)> StartTemporalAsync()
    {
        var launchesUi = Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS") is not { Length: > 0 } && TemporalEnvironments.LaunchesEmbeddedServer(timeSkipping: true);
        var uiPort = 0;

        // A port picked once and kept across retried launches could be taken meanwhile, failing every later attempt.
        IReadOnlyList<string> UiArgs()
        {
            uiPort = FreePort();
            return ["--ui-port", $"{uiPort}"];
        }

        var temporal = await TemporalEnvironments.StartTimeSkippingAsync(launchesUi ? UiArgs : null);
        var ui = launchesUi ? new Uri($"http://127.0.0.1:{uiPort}") :
            Environment.GetEnvironmentVariable("TEMPORAL_UI_URL") is { Length: > 0 } url ? new Uri(url) : null;
        return (temporal, ui);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StartWorkerAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(_settings);
        builder.AddWorker();

        // Runs after the worker's own configuration (activities, workflows, limits), so the product's interceptors
        // stay, this one comes last, and the lists it reads are the ones the worker will register.
        builder.Services.ConfigureAll<TemporalWorkerServiceOptions>(options =>
        {
            options.Interceptors = [.. options.Interceptors ?? [], Faults];
            RegisteredActivities = options.Activities.Select(a => a.Name!).Order(StringComparer.Ordinal).ToList();
            RegisteredWorkflows = options.Workflows.Select(w => w.Name!).Order(StringComparer.Ordinal).ToList();
        });
        var worker = builder.Build();
        await worker.StartAsync();
        _worker = worker;
    }

    private async Task StopWorkerAsync()
    {
        if (_worker is null)
        {
            return;
        }

        var worker = _worker;
        _worker = null;

        // A held attempt never ends, so the host's stop gives up on the worker after its shutdown timeout.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await worker.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Abandoned, as a killed process would be.
        }

        worker.Dispose();
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Stateset.Sandboxes;
using Stateset.TemporalServer.Testing;
using Stateset.Testing;
using Stateset.Worker;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The whole system on loopback: a real PostgreSQL, the embedded Temporal, the payment and carrier sandboxes,
/// the real worker (every workflow, every real activity) and the real gateway on a real port, so the
/// sandboxes' signed webhooks reach the gateway's callbacks exactly as they would in production.
/// </summary>
public sealed class EndToEndFixture : IAsyncLifetime
{
    /// <summary>The secret the carriers sandbox signs tracking webhooks with.</summary>
    public const string CarrierSecret = "carrier-e2e-secret";
    private const string PaymentSecret = "whsec_e2e";
    private readonly PostgresFixture _postgres = new();
    private TemporalTestEnvironment? _temporal;
    private SandboxHost? _sandboxes;
    private IHost? _worker;
    private WebApplicationFactory<Program>? _gateway;

    public Uri GatewayAddress { get; private set; } = null!;

    public SandboxHost Sandboxes => _sandboxes!;

    /// <summary>Gets the gateway's services, for a test that replays what the gateway did before it crashed.</summary>
    public IServiceProvider GatewayServices => _gateway!.Services;

    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>Gets the Temporal UI: the embedded server's, or <c>TEMPORAL_UI_URL</c> beside <c>TEMPORAL_ADDRESS</c>.</summary>
    public Uri? TemporalUiAddress { get; private set; }

    /// <summary>Gets a client of the Temporal the system runs on.</summary>
    public Temporalio.Client.ITemporalClient TemporalClient => _temporal!.Client;

    /// <summary>Gets the task queue the worker polls.</summary>
    public string TaskQueue { get; } = $"e2e-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        // The embedded server serves the Temporal UI on a free port for the UI's browser tests.
        _temporal = await TemporalTestEnvironment.StartAsync(new TemporalServer.EmbeddedTemporalServerOptions { TimeSkipping = true, UiPort = 0 });
        TemporalUiAddress = _temporal.Server?.UiUrl ??
            (Environment.GetEnvironmentVariable("TEMPORAL_UI_URL") is { Length: > 0 } ui ? new Uri(ui) : null);
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

        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Commerce"] = ConnectionString,
            ["TEMPORAL_ADDRESS"] = _temporal.Client.Connection.Options.TargetHost,
            ["TEMPORAL_NAMESPACE"] = _temporal.Client.Options.Namespace,
            ["TEMPORAL_TASK_QUEUE"] = TaskQueue,
            ["Temporal:UiUrl"] = TemporalUiAddress?.ToString(),
            ["PaymentProvider:BaseUrl"] = _sandboxes.PaymentProviderBaseAddress.ToString(),
            ["PaymentProvider:WebhookSecret"] = PaymentSecret,
            ["Shipping:WebhookSecret"] = CarrierSecret,
            ["Gateway:AdminKey"] = GatewayFixture.AdminKey,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var carrier in new[] { "ridgeline", "swiftair", "maplepost" })
        {
            settings[$"Shipping:Carriers:{carrier}:BaseUrl"] = new Uri(_sandboxes.BaseAddress, $"carriers/{carrier}/").ToString();
        }

        var worker = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        worker.Configuration.AddInMemoryCollection(settings);
        worker.AddWorker();
        _worker = worker.Build();
        await _worker.StartAsync();

        _gateway = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            foreach (var (key, value) in settings)
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
        admin.DefaultRequestHeaders.Add("X-Api-Key", GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = $"e2e-{string.Join("-", scopes)}", scopes });
        created.EnsureSuccessStatusCode();
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        var client = new HttpClient { BaseAddress = GatewayAddress };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_worker is not null)
        {
            await _worker.StopAsync();
            _worker.Dispose();
        }

        if (_sandboxes is not null)
        {
            await _sandboxes.DisposeAsync();
        }

        if (_temporal is not null)
        {
            await _temporal.DisposeAsync();
        }

        await _postgres.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<EndToEndFixture>
{
    public const string Name = "end-to-end";
}

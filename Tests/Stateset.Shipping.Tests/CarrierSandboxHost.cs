using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stateset.Activities.Shipping;
using Stateset.Sandboxes.Carriers;

namespace Stateset.Shipping.Tests;

/// <summary>A received webhook: its raw body and signature header.</summary>
public sealed record ReceivedWebhook(string Body, string? Signature);

/// <summary>
/// The carriers sandbox on a loopback port of its own (so tests can inject faults without disturbing each other),
/// with a webhook receiver on the same host that records what the sandbox sends.
/// </summary>
public sealed class CarrierSandboxHost : IAsyncDisposable
{
    public const string WebhookSecret = "test-webhook-secret";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received;

    private CarrierSandboxHost(WebApplication app, ConcurrentQueue<ReceivedWebhook> received)
    {
        _app = app;
        _received = received;
        BaseAddress = new Uri(app.Urls.Single());
    }

    public Uri BaseAddress { get; }

    public CarrierSandboxState State => _app.Services.GetRequiredService<CarrierSandboxState>();

    public IReadOnlyList<ReceivedWebhook> ReceivedWebhooks => [.. _received];

    public static async Task<CarrierSandboxHost> StartAsync(string? apiKey = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddCarrierSandbox();
        builder.Services.Configure<CarrierSandboxOptions>(options =>
        {
            options.WebhookSecret = WebhookSecret;
            options.ApiKey = apiKey;
        });
        var app = builder.Build();
        app.MapCarrierSandbox();
        var received = new ConcurrentQueue<ReceivedWebhook>();
        app.MapPost("/test/webhooks", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            received.Enqueue(new ReceivedWebhook(await reader.ReadToEndAsync(), request.Headers[CarrierWebhookSignature.HeaderName]));
            return Results.NoContent();
        });
        await app.StartAsync();

        // The port is known only once started; the options instance is a singleton, so setting it now takes effect.
        var host = new CarrierSandboxHost(app, received);
        app.Services.GetRequiredService<IOptions<CarrierSandboxOptions>>().Value.WebhookUrl = new Uri(host.BaseAddress, "/test/webhooks");
        return host;
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress };

    /// <summary>Back to a healthy sandbox with no calls counted and no webhooks received, for the next test.</summary>
    public void Reset()
    {
        State.Reset();
        _received.Clear();
    }

    /// <summary>
    /// The shipping services as the worker registers them, pointed at this sandbox, with retries that do not wait
    /// (the tests prove the retries happen, not their pacing).
    /// </summary>
    public ServiceProvider CreateShippingServices(Action<IServiceCollection>? configure = null, params string[] carriers) =>
        CreateShippingServices(new Dictionary<string, string?>(), configure, carriers);

    /// <inheritdoc cref="CreateShippingServices(Action{IServiceCollection}?, string[])"/>
    public ServiceProvider CreateShippingServices(Dictionary<string, string?> settings, Action<IServiceCollection>? configure = null, params string[] carriers)
    {
        settings.TryAdd("Shipping:Resilience:Retry:Delay", "00:00:00");
        settings.TryAdd("Shipping:Resilience:Retry:MaxRetryAttempts", "2");
        foreach (var carrier in carriers.Length > 0 ? carriers : [.. SandboxCarrier.All.Select(c => c.Code)])
        {
            settings[$"Shipping:Carriers:{carrier}:BaseUrl"] = new Uri(BaseAddress, $"/carriers/{carrier}/").ToString();
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddShippingActivities(configuration);
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One sandbox per test class (starting one costs a few hundred milliseconds); each test starts from a reset.</summary>
public sealed class SharedCarrierSandbox : IAsyncLifetime
{
    private CarrierSandboxHost? _host;

    public CarrierSandboxHost Host => _host ?? throw new InvalidOperationException("The sandbox has not started.");

    public async Task InitializeAsync() => _host = await CarrierSandboxHost.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

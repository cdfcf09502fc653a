using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Stateset.Sandboxes.Carriers;
using Stateset.Sandboxes.PaymentProvider;

namespace Stateset.Sandboxes;

/// <summary>
/// A web server on loopback hosting every sandbox under one base address: the payment provider at
/// <c>/psp/v1/</c> and the carriers under <c>/carriers/</c>, with their OpenAPI document at <c>/openapi/v1.json</c>. Configuration lives under <c>Sandboxes</c>:
/// <c>Sandboxes:Port</c> (0 picks a free port) and one section per sandbox.
/// </summary>
public sealed class SandboxHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SandboxHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>Gets the address every sandbox is served under, ending in '/'.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Gets the payment provider's API base address (what <c>PaymentProvider:BaseUrl</c> should be).</summary>
    public Uri PaymentProviderBaseAddress => new(BaseAddress, "psp/v1/");

    /// <summary>Gets the host's services (tests reach the sandboxes' state through them).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the sandboxes.</summary>
    /// <param name="configuration">Settings under <c>Sandboxes</c>; none gives the defaults.</param>
    /// <param name="configureApp">Adds endpoints next to the sandboxes, e.g. a test's webhook receiver.</param>
    /// <param name="configureServices">Adds or replaces services, e.g. the host lifetime when another process owns Ctrl-C.</param>
    /// <param name="ct">Cancels start-up.</param>
    public static async Task<SandboxHost> StartAsync(
        IConfiguration? configuration = null,
        Action<WebApplication>? configureApp = null,
        Action<IServiceCollection>? configureServices = null,
        CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (configuration is not null)
        {
            builder.Configuration.AddConfiguration(configuration);
        }

        configureServices?.Invoke(builder.Services);

        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var port = builder.Configuration.GetValue("Sandboxes:Port", 0);
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Services.AddPaymentProviderSandbox(builder.Configuration.GetSection("Sandboxes:PaymentProvider"));
        builder.Services.AddCarrierSandbox(builder.Configuration.GetSection($"Sandboxes:{CarrierSandboxOptions.Section}"));
        builder.Services.AddOpenApi();

        var app = builder.Build();
        MapSandboxes(app);
        configureApp?.Invoke(app);
        await app.StartAsync(ct);

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new SandboxHost(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>Blocks until the process is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static void MapSandboxes(WebApplication app)
    {
        app.MapPaymentProviderSandbox();
        app.MapCarrierSandbox();

        // The controls (faults, tracking events) are how a person drives the sandboxes; the document lists them.
        app.MapOpenApi();
    }
}

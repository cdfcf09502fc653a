using System.Diagnostics;
using System.Net;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Stateset.TemporalServer.Engine;
using Stateset.TemporalServer.Hosting;
using Stateset.TemporalServer.HttpApi;

namespace Stateset.TemporalServer;

/// <summary>
/// A server speaking Temporal's gRPC API, so the real Temporalio client and worker run against it unchanged.
/// A development and test engine (like Temporal's own dev and test servers): state lives in memory, or in a SQLite file
/// that outlives the process when <see cref="EmbeddedTemporalServerOptions.DatabaseFile"/> is set.
/// </summary>
public sealed class EmbeddedTemporalServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TemporalEngine _engine;

    private EmbeddedTemporalServer(WebApplication app, TemporalEngine engine, IPAddress address, int port, int? uiPort)
    {
        _app = app;
        _engine = engine;
        Port = port;
        Target = $"{address}:{port}";
        if (uiPort is { } ui)
        {
            var host = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : address.ToString();
            UiUrl = new Uri($"http://{(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && host != "127.0.0.1" ? $"[{host}]" : host)}:{ui}");
        }
    }

    /// <summary>Gets the address to pass to <c>TemporalClient.ConnectAsync</c>, e.g. "127.0.0.1:7233".</summary>
    public string Target { get; }

    /// <summary>Gets the port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Gets the address of the Temporal Web UI and its <c>/api/v1</c> HTTP API; null when no UI port was asked for.</summary>
    public Uri? UiUrl { get; }

    /// <summary>
    /// Gets one line saying why the UI's pages are not served (it was built without Node.js/npm) and what to install;
    /// null when they are, or when no UI port was asked for. The HTTP API answers either way.
    /// </summary>
    public string? UiUnavailableReason => UiUrl is not null && !TemporalUiHost.AssetsBuilt ? TemporalUiHost.UnavailableMessage : null;

    /// <summary>Gets a value indicating whether the server runs on a virtual, skipping clock.</summary>
    public bool TimeSkipping => _engine.TimeSkipping;

    /// <summary>Gets the server's current time (virtual in time-skipping mode).</summary>
    public DateTimeOffset CurrentTime => _engine.Now;

    /// <summary>Gets the engine, for tests that look at what it holds.</summary>
    internal TemporalEngine Engine => _engine;

    /// <summary>Starts a server; fails with an <see cref="IOException"/> when the port is taken.</summary>
    public static async Task<EmbeddedTemporalServer> StartAsync(EmbeddedTemporalServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        if (options.DatabaseFile is not null && options.TimeSkipping)
        {
            throw new ArgumentException("A time-skipping server keeps no file: its virtual clock means nothing after a restart.", nameof(options));
        }

        var store = options.DatabaseFile is { } file ? RunStore.Open(file) : null;
        TemporalEngine engine;
        try
        {
            engine = new TemporalEngine(
                options.TimeSkipping, options.AutoTimeSkipping, options.StartTimeSkippingLocked, options.Namespaces, loggerFactory.CreateLogger("Stateset.TemporalServer"), store);
        }
        catch
        {
            store?.Dispose();
            throw;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        var uiPort = options.Headless ? null : options.UiPort;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(options.Address, options.Port, listen => listen.Protocols = HttpProtocols.Http2);
            if (uiPort is { } ui)
            {
                // Browsers speak HTTP/1.1 to a plain-text port; gRPC keeps its h2c port.
                kestrel.Listen(options.Address, ui, listen => listen.Protocols = HttpProtocols.Http1);
            }

            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
        });
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = 128 * 1024 * 1024;
            grpc.MaxSendMessageSize = null;
        });
        builder.Services.AddSingleton(engine);
        builder.Services.AddSingleton<WorkflowServiceEndpoint>();
        builder.Services.AddSingleton<OperatorServiceEndpoint>();
        builder.Services.AddSingleton<IServiceMethodProvider<WorkflowServiceEndpoint>>(new GrpcServiceBinder<WorkflowServiceEndpoint>(
            "temporal.api.workflowservice.v1.WorkflowService", loggerFactory, engine.WhenDurableAsync));
        builder.Services.AddSingleton<IServiceMethodProvider<OperatorServiceEndpoint>>(new GrpcServiceBinder<OperatorServiceEndpoint>(
            "temporal.api.operatorservice.v1.OperatorService", loggerFactory, engine.WhenDurableAsync));
        if (options.TimeSkipping)
        {
            builder.Services.AddSingleton<TestServiceEndpoint>();
            builder.Services.AddSingleton<IServiceMethodProvider<TestServiceEndpoint>>(new GrpcServiceBinder<TestServiceEndpoint>(
                "temporal.api.testservice.v1.TestService", loggerFactory, engine.WhenDurableAsync));
        }

        var app = builder.Build();
        app.Use(UnrecordedRequest);
        if (uiPort is not null)
        {
            var router = new HttpApiRouter(
                app.Services,
                engine.WhenDurableAsync,
                (Temporalio.Api.WorkflowService.V1.ServiceReflection.Descriptor.Services[0], typeof(WorkflowServiceEndpoint)),
                (Temporalio.Api.OperatorService.V1.ServiceReflection.Descriptor.Services[0], typeof(OperatorServiceEndpoint)));
            TemporalUiHost.Map(app, router, options.Namespaces.FirstOrDefault() ?? "default");
        }

        app.MapGrpcService<WorkflowServiceEndpoint>();
        app.MapGrpcService<OperatorServiceEndpoint>();
        if (options.TimeSkipping)
        {
            app.MapGrpcService<TestServiceEndpoint>();
        }

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            await engine.DisposeAsync();
            throw;
        }

        // Kestrel lists its addresses in the order they were configured: gRPC first, then the UI.
        var ports = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a).Port).ToList();
        return new EmbeddedTemporalServer(app, engine, options.Address, ports[0], uiPort is null ? null : ports[1]);
    }

    /// <summary>
    /// This server stands in for Temporal, whose own spans are no part of the product's traces. Where it shares a
    /// process with traced services (the one-command stack, the tests), every request it serves (worker long polls,
    /// the Temporal UI's pages, assets and API calls) would otherwise be exported as theirs.
    /// </summary>
    private static Task UnrecordedRequest(HttpContext http, RequestDelegate next)
    {
        if (Activity.Current is { } span)
        {
            span.IsAllDataRequested = false;
            span.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }

        return next(http);
    }

    /// <summary>Moves the virtual clock forward, firing every timer and timeout that falls due.</summary>
    /// <exception cref="InvalidOperationException">The server runs in dev mode on the real clock.</exception>
    public Task SkipAsync(TimeSpan duration)
    {
        _engine.Skip(duration);
        return Task.CompletedTask;
    }

    /// <summary>Stops the server; outstanding long polls end.</summary>
    public async ValueTask DisposeAsync()
    {
        // End long polls first so the web host's graceful stop does not wait for them.
        await _engine.StopAsync();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        await _engine.DisposeAsync();
    }
}

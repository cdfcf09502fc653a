using System.Net;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Stateset.TemporalServer.Engine;
using Stateset.TemporalServer.Hosting;

namespace Stateset.TemporalServer;

/// <summary>
/// An in-memory server speaking Temporal's gRPC API, so the real Temporalio client and worker run against it unchanged.
/// A development and test engine (like Temporal's own test server): state lives in memory and ends with the process.
/// </summary>
public sealed class EmbeddedTemporalServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TemporalEngine _engine;

    private EmbeddedTemporalServer(WebApplication app, TemporalEngine engine, IPAddress address, int port)
    {
        _app = app;
        _engine = engine;
        Port = port;
        Target = $"{address}:{port}";
    }

    /// <summary>Gets the address to pass to <c>TemporalClient.ConnectAsync</c>, e.g. "127.0.0.1:7233".</summary>
    public string Target { get; }

    /// <summary>Gets the port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Gets a value indicating whether the server runs on a virtual, skipping clock.</summary>
    public bool TimeSkipping => _engine.TimeSkipping;

    /// <summary>Gets the server's current time (virtual in time-skipping mode).</summary>
    public DateTimeOffset CurrentTime => _engine.Now;

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
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(options.Address, options.Port, listen => listen.Protocols = HttpProtocols.Http2);
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
            Temporalio.Api.WorkflowService.V1.ServiceReflection.Descriptor.Services[0], loggerFactory, engine.WhenDurableAsync));
        builder.Services.AddSingleton<IServiceMethodProvider<OperatorServiceEndpoint>>(new GrpcServiceBinder<OperatorServiceEndpoint>(
            Temporalio.Api.OperatorService.V1.ServiceReflection.Descriptor.Services[0], loggerFactory, engine.WhenDurableAsync));
        if (options.TimeSkipping)
        {
            builder.Services.AddSingleton<TestServiceEndpoint>();
            builder.Services.AddSingleton<IServiceMethodProvider<TestServiceEndpoint>>(new GrpcServiceBinder<TestServiceEndpoint>(
                Temporalio.Api.TestService.V1.ServiceReflection.Descriptor.Services[0], loggerFactory, engine.WhenDurableAsync));
        }

        var app = builder.Build();
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

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        return new EmbeddedTemporalServer(app, engine, options.Address, port);
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

using Temporalio.Client;

namespace Stateset.TemporalServer.Testing;

/// <summary>
/// A test environment in the style of Temporalio.Testing.WorkflowEnvironment: a real Temporal server when
/// <c>TEMPORAL_ADDRESS</c> is set (namespace from <c>TEMPORAL_NAMESPACE</c>, default "default"), else the embedded
/// server in time-skipping mode. Tests that need time skipping check <see cref="SupportsTimeSkipping"/>.
/// </summary>
public sealed class TemporalTestEnvironment : IAsyncDisposable
{
    private readonly EmbeddedTemporalServer? _server;

    private TemporalTestEnvironment(ITemporalClient client, EmbeddedTemporalServer? server)
    {
        Client = client;
        _server = server;
    }

    /// <summary>Gets a client connected to the environment's server.</summary>
    public ITemporalClient Client { get; }

    /// <summary>Gets the embedded server, or null when running against a real server.</summary>
    public EmbeddedTemporalServer? Server => _server;

    /// <summary>Gets a value indicating whether the server's clock can be skipped (the embedded server).</summary>
    public bool SupportsTimeSkipping => _server is not null;

    /// <summary>Starts the environment described in the class summary.</summary>
    public static async Task<TemporalTestEnvironment> StartAsync()
    {
        var address = Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS");
        if (!string.IsNullOrWhiteSpace(address))
        {
            var ns = Environment.GetEnvironmentVariable("TEMPORAL_NAMESPACE");
            var client = await TemporalClient.ConnectAsync(new(address) { Namespace = string.IsNullOrWhiteSpace(ns) ? "default" : ns });
            return new TemporalTestEnvironment(client, null);
        }

        var server = await EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { TimeSkipping = true });
        try
        {
            var client = await TemporalClient.ConnectAsync(new(server.Target) { Namespace = "default" });
            return new TemporalTestEnvironment(client, server);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits: skips the embedded server's virtual clock, or really waits on a real server.</summary>
    public Task DelayAsync(TimeSpan duration, CancellationToken cancellationToken = default) =>
        _server is not null ? _server.SkipAsync(duration) : Task.Delay(duration, cancellationToken);

    /// <summary>Gets the server's current time (virtual on the embedded server, the local clock otherwise).</summary>
    public Task<DateTimeOffset> CurrentTimeAsync() => Task.FromResult(_server?.CurrentTime ?? DateTimeOffset.UtcNow);

    /// <summary>Stops the embedded server, if one was started.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

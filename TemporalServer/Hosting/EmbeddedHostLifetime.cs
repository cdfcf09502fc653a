namespace Stateset.TemporalServer.Hosting;

/// <summary>
/// The server is hosted inside other programs, so it must not take over Ctrl-C and SIGTERM the way the default console
/// lifetime does; whoever owns the process stops the server by disposing it.
/// </summary>
internal sealed class EmbeddedHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

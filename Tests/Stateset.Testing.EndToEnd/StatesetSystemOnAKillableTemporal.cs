using Temporalio.Testing;

namespace Stateset.Testing.EndToEnd;

/// <summary>
/// The whole system on a Temporal dev server running as a process of its own on a database file (<c>--db-filename</c>),
/// so a test can kill it with SIGKILL while orders are in flight and start it again on the same file and port: the
/// worker, the gateway and the sandboxes keep running and reconnect, as they would to a production cluster that
/// restarted. Real time: a dev server has no virtual clock to skip. It always launches its own server (the embedded
/// one, or <c>STATESET_TEMPORAL_DEV_SERVER</c>), also when <c>TEMPORAL_ADDRESS</c> names a running Temporal, since no
/// test may kill a server it did not start.
/// </summary>
public sealed class StatesetSystemOnAKillableTemporal : StatesetSystem
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"stateset-e2e-{Guid.NewGuid():N}.db");
    private readonly int _port = TemporalServerProcess.FreePort();
    private TemporalServerProcess? _server;

    /// <summary>Kills the Temporal server at once (SIGKILL): nothing gets a chance to flush or answer.</summary>
    public async Task KillTemporalAsync() => await _server!.KillAsync();

    /// <summary>Starts the Temporal server again on the same file and port; its clients reconnect by themselves.</summary>
    public async Task StartTemporalAgainAsync()
    {
        await _server!.DisposeAsync();
        (_server, _) = await TemporalServerProcess.StartOnFileAsync(_file, _port);
    }

    /// <inheritdoc />
    protected override async Task<(WorkflowEnvironment Temporal, Uri? Ui)> StartTemporalAsync()
    {
        (_server, var client) = await TemporalServerProcess.StartOnFileAsync(_file, _port);
        return (new WorkflowEnvironment(client), null);
    }

    /// <inheritdoc />
    protected override async Task StopTemporalAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(_file + suffix);
        }
    }
}

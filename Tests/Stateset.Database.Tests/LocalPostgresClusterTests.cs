using Dapper;
using Npgsql;

namespace Stateset.Database.Tests;

public sealed class LocalPostgresClusterTests
{
    [Fact]
    public async Task KeptDataDirectory_SurvivesRestart()
    {
        var folder = Path.Combine(Path.GetTempPath(), "stateset-kept-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var first = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions(folder)))
            {
                await using var connection = new NpgsqlConnection(first.ConnectionString);
                await connection.ExecuteAsync("CREATE TABLE kept (value text); INSERT INTO kept VALUES ('still here')");
            }

            await using var second = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions(folder));
            await using var reopened = new NpgsqlConnection(second.ConnectionString);
            Assert.Equal("still here", await reopened.ExecuteScalarAsync<string>("SELECT value FROM kept"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task DataFolderUnderAPrivateFolder_FailsWithOneLineNamingItAndTheFix_WhenTheServerRunsAsPostgres()
    {
        var parent = Path.Combine(Path.GetTempPath(), "stateset-private-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(parent);
        File.SetUnixFileMode(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var start = LocalPostgresCluster.StartAsync(new LocalPostgresOptions(Path.Combine(parent, "data")));
            if (PostgresBinaries.Locate().RunAsUser is null)
            {
                // Not root: the server runs as the folder's owner, who can enter its own 0700 folder.
                await using var cluster = await start;
                Assert.NotEmpty(cluster.ConnectionString);
                return;
            }

            var refused = await Assert.ThrowsAsync<PostgresUnavailableException>(() => start);
            Assert.Contains($"cannot enter {parent} (mode 0700)", refused.Message, StringComparison.Ordinal);
            Assert.Contains($"chmod o+x {parent}", refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', refused.Message);
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public async Task Dispose_StopsServer_AndRemovesThrowawayFolder()
    {
        var cluster = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions());
        var connectionString = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Pooling = false, Timeout = 2 }.ConnectionString;

        await cluster.DisposeAsync();

        await using var connection = new NpgsqlConnection(connectionString);
        await Assert.ThrowsAsync<NpgsqlException>(() => connection.OpenAsync());
    }

    [Fact]
    public async Task PortInUse_FailsWithOneClearMessage()
    {
        using var blocker = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((System.Net.IPEndPoint)blocker.LocalEndpoint).Port;

        var error = await Assert.ThrowsAsync<PostgresUnavailableException>(
            () => LocalPostgresCluster.StartAsync(new LocalPostgresOptions(Port: port)));

        Assert.Contains($"port {port}", error.Message, StringComparison.Ordinal);
    }
}

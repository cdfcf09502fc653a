using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Stateset.Database;

/// <summary>Where and how a local cluster runs.</summary>
/// <param name="DataDirectory">
/// Folder kept across runs (the stack's), or null for a throwaway folder deleted on dispose (tests).
/// </param>
/// <param name="Port">Loopback port; 0 picks a free one.</param>
/// <param name="Durable">
/// False trades crash safety for speed (no fsync): right for throwaway test clusters, wrong for kept data.
/// </param>
public sealed record LocalPostgresOptions(string? DataDirectory = null, int Port = 0, bool Durable = false);

/// <summary>
/// A PostgreSQL cluster started from the machine's binaries on a loopback port, owned by this process:
/// disposing it stops the server (and deletes a throwaway data folder).
/// </summary>
public sealed class LocalPostgresCluster : IAsyncDisposable
{
    /// <summary>The database the product's schema lives in.</summary>
    public const string DatabaseName = "stateset";

    private readonly PostgresBinaries _binaries;
    private readonly string _dataDirectory;
    private readonly bool _throwaway;
    private bool _stopped;

    private LocalPostgresCluster(PostgresBinaries binaries, string dataDirectory, bool throwaway, int port)
    {
        _binaries = binaries;
        _dataDirectory = dataDirectory;
        _throwaway = throwaway;
        Port = port;
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = DatabaseName,
        }.ConnectionString;
    }

    /// <summary>Gets the port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Gets the connection string of the product's database.</summary>
    public string ConnectionString { get; }

    /// <summary>Initialises the cluster if its folder is new, starts it and creates the product's database.</summary>
    /// <exception cref="PostgresUnavailableException">The binaries are missing or the server cannot start.</exception>
    public static async Task<LocalPostgresCluster> StartAsync(LocalPostgresOptions options, CancellationToken ct = default)
    {
        var binaries = PostgresBinaries.Locate();
        var throwaway = options.DataDirectory is null;
        var root = options.DataDirectory ?? Path.Combine(Path.GetTempPath(), "stateset-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var dataDirectory = Path.Combine(Path.GetFullPath(root), "data");
        var port = options.Port == 0 ? FreeLoopbackPort() : options.Port;

        await binaries.PrepareDirectoryAsync(Path.GetFullPath(root), ct);
        var cluster = new LocalPostgresCluster(binaries, dataDirectory, throwaway, port);
        try
        {
            await cluster.InitialiseAsync(options.Durable, ct);
            await cluster.StartServerAsync(ct);
            await cluster.CreateDatabaseAsync(ct);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server (fast shutdown: open sessions are ended) and removes a throwaway folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        NpgsqlConnection.ClearAllPools();
        if (File.Exists(Path.Combine(_dataDirectory, "postmaster.pid")))
        {
            await _binaries.TryRunAsync("pg_ctl", ["stop", "-D", _dataDirectory, "-m", "fast", "-w", "-t", "30"], CancellationToken.None);
        }

        if (_throwaway)
        {
            TryDelete(Path.GetDirectoryName(_dataDirectory)!);
        }
    }

    /// <summary>
    /// Stops the server and keeps its data, as an outage would (fast shutdown: open sessions are ended);
    /// <see cref="StartServerAsync"/> brings it back on the same port. For tests of how the product rides out an outage.
    /// </summary>
    public async Task StopServerAsync(CancellationToken ct = default)
    {
        await _binaries.RunAsync("pg_ctl", ["stop", "-D", _dataDirectory, "-m", "fast", "-w", "-t", "30"], ct);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; failing the caller's dispose over it is not.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task InitialiseAsync(bool durable, CancellationToken ct)
    {
        if (File.Exists(Path.Combine(_dataDirectory, "PG_VERSION")))
        {
            return;
        }

        await _binaries.PrepareDirectoryAsync(_dataDirectory, ct);
        await _binaries.RunAsync(
            "initdb",
            ["-D", _dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"],
            ct);

        // Settings live in the cluster so a kept cluster restarts the same way without extra arguments.
        var settings = new List<string>
        {
            "listen_addresses = '127.0.0.1'",
            $"unix_socket_directories = '{_dataDirectory}'",
            "max_connections = 200",
        };
        if (!durable)
        {
            settings.AddRange(["fsync = off", "synchronous_commit = off", "full_page_writes = off"]);
        }

        await File.AppendAllLinesAsync(Path.Combine(_dataDirectory, "postgresql.conf"), settings, ct);
    }

    /// <summary>Starts the server on its port (stopping first a server a killed previous owner left running).</summary>
    /// <exception cref="PostgresUnavailableException">The server did not start.</exception>
    public async Task StartServerAsync(CancellationToken ct = default)
    {
        // A kept cluster whose previous owner was killed may still be running: stop it so we own this one.
        if (await _binaries.TryRunAsync("pg_ctl", ["status", "-D", _dataDirectory], ct) == 0)
        {
            await _binaries.TryRunAsync("pg_ctl", ["stop", "-D", _dataDirectory, "-m", "fast", "-w"], ct);
        }

        var log = Path.Combine(_dataDirectory, "server.log");
        try
        {
            await _binaries.RunAsync(
                "pg_ctl",
                ["start", "-D", _dataDirectory, "-l", log, "-w", "-t", "60", "-o", $"-p {Port}"],
                ct);
        }
        catch (PostgresCommandException)
        {
            var tail = File.Exists(log) ? (await File.ReadAllLinesAsync(log, CancellationToken.None)).TakeLast(3) : [];
            throw new PostgresUnavailableException(
                $"The local PostgreSQL server did not start on port {Port}: {string.Join(" ", tail).Trim()}");
        }
    }

    private async Task CreateDatabaseAsync(CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
        exists.Parameters.AddWithValue(DatabaseName);
        if (await exists.ExecuteScalarAsync(ct) is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName}", connection);
            await create.ExecuteNonQueryAsync(ct);
        }
    }
}

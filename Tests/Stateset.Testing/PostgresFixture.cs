using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Stateset.Database;
using Xunit;

namespace Stateset.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster of its own for a fixture (a test may stop and start it as an outage would).
/// Tests that need isolation ask for a database of their own, created already migrated from a template.
/// </summary>
/// <remarks>
/// Every fixture's cluster is a copy of one cluster per test process, initialised (initdb) and migrated once and then
/// stopped: copying its folder takes a fraction of a second, where initdb and the migrations cost seconds of CPU per
/// fixture, and a test assembly starts up to seven of them at once.
/// </remarks>
public sealed class PostgresFixture : IAsyncLifetime
{
    private const string TemplateName = "stateset_template";
    private const string TemplatePrefix = "stateset-pg-template-";
    private static readonly Lock TemplateGate = new();
    private static Task<string>? _stoppedTemplateCluster;
    private LocalPostgresCluster? _cluster;
    private string? _root;
    private int _created;

    /// <summary>Gets the running cluster.</summary>
    public LocalPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The fixture has not started.");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Task<string> creating;
        lock (TemplateGate)
        {
            creating = _stoppedTemplateCluster ??= CreateStoppedTemplateClusterAsync();
        }

        var template = await creating;
        _root = Path.Combine(Path.GetTempPath(), "stateset-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_root);
        var data = Path.Combine(_root, "data");

        // -a keeps the owner (the server refuses a data folder it does not own) and the 0700 mode.
        await RunAsync("cp", ["-a", template, data]);

        // The copy's settings still name the template's folder for the server's socket; a later line wins.
        await File.AppendAllLinesAsync(Path.Combine(data, "postgresql.conf"), [$"unix_socket_directories = '{data}'"]);
        _cluster = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions(DataDirectory: _root));
    }

    /// <summary>Creates an empty database (no schema) and returns its connection string.</summary>
    public Task<string> CreateEmptyDatabaseAsync() => CreateDatabaseAsync(template: "template0");

    /// <summary>Creates a database with the current schema applied and returns its connection string.</summary>
    public Task<string> CreateMigratedDatabaseAsync() => CreateDatabaseAsync(TemplateName);

    /// <summary>Stops the cluster, as a database outage would, keeping every database for <see cref="StartAsync"/>.</summary>
    public Task StopAsync() => Cluster.StopServerAsync();

    /// <summary>Starts the cluster again after <see cref="StopAsync"/>, on the same port with the same data.</summary>
    public Task StartAsync() => Cluster.StartServerAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_root is not null)
        {
            TryDelete(_root);
        }
    }

    private static async Task<string> CreateStoppedTemplateClusterAsync()
    {
        // A test host that is killed rather than ending leaves its template behind: the next one removes it.
        foreach (var left in Directory.EnumerateDirectories(Path.GetTempPath(), $"{TemplatePrefix}*"))
        {
            if (int.TryParse(Path.GetFileName(left)[TemplatePrefix.Length..].Split('-')[0], out var pid) && !IsRunning(pid))
            {
                TryDelete(left);
            }
        }

        var root = Path.Combine(Path.GetTempPath(), $"{TemplatePrefix}{Environment.ProcessId}-{Guid.NewGuid():N}"[..48]);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        await using (var cluster = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions(DataDirectory: root)))
        {
            await using (var admin = await OpenAdminAsync(cluster))
            {
                await ExecuteAsync(admin, $"CREATE DATABASE {TemplateName}");
            }

            var template = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Database = TemplateName, Pooling = false };
            await SchemaMigrator.MigrateAsync(template.ConnectionString, NullLogger.Instance);
        }

        // Disposing a cluster with a folder of its own stops the server cleanly and keeps the folder.
        return Path.Combine(root, "data");
    }

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
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

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<NpgsqlConnection> OpenAdminAsync(LocalPostgresCluster cluster)
    {
        var admin = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Database = "postgres", Pooling = false };
        var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private async Task<string> CreateDatabaseAsync(string template)
    {
        var name = $"test_{Interlocked.Increment(ref _created)}_{Guid.NewGuid():N}"[..30];
        await using (var admin = await OpenAdminAsync(Cluster))
        {
            await ExecuteAsync(admin, $"CREATE DATABASE {name} TEMPLATE {template}");
        }

        return new NpgsqlConnectionStringBuilder(Cluster.ConnectionString) { Database = name }.ConnectionString;
    }
}

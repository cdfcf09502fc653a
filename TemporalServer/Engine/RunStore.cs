using Microsoft.Data.Sqlite;

namespace Stateset.TemporalServer.Engine;

/// <summary>
/// A stored run: its identity, the pending state its history cannot tell (as JSON) and, in a batch to write, its new
/// events (on load the events are read run by run, so the whole file's history is never in memory at once).
/// </summary>
internal sealed record StoredRun(string Namespace, string WorkflowId, string RunId, long Sequence, string RequestId, string Pending, List<byte[]> Events);

/// <summary>What one group commit writes: for each changed run its new events and current pending state.</summary>
internal sealed record StoreBatch(List<string> NewNamespaces, List<(StoredRun Run, int FirstNewEventId)> Runs);

/// <summary>
/// The SQLite file behind <c>--db-filename</c>. History events are appended, never rewritten; mutable state is derived
/// from them on load; a run's pending row holds only what history does not (activity attempts and task tokens,
/// events buffered behind a running workflow task, updates not yet accepted, signal request ids).
/// </summary>
internal sealed class RunStore : IDisposable
{
    /// <summary>Version 1: tables meta, namespaces, runs, events.</summary>
    public const int SchemaVersion = 1;
    private const string Format = "stateset-embedded-temporal";
    private readonly SqliteConnection _connection;

    // Reads history the engine let go of while the writer commits on _connection: in WAL mode a reader sees the last
    // commit and neither waits for the other. Used only under the engine's lock, so one connection serves all reads.
    private SqliteConnection? _reader;
    private SqliteCommand? _readEvents;

    private RunStore(SqliteConnection connection) => _connection = connection;

    public string Path { get; private init; } = string.Empty;

    /// <summary>Opens (or creates) the file; anything that is not a sound file of a known schema is refused.</summary>
    public static RunStore Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (System.IO.Path.GetDirectoryName(full) is { } directory)
        {
            Directory.CreateDirectory(directory);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Pooling = false }.ToString());
        try
        {
            connection.Open();
            var store = new RunStore(connection) { Path = full };
            store.Prepare();
            store.OpenReader(full);
            return store;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new DatabaseFileException($"{full} is not a readable SQLite file of this server ({Describe(e)}); refusing to start over it.", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Reads every namespace and run (without their events), runs in creation order.</summary>
    public (List<string> Namespaces, List<StoredRun> Runs) Load()
    {
        try
        {
            var namespaces = new List<string>();
            using (var command = Command("SELECT name FROM namespaces ORDER BY name"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    namespaces.Add(reader.GetString(0));
                }
            }

            var runs = new List<StoredRun>();
            using (var command = Command("SELECT ns, workflow_id, run_id, seq, request_id, pending FROM runs ORDER BY seq"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    runs.Add(new StoredRun(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4), reader.GetString(5), []));
                }
            }

            return (namespaces, runs);
        }
        catch (SqliteException e)
        {
            throw new DatabaseFileException($"{Path} cannot be read ({Describe(e)}); refusing to start over it.", e);
        }
    }

    /// <summary>
    /// Reads the committed events of a run with ids from <paramref name="firstEventId"/> up to (not including)
    /// <paramref name="endEventId"/>, in order; fewer come back only when the file has fewer (a gap is refused).
    /// </summary>
    public List<byte[]> ReadEvents(string ns, string workflowId, string runId, long firstEventId, long endEventId)
    {
        var command = _readEvents!;
        command.Parameters["$ns"].Value = ns;
        command.Parameters["$wid"].Value = workflowId;
        command.Parameters["$rid"].Value = runId;
        command.Parameters["$first"].Value = firstEventId;
        command.Parameters["$end"].Value = endEventId;
        var events = new List<byte[]>();
        try
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (reader.GetInt64(0) != firstEventId + events.Count)
                {
                    throw new DatabaseFileException($"{Path} has a gap in the history of run {runId} at event {firstEventId + events.Count}.");
                }

                events.Add((byte[])reader.GetValue(1));
            }
        }
        catch (SqliteException e)
        {
            throw new DatabaseFileException($"{Path} cannot be read ({Describe(e)}).", e);
        }

        return events;
    }

    /// <summary>Writes one group commit in one transaction; when it returns the changes survive a crash.</summary>
    public void Write(StoreBatch batch)
    {
        using var transaction = _connection.BeginTransaction();
        foreach (var ns in batch.NewNamespaces)
        {
            using var command = Command("INSERT OR IGNORE INTO namespaces (name) VALUES ($name)", transaction);
            command.Parameters.AddWithValue("$name", ns);
            command.ExecuteNonQuery();
        }

        using var upsertRun = Command(
            """
            INSERT INTO runs (ns, workflow_id, run_id, seq, request_id, pending) VALUES ($ns, $wid, $rid, $seq, $req, $pending)
            ON CONFLICT (ns, workflow_id, run_id) DO UPDATE SET pending = excluded.pending
            """,
            transaction);
        var runParameters = new[] { "$ns", "$wid", "$rid", "$seq", "$req", "$pending" }.Select(n => upsertRun.Parameters.Add(n, SqliteType.Text)).ToArray();
        runParameters[3].SqliteType = SqliteType.Integer;
        using var insertEvent = Command(
            "INSERT OR REPLACE INTO events (ns, workflow_id, run_id, event_id, data) VALUES ($ns, $wid, $rid, $id, $data)", transaction);
        var eventParameters = new[]
        {
            insertEvent.Parameters.Add("$ns", SqliteType.Text), insertEvent.Parameters.Add("$wid", SqliteType.Text),
            insertEvent.Parameters.Add("$rid", SqliteType.Text), insertEvent.Parameters.Add("$id", SqliteType.Integer),
            insertEvent.Parameters.Add("$data", SqliteType.Blob),
        };
        foreach (var (run, firstNew) in batch.Runs)
        {
            runParameters[0].Value = run.Namespace;
            runParameters[1].Value = run.WorkflowId;
            runParameters[2].Value = run.RunId;
            runParameters[3].Value = run.Sequence;
            runParameters[4].Value = run.RequestId;
            runParameters[5].Value = run.Pending;
            upsertRun.ExecuteNonQuery();
            eventParameters[0].Value = run.Namespace;
            eventParameters[1].Value = run.WorkflowId;
            eventParameters[2].Value = run.RunId;
            for (var i = 0; i < run.Events.Count; i++)
            {
                eventParameters[3].Value = firstNew + i;
                eventParameters[4].Value = run.Events[i];
                insertEvent.ExecuteNonQuery();
            }
        }

        transaction.Commit();
    }

    public void Dispose()
    {
        _readEvents?.Dispose();
        _reader?.Dispose();
        _connection.Dispose();
    }

    private static string Describe(SqliteException e) => e.SqliteErrorCode switch
    {
        26 => "not a database",
        11 => "the file is damaged or truncated",
        _ => e.Message.TrimEnd('.'),
    };

    private void Prepare()
    {
        // Nothing is written before the file is known to be ours: a refused file stays byte for byte as it was.
        var tables = new HashSet<string>(StringComparer.Ordinal);
        using (var command = Command("SELECT name FROM sqlite_master WHERE type = 'table'"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }

        if (tables.Count == 0)
        {
            UseWriteAheadLog();
            Create();
            return;
        }

        if (!tables.Contains("meta"))
        {
            throw new DatabaseFileException($"{Path} is a SQLite file of something else (no meta table); refusing to start over it.");
        }

        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var command = Command("SELECT key, value FROM meta"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                meta[reader.GetString(0)] = reader.GetString(1);
            }
        }

        if (!meta.TryGetValue("format", out var format) || format != Format || !meta.TryGetValue("schema_version", out var versionText) ||
            !int.TryParse(versionText, out var version))
        {
            throw new DatabaseFileException($"{Path} is a SQLite file of something else (format '{format}'); refusing to start over it.");
        }

        if (version > SchemaVersion)
        {
            throw new DatabaseFileException(
                $"{Path} was written by a newer version of this server (schema {version}; this one reads up to {SchemaVersion}); refusing to change it.");
        }

        // Version 1 is the first: older files do not exist yet. A future version migrates here, step by step, in one transaction.
        using var check = Command("PRAGMA quick_check");
        if (check.ExecuteScalar() is not "ok")
        {
            throw new DatabaseFileException($"{Path} fails SQLite's integrity check (the file is damaged or truncated); refusing to start over it.");
        }

        UseWriteAheadLog();
    }

    private void OpenReader(string full)
    {
        _reader = new SqliteConnection(
            new SqliteConnectionStringBuilder { DataSource = full, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        _reader.Open();
        _readEvents = _reader.CreateCommand();
        _readEvents.CommandText =
            "SELECT event_id, data FROM events WHERE ns = $ns AND workflow_id = $wid AND run_id = $rid AND event_id >= $first AND event_id < $end ORDER BY event_id";
        foreach (var name in new[] { "$ns", "$wid", "$rid" })
        {
            _readEvents.Parameters.Add(name, SqliteType.Text);
        }

        _readEvents.Parameters.Add("$first", SqliteType.Integer);
        _readEvents.Parameters.Add("$end", SqliteType.Integer);
        _readEvents.Prepare();
    }

    private void UseWriteAheadLog()
    {
        Execute("PRAGMA journal_mode = WAL");

        // FULL: a commit is on disk before the RPC that caused it answers, so even a power cut loses nothing acknowledged.
        Execute("PRAGMA synchronous = FULL");
    }

    private void Create()
    {
        using var transaction = _connection.BeginTransaction();
        foreach (var statement in new[]
        {
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
            "CREATE TABLE namespaces (name TEXT PRIMARY KEY) WITHOUT ROWID",
            "CREATE TABLE runs (ns TEXT NOT NULL, workflow_id TEXT NOT NULL, run_id TEXT NOT NULL, seq INTEGER NOT NULL, request_id TEXT NOT NULL, pending TEXT NOT NULL, PRIMARY KEY (ns, workflow_id, run_id))",
            "CREATE TABLE events (ns TEXT NOT NULL, workflow_id TEXT NOT NULL, run_id TEXT NOT NULL, event_id INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (ns, workflow_id, run_id, event_id)) WITHOUT ROWID",
            $"INSERT INTO meta (key, value) VALUES ('format', '{Format}'), ('schema_version', '{SchemaVersion}')",
        })
        {
            using var command = Command(statement, transaction);
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private void Execute(string sql)
    {
        using var command = Command(sql);
        command.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Npgsql;
using Stateset.ServiceDefaults.Telemetry;

namespace Stateset.Gateway.Workflows;

/// <summary>What a start request resolved to.</summary>
public abstract record StartClaim
{
    /// <summary>This request owns the start (first use of the key, or a retry of it).</summary>
    public sealed record Owned(string ResourceId) : StartClaim;

    /// <summary>The key was used before with a different body.</summary>
    public sealed record KeyReused : StartClaim;

    /// <summary>The business id was claimed by another idempotency key.</summary>
    public sealed record ResourceTaken(string ResourceId) : StartClaim;
}

/// <summary>
/// Idempotency keys of start requests, per API key and kind of resource (table <c>idempotent_starts</c>). A key
/// is claimed with the hash of its request body before anything starts; the workflow id is the business id and
/// the start itself is idempotent (use-existing), so a crash between claim and start is healed by the client's
/// retry, and a retry learns the run id from Temporal rather than from here.
/// </summary>
/// <remarks>
/// Claims are written in groups: while one INSERT runs, the claims that arrive queue up and the next INSERT
/// writes all of them (group commit). A lone request still goes straight through; under load, one statement and
/// one commit serve many requests, which is what keeps the database from being most of a start's cost.
/// </remarks>
public sealed class IdempotentStarts(NpgsqlDataSource database, ILogger<IdempotentStarts> logger) : BackgroundService
{
    // Big enough to absorb a burst, small enough that one statement stays a few milliseconds.
    private const int MaxGroup = 256;

    private const string InsertClaims =
        """
        INSERT INTO idempotent_starts (api_key_prefix, scope, idempotency_key, request_hash, resource_id, workflow_id)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[])
        ON CONFLICT DO NOTHING
        RETURNING api_key_prefix, scope, idempotency_key, request_hash, resource_id
        """;

    // A separate statement sees a concurrent claim of the same key: the INSERT above waited for it to commit.
    private const string FindClaims =
        """
        SELECT s.api_key_prefix, s.scope, s.idempotency_key, s.request_hash, s.resource_id
        FROM idempotent_starts s
        JOIN unnest($1::text[], $2::text[], $3::text[]) AS k (api_key_prefix, scope, idempotency_key)
          USING (api_key_prefix, scope, idempotency_key)
        """;

    private readonly Channel<PendingClaim> _pending = Channel.CreateUnbounded<PendingClaim>(new() { SingleReader = true });

    /// <summary>
    /// Claims <paramref name="idempotencyKey"/> for a request and the resource it names;
    /// <paramref name="resourceId"/> is the business id the client chose, or null to derive one from the key.
    /// </summary>
    public async Task<StartClaim> ClaimAsync(
        string apiKeyPrefix, string scope, string idempotencyKey, object request, string? resourceId, string idPrefix, Func<string, string> workflowId)
    {
        var resource = resourceId ?? DerivedId(idPrefix, apiKeyPrefix, idempotencyKey);
        var claim = new PendingClaim(
            new ClaimKey(apiKeyPrefix, scope, idempotencyKey),
            SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(request)),
            resource,
            workflowId(resource));
        if (!_pending.Writer.TryWrite(claim))
        {
            throw new InvalidOperationException("The gateway is shutting down; the start was not claimed.");
        }

        // A client that gives up does not withdraw its claim: the row is written all the same, and its retry finds it.
        // So the request waits for its answer whatever the client does (it always comes, an error or a cancellation
        // at shutdown included), with no per-request registration on the client's cancellation.
        return await claim.Answer.Task;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var group = new List<PendingClaim>(MaxGroup);

        // One connection kept by this loop, the only writer: a connection taken from the pool and given back per
        // statement costs PostgreSQL a session reset each time (more of its CPU than the INSERT), and the two
        // statements are prepared on it once. A failed statement discards it; the next group opens another.
        ClaimConnection? connection = null;
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                while (group.Count < MaxGroup && _pending.Reader.TryRead(out var claim))
                {
                    group.Add(claim);
                }

                StatesetTelemetry.ClaimGroupSize.Record(group.Count);
                try
                {
                    try
                    {
                        connection ??= await ClaimConnection.OpenAsync(database, stoppingToken);
                        await connection.WriteAsync(group, stoppingToken);
                    }
                    catch (NpgsqlException) when (connection is { JustOpened: false } && !stoppingToken.IsCancellationRequested)
                    {
                        // A kept connection may have died while idle (a database restart): once more on a fresh one.
                        // Writing a group twice is harmless: a claim the first attempt stored is found, with its hash.
                        await connection.DisposeAsync();
                        connection = null;
                        connection = await ClaimConnection.OpenAsync(database, stoppingToken);
                        await connection.WriteAsync(group, stoppingToken);
                    }
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // The loop outlives a failed statement: only the requests in this group fail.
                    logger.LogWarning(e, "Writing {Count} idempotency claims failed; their requests fail and may be retried", group.Count);
                    group.ForEach(c => c.Answer.TrySetException(e));
                    if (connection is not null)
                    {
                        await connection.DisposeAsync();
                        connection = null;
                    }
                }

                group.Clear();
            }
        }
        finally
        {
            // Shutting down: nothing more is written, and no request waits for an answer that will not come.
            _pending.Writer.TryComplete();
            while (_pending.Reader.TryRead(out var claim))
            {
                group.Add(claim);
            }

            group.ForEach(c => c.Answer.TrySetCanceled(stoppingToken));
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>A business id from the key, so a client that sends no id still gets the same one on every retry.</summary>
    private static string DerivedId(string prefix, string apiKeyPrefix, string idempotencyKey) =>
        $"{prefix}-{Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{apiKeyPrefix}\n{idempotencyKey}")))[..16]}";

    private static StartClaim Resolve(PendingClaim claim, StoredClaim? stored) => stored switch
    {
        // Nothing inserted and no row under this key: the business id belongs to another key.
        null => new StartClaim.ResourceTaken(claim.ResourceId),
        _ when CryptographicOperations.FixedTimeEquals(stored.Value.RequestHash, claim.RequestHash) => new StartClaim.Owned(stored.Value.ResourceId),
        _ => new StartClaim.KeyReused(),
    };

    private readonly record struct ClaimKey(string ApiKeyPrefix, string Scope, string IdempotencyKey);

    private readonly record struct StoredClaim(byte[] RequestHash, string ResourceId);

    private sealed record PendingClaim(ClaimKey Key, byte[] RequestHash, string ResourceId, string WorkflowId)
    {
        public TaskCompletionSource<StartClaim> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The claim loop's connection, with its two statements prepared on it.</summary>
    private sealed class ClaimConnection : IAsyncDisposable
    {
        private readonly NpgsqlConnection _connection;
        private readonly NpgsqlCommand _insert;
        private readonly NpgsqlCommand _find;

        private ClaimConnection(NpgsqlConnection connection)
        {
            _connection = connection;
            _insert = new NpgsqlCommand(InsertClaims, connection);
            _find = new NpgsqlCommand(FindClaims, connection);
            foreach (var type in new[] { "text[]", "text[]", "text[]", "bytea[]", "text[]", "text[]" })
            {
                _insert.Parameters.Add(new NpgsqlParameter { DataTypeName = type });
            }

            foreach (var type in new[] { "text[]", "text[]", "text[]" })
            {
                _find.Parameters.Add(new NpgsqlParameter { DataTypeName = type });
            }
        }

        public static async Task<ClaimConnection> OpenAsync(NpgsqlDataSource database, CancellationToken ct)
        {
            var connection = await database.OpenConnectionAsync(ct);
            try
            {
                var opened = new ClaimConnection(connection);
                await opened._insert.PrepareAsync(ct);
                await opened._find.PrepareAsync(ct);
                return opened;
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

        /// <summary>Gets a value indicating whether no group was written on this connection yet.</summary>
        public bool JustOpened { get; private set; } = true;

        public async Task WriteAsync(List<PendingClaim> group, CancellationToken ct)
        {
            var stored = new Dictionary<ClaimKey, StoredClaim>(group.Count);
            _insert.Parameters[0].Value = group.Select(c => c.Key.ApiKeyPrefix).ToArray();
            _insert.Parameters[1].Value = group.Select(c => c.Key.Scope).ToArray();
            _insert.Parameters[2].Value = group.Select(c => c.Key.IdempotencyKey).ToArray();
            _insert.Parameters[3].Value = group.Select(c => c.RequestHash).ToArray();
            _insert.Parameters[4].Value = group.Select(c => c.ResourceId).ToArray();
            _insert.Parameters[5].Value = group.Select(c => c.WorkflowId).ToArray();
            await ReadClaimsAsync(_insert, stored, ct);

            // Retries, reused keys and taken ids: read what the earlier claim stored.
            var unresolved = group.Where(c => !stored.ContainsKey(c.Key)).Select(c => c.Key).Distinct().ToList();
            if (unresolved.Count > 0)
            {
                _find.Parameters[0].Value = unresolved.Select(k => k.ApiKeyPrefix).ToArray();
                _find.Parameters[1].Value = unresolved.Select(k => k.Scope).ToArray();
                _find.Parameters[2].Value = unresolved.Select(k => k.IdempotencyKey).ToArray();
                await ReadClaimsAsync(_find, stored, ct);
            }

            JustOpened = false;
            foreach (var claim in group)
            {
                claim.Answer.TrySetResult(Resolve(claim, stored.TryGetValue(claim.Key, out var row) ? row : null));
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _insert.DisposeAsync();
            await _find.DisposeAsync();
            await _connection.DisposeAsync();
        }

        private static async Task ReadClaimsAsync(NpgsqlCommand command, Dictionary<ClaimKey, StoredClaim> into, CancellationToken ct)
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                into[new ClaimKey(reader.GetString(0), reader.GetString(1), reader.GetString(2))] =
                    new StoredClaim(await reader.GetFieldValueAsync<byte[]>(3, ct), reader.GetString(4));
            }
        }
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Npgsql;

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
/// Idempotency keys of start requests, per API key and kind of resource. A key is claimed with the hash of
/// its request body before anything starts; the workflow id is the business id, and the workflow start itself
/// is idempotent (use-existing), so a crash between claim and start is healed by the client's retry.
/// </summary>
public sealed class IdempotentStarts(NpgsqlDataSource database)
{
    /// <summary>
    /// Claims <paramref name="idempotencyKey"/> for a request and the resource it names;
    /// <paramref name="resourceId"/> is the business id the client chose, or null to derive one from the key.
    /// </summary>
    public async Task<StartClaim> ClaimAsync(
        string apiKeyPrefix, string scope, string idempotencyKey, object request, string? resourceId, string idPrefix, Func<string, string> workflowId, CancellationToken ct)
    {
        var hash = SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(request));
        var resource = resourceId ?? DerivedId(idPrefix, apiKeyPrefix, idempotencyKey);
        await using var connection = await database.OpenConnectionAsync(ct);
        var parameters = new { apiKeyPrefix, scope, idempotencyKey, hash, resource, workflow = workflowId(resource) };
        var inserted = await connection.ExecuteAsync(
            """
            INSERT INTO idempotent_starts (api_key_prefix, scope, idempotency_key, request_hash, resource_id, workflow_id)
            VALUES (@apiKeyPrefix, @scope, @idempotencyKey, @hash, @resource, @workflow)
            ON CONFLICT DO NOTHING
            """,
            parameters);
        if (inserted == 1)
        {
            return new StartClaim.Owned(resource);
        }

        // A separate statement sees a concurrent claim of the same key once that claim has committed.
        var existing = await connection.QuerySingleOrDefaultAsync<(byte[] RequestHash, string ResourceId)?>(
            "SELECT request_hash, resource_id FROM idempotent_starts WHERE api_key_prefix = @apiKeyPrefix AND scope = @scope AND idempotency_key = @idempotencyKey",
            parameters);
        if (existing is null)
        {
            // Nothing inserted and no row under this key: the business id belongs to another key.
            return new StartClaim.ResourceTaken(resource);
        }

        return CryptographicOperations.FixedTimeEquals(existing.Value.RequestHash, hash)
            ? new StartClaim.Owned(existing.Value.ResourceId)
            : new StartClaim.KeyReused();
    }

    /// <summary>Records the run a claim started, for the response to retries.</summary>
    public async Task RecordRunAsync(string apiKeyPrefix, string scope, string idempotencyKey, string runId, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(
            "UPDATE idempotent_starts SET run_id = coalesce(run_id, @runId) WHERE api_key_prefix = @apiKeyPrefix AND scope = @scope AND idempotency_key = @idempotencyKey",
            new { apiKeyPrefix, scope, idempotencyKey, runId });
    }

    /// <summary>A business id from the key, so a client that sends no id still gets the same one on every retry.</summary>
    private static string DerivedId(string prefix, string apiKeyPrefix, string idempotencyKey) =>
        $"{prefix}-{Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{apiKeyPrefix}\n{idempotencyKey}")))[..16]}";
}

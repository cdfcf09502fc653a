using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Primitives;
using Npgsql;

namespace Stateset.Gateway.Security;

/// <summary>A stored API key, without its secret.</summary>
/// <param name="StationId">The print station a <c>station</c> key belongs to; null for every other key.</param>
public sealed record ApiKeyInfo(
    string Prefix, string Name, string[] Scopes, DateTimeOffset CreatedAt, string? CreatedBy, DateTimeOffset? RevokedAt, string? StationId = null);

/// <summary>
/// API keys in PostgreSQL. A key reads <c>ss_{prefix}_{secret}</c>; the secret is 32 random bytes, so a plain
/// SHA-256 is the right hash (a slow password hash protects low-entropy secrets, which these are not) and
/// lets every request be checked cheaply.
/// </summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string KeyPrefix = "ss_";

    // Fired (and replaced) by each revoke through this gateway. One for all keys: a revoke is a rare admin act, so
    // ending every cached answer costs each busy client one read, and keeps no per-key state that guesses could grow.
    private Revocation _nextRevocation = new();

    /// <summary>Creates a key and returns it in full; this is the only time the secret is visible.</summary>
    public Task<(string Key, ApiKeyInfo Info)> CreateAsync(string name, IReadOnlyCollection<string> scopes, string? createdBy, CancellationToken ct) =>
        CreateAsync(name, scopes, createdBy, stationId: null, ct);

    /// <summary>Creates a key, for one print station when <paramref name="stationId"/> is given; returns it in full, once.</summary>
    public async Task<(string Key, ApiKeyInfo Info)> CreateAsync(
        string name, IReadOnlyCollection<string> scopes, string? createdBy, string? stationId, CancellationToken ct)
    {
        var prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var key = $"{KeyPrefix}{prefix}_{secret}";
        var info = await StoreAsync(prefix, name, secret, scopes, createdBy, stationId, ct);
        return (key, info);
    }

    /// <summary>Makes sure a key given by configuration (the stack's bootstrap admin key) exists with these scopes.</summary>
    public async Task EnsureAsync(string key, string name, IReadOnlyCollection<string> scopes, CancellationToken ct)
    {
        if (!TrySplit(key, out var prefix, out var secret))
        {
            throw new InvalidOperationException($"The configured API key for '{name}' is not of the form ss_<prefix>_<secret>.");
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(
            """
            INSERT INTO api_keys (prefix, name, secret_hash, scopes, created_by)
            VALUES (@prefix, @name, @hash, @scopes, 'configuration')
            ON CONFLICT (prefix) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, scopes = EXCLUDED.scopes, revoked_at = NULL
            """,
            new { prefix, name, hash = Hash(secret), scopes = scopes.ToArray() });
    }

    /// <summary>Finds the live key a presented value belongs to, or null when it is unknown, revoked or forged.</summary>
    public async Task<ApiKeyInfo?> FindAsync(string presented, CancellationToken ct)
    {
        if (!TrySplit(presented, out var prefix, out var secret))
        {
            return null;
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(string Prefix, string Name, byte[] SecretHash, string[] Scopes, DateTime CreatedAt, string? CreatedBy, DateTime? RevokedAt, string? StationId)>(
            "SELECT prefix, name, secret_hash, scopes, created_at, created_by, revoked_at, station_id FROM api_keys WHERE prefix = @prefix",
            new { prefix });
        if (row.Prefix is null || row.RevokedAt is not null || !CryptographicOperations.FixedTimeEquals(row.SecretHash, Hash(secret)))
        {
            return null;
        }

        return new ApiKeyInfo(row.Prefix, row.Name, row.Scopes, row.CreatedAt, row.CreatedBy, null, row.StationId);
    }

    /// <summary>Lists keys, newest first.</summary>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<(string Prefix, string Name, string[] Scopes, DateTime CreatedAt, string? CreatedBy, DateTime? RevokedAt, string? StationId)>(
            "SELECT prefix, name, scopes, created_at, created_by, revoked_at, station_id FROM api_keys ORDER BY created_at DESC, prefix");
        return rows.Select(r => new ApiKeyInfo(r.Prefix, r.Name, r.Scopes, r.CreatedAt, r.CreatedBy, r.RevokedAt, r.StationId)).ToList();
    }

    /// <summary>
    /// Gets a token that fires when this gateway next revokes a key: what is cached of a key expires with it. Take it
    /// before reading the key, so a revoke that commits after the read still fires it. Other gateway instances learn
    /// of a revoke when their cached answer expires.
    /// </summary>
    public IChangeToken NextRevocation() => Volatile.Read(ref _nextRevocation).Token;

    /// <summary>Revokes a key; returns false when there is no such key.</summary>
    public async Task<bool> RevokeAsync(string prefix, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var revoked = await connection.ExecuteAsync(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, @now) WHERE prefix = @prefix",
            new { prefix, now = time.GetUtcNow() }) > 0;

        // After the commit: a lookup whose token is the new one reads the revoked row. The fired source is not
        // disposed: a lookup may be reading its token this very moment, and it holds no timer or handle.
        if (revoked)
        {
            await Interlocked.Exchange(ref _nextRevocation, new Revocation()).Source.CancelAsync();
        }

        return revoked;
    }

    private static bool TrySplit(string key, out string prefix, out string secret)
    {
        prefix = secret = string.Empty;
        if (!key.StartsWith(KeyPrefix, StringComparison.Ordinal) || key.Length > 200)
        {
            return false;
        }

        var rest = key[KeyPrefix.Length..];
        var separator = rest.IndexOf('_', StringComparison.Ordinal);
        if (separator <= 0 || separator == rest.Length - 1)
        {
            return false;
        }

        prefix = rest[..separator];
        secret = rest[(separator + 1)..];
        return true;
    }

    private static byte[] Hash(string secret) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret));

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private async Task<ApiKeyInfo> StoreAsync(
        string prefix, string name, string secret, IReadOnlyCollection<string> scopes, string? createdBy, string? stationId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var createdAt = await connection.ExecuteScalarAsync<DateTime>(
            """
            INSERT INTO api_keys (prefix, name, secret_hash, scopes, created_by, station_id)
            VALUES (@prefix, @name, @hash, @scopes, @createdBy, @stationId)
            RETURNING created_at
            """,
            new { prefix, name, hash = Hash(secret), scopes = scopes.ToArray(), createdBy, stationId });
        return new ApiKeyInfo(prefix, name, [.. scopes], createdAt, createdBy, null, stationId);
    }

    /// <summary>The source a revoke fires, with the change token cached answers expire on.</summary>
    private sealed class Revocation
    {
        public Revocation() => Token = new CancellationChangeToken(Source.Token);

        public CancellationTokenSource Source { get; } = new();

        public IChangeToken Token { get; }
    }
}

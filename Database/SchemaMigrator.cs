using DbUp;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Stateset.Database;

/// <summary>
/// Applies the versioned SQL scripts embedded under <c>Migrations/</c> (named <c>NNNN_what.sql</c>, applied in
/// name order, each once, each in its own transaction) with DbUp, which journals applied scripts in
/// <c>schemaversions</c>. Worker and gateway both migrate at start-up, so a PostgreSQL advisory lock
/// makes concurrent start-ups take turns instead of racing on the same script.
/// </summary>
public static class SchemaMigrator
{
    // Any constant works; it only has to be the same in every process that migrates this database.
    private const long MigrationLockKey = 0x5374617465736574;

    /// <summary>Gets the names of the embedded scripts, in the order they apply.</summary>
    public static IReadOnlyList<string> ScriptNames { get; } = typeof(SchemaMigrator).Assembly
        .GetManifestResourceNames()
        .Where(name => name.EndsWith(".sql", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal)
        .ToArray();

    /// <summary>Brings the database's schema up to date and returns the scripts this call applied.</summary>
    /// <exception cref="SchemaMigrationException">A script failed; nothing of that script is left applied.</exception>
    public static async Task<IReadOnlyList<string>> MigrateAsync(string connectionString, ILogger logger, CancellationToken ct = default)
    {
        await using var lockConnection = new NpgsqlConnection(connectionString);
        await lockConnection.OpenAsync(ct);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock($1)", lockConnection))
        {
            take.Parameters.AddWithValue(MigrationLockKey);
            await take.ExecuteNonQueryAsync(ct);
        }

        try
        {
            var upgrader = DeployChanges.To
                .PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(typeof(SchemaMigrator).Assembly)
                .WithTransactionPerScript()
                .LogTo(new DbUpLog(logger))
                .Build();
            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
            {
                throw new SchemaMigrationException(
                    $"Schema migration {result.ErrorScript?.Name ?? "(unknown)"} failed: {result.Error?.Message}", result.Error);
            }

            return result.Scripts.Select(script => script.Name).ToArray();
        }
        finally
        {
            // Closing the connection also releases the lock; unlocking first returns it sooner to a waiting process.
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection);
            release.Parameters.AddWithValue(MigrationLockKey);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private sealed class DbUpLog(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => logger.LogTrace(format, args);

        public void LogDebug(string format, params object[] args) => logger.LogDebug(format, args);

        public void LogInformation(string format, params object[] args) => logger.LogDebug(format, args);

        public void LogWarning(string format, params object[] args) => logger.LogWarning(format, args);

        public void LogError(string format, params object[] args) => logger.LogError(format, args);

        public void LogError(Exception ex, string format, params object[] args) => logger.LogError(ex, format, args);
    }
}

/// <summary>A migration script failed to apply.</summary>
public sealed class SchemaMigrationException(string message, Exception? inner) : Exception(message, inner);

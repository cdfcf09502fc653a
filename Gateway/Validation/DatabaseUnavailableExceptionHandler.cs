using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Stateset.Gateway.Validation;

/// <summary>
/// Answers 503 problem+json with <c>Retry-After</c> when a request failed because PostgreSQL could not be reached
/// (refused or lost connections, timeouts, a server shutting down or starting up), from wherever in the pipeline the
/// failure came: authentication, an endpoint, an idempotency claim. Nothing is cached about the outage, so the first
/// request after PostgreSQL is back is served normally. Errors PostgreSQL reports about a statement stay 500s:
/// those are bugs to fix, not outages to wait out.
/// </summary>
public sealed class DatabaseUnavailableExceptionHandler(ILogger<DatabaseUnavailableExceptionHandler> logger) : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (!IsUnavailable(exception))
        {
            return false;
        }

        logger.LogWarning("PostgreSQL is unreachable; {Method} {Path} answered 503: {Reason}", httpContext.Request.Method, httpContext.Request.Path, exception.Message);
        await UnavailableAnswer.WriteAsync(httpContext, "The database is unavailable", "PostgreSQL cannot be reached right now; nothing was changed.");
        return true;
    }

    /// <summary>Whether <paramref name="exception"/> (or what it wraps) says PostgreSQL is out of reach rather than that a statement is wrong.</summary>
    public static bool IsUnavailable(Exception? exception) => exception switch
    {
        null => false,

        // Class 08 connection exceptions; 57P01-03 admin or crash shutdown, cannot connect now; 53300 too many connections.
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
                or PostgresErrorCodes.TooManyConnections,

        // Raised by Npgsql itself, not by the server: failing to connect, a broken connection, a timeout, an exhausted
        // pool (Npgsql marks these transient; a misuse of a connection is not, and stays a 500).
        NpgsqlException npgsql => npgsql.IsTransient || IsUnavailable(npgsql.InnerException),
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsUnavailable),
        _ => IsUnavailable(exception.InnerException),
    };
}

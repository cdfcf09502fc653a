using System.Text.Json;
using Npgsql;
using Temporalio.Exceptions;
using Temporalio.Worker.Interceptors;

namespace Stateset.Activities;

/// <summary>
/// One place that decides, for every activity, whether an unexpected exception is worth retrying. Data and
/// programming errors cannot succeed on a later attempt: PostgreSQL's syntax and access errors (SQLSTATE class
/// 42), data exceptions (22, e.g. a NUL character in text) and integrity violations that a retry would meet again
/// (23, except a unique violation, which is how a concurrent duplicate shows and a retry then finds the row), and
/// the .NET exceptions that mean a bug or bad input. They become non-retryable
/// <see cref="ApplicationFailureException"/>s that say what failed, so the workflow unwinds at once instead of
/// retrying forever. Everything else (connection faults, 40001 serialization failures, 40P01 deadlocks,
/// timeouts, provider outages) is left as it is and retried with backoff by the activity's retry policy.
/// </summary>
public sealed class ActivityFailureClassifier : IWorkerInterceptor
{
    /// <summary>The error type of a failure this classifier made non-retryable.</summary>
    public const string DataErrorType = "DataError";

    /// <summary>The error type of a failure from a programming error (a bug retrying cannot fix).</summary>
    public const string ProgrammingErrorType = "ProgrammingError";

    /// <summary>
    /// The non-retryable failure <paramref name="exception"/> should become, or null when it is transient (or
    /// already a Temporal failure, which keeps its own retryability).
    /// </summary>
    public static ApplicationFailureException? Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        switch (exception)
        {
            case TemporalException or OperationCanceledException:
                return null;
            case PostgresException postgres when IsPermanent(postgres.SqlState):
                return new ApplicationFailureException(
                    $"PostgreSQL refused the statement ({postgres.SqlState}: {postgres.MessageText}); retrying cannot help.",
                    exception,
                    DataErrorType,
                    nonRetryable: true);
            case PostgresException or NpgsqlException or TimeoutException or HttpRequestException or IOException:
                return null;
            case ArgumentException or FormatException or InvalidCastException or JsonException or NullReferenceException
                or KeyNotFoundException or IndexOutOfRangeException or NotSupportedException or NotImplementedException:
                return new ApplicationFailureException(
                    $"{exception.GetType().Name}: {exception.Message}", exception, ProgrammingErrorType, nonRetryable: true);
            default:
                return null;
        }
    }

    /// <inheritdoc />
    public ActivityInboundInterceptor InterceptActivity(ActivityInboundInterceptor nextInterceptor) => new Inbound(nextInterceptor);

    private static bool IsPermanent(string sqlState) =>
        sqlState.StartsWith("42", StringComparison.Ordinal)
        || sqlState.StartsWith("22", StringComparison.Ordinal)
        || (sqlState.StartsWith("23", StringComparison.Ordinal) && sqlState != PostgresErrorCodes.UniqueViolation);

    private sealed class Inbound(ActivityInboundInterceptor next) : ActivityInboundInterceptor(next)
    {
        public override async Task<object?> ExecuteActivityAsync(ExecuteActivityInput input)
        {
            try
            {
                return await base.ExecuteActivityAsync(input);
            }
            catch (Exception e) when (Classify(e) is { } failure)
            {
                throw failure;
            }
        }
    }
}

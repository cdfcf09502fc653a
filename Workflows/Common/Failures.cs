using Temporalio.Exceptions;

namespace Stateset.Workflows.Common;

/// <summary>How workflows read and re-raise the failures of their steps.</summary>
public static class Failures
{
    /// <summary>The innermost useful message: an activity or child failure wraps the cause that says what went wrong.</summary>
    public static string Describe(Exception e)
    {
        var cause = e;
        while (cause is ActivityFailureException or ChildWorkflowFailureException && cause.InnerException is not null)
        {
            cause = cause.InnerException;
        }

        return cause.Message;
    }

    /// <summary>The business error type of a failure (e.g. <c>PaymentDeclined</c>), looking through activity and child wrappers.</summary>
    public static string? ErrorType(Exception e)
    {
        for (var cause = e; cause is not null; cause = cause.InnerException)
        {
            if (cause is ApplicationFailureException { ErrorType: { } type })
            {
                return type;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether <paramref name="e"/> is an activity's failure as the workflow sees it: an activity's comes wrapped in
    /// <see cref="ActivityFailureException"/>, a local activity's arrives as its own <see cref="ApplicationFailureException"/>
    /// (its timeout, though, wrapped like an activity's: LocalStepTests pins both).
    /// </summary>
    public static bool IsActivityFailure(Exception e) => e is ActivityFailureException or ApplicationFailureException;

    /// <summary>Whether a step failed because its activity or child timed out.</summary>
    public static bool IsTimeout(Exception e)
    {
        for (var cause = e; cause is not null; cause = cause.InnerException)
        {
            if (cause is TimeoutFailureException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The failure a workflow ends with: cancellation stays cancellation; anything else becomes a non-retryable
    /// business failure that keeps the cause's error type, so a parent workflow can branch on it.
    /// </summary>
    public static Exception AsBusinessFailure(Exception e, string what, string fallbackType) =>
        TemporalException.IsCanceledException(e)
            ? e
            : new ApplicationFailureException($"{what}: {Describe(e)}", ErrorType(e) ?? fallbackType, nonRetryable: true);
}

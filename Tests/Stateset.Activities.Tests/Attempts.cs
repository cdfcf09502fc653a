using Temporalio.Activities;
using Temporalio.Exceptions;
using Temporalio.Testing;

namespace Stateset.Activities.Tests;

/// <summary>
/// Runs activity code the way a worker would, attempt by attempt, with a task token per attempt, so tests
/// exercise retries and asynchronous completion without a Temporal server.
/// </summary>
public static class Attempts
{
    public static ActivityEnvironment Environment(int attempt = 1, string activityId = "1") => new()
    {
        Info = ActivityEnvironment.DefaultInfo with
        {
            Attempt = attempt,
            ActivityId = activityId,
            // Real task tokens differ per activity and attempt; unique ones let tests tell completions apart.
            TaskToken = System.Text.Encoding.UTF8.GetBytes($"token-{activityId}-attempt-{attempt}-{Guid.NewGuid():N}"),
        },
    };

    public static Task<T> RunAsync<T>(Func<Task<T>> activity, int attempt = 1) => Environment(attempt).RunAsync(activity);

    public static Task RunAsync(Func<Task> activity, int attempt = 1) => Environment(attempt).RunAsync(activity);

    /// <summary>Runs an activity expected to fail for a business reason and returns the failure.</summary>
    public static async Task<ApplicationFailureException> FailsAsync(Func<Task> activity, string errorType, int attempt = 1)
    {
        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(() => RunAsync(activity, attempt));
        Assert.Equal(errorType, failure.ErrorType);
        Assert.True(failure.NonRetryable, $"{errorType} should be non-retryable");
        return failure;
    }

    /// <summary>Runs an activity expected to complete asynchronously and returns the task token it parked.</summary>
    public static async Task<byte[]> CompletesAsynchronouslyAsync(Func<Task> activity, int attempt = 1)
    {
        var environment = Environment(attempt);
        await Assert.ThrowsAsync<CompleteAsyncException>(() => environment.RunAsync(activity));
        return environment.Info.TaskToken;
    }
}

using System.Collections.Concurrent;
using Temporalio.Activities;
using Temporalio.Exceptions;

namespace Stateset.TemporalServer.Tests.Workflows;

/// <summary>Activities whose behaviour a test picks by name; each test uses its own key.</summary>
public sealed class TestActivities
{
    private static readonly ConcurrentDictionary<string, TaskCompletionSource<string>> StartedSignals = new();

    /// <summary>Completes when the activity keyed <paramref name="key"/> has started; gives its task token (base64).</summary>
    public static Task<string> StartedAsync(string key) => Signal(key).Task.WaitAsync(TimeSpan.FromSeconds(20));

    [Activity]
    public string Greet(string name) => $"Hi {name}";

    [Activity]
    public string FailTwice(string key)
    {
        var attempt = ActivityExecutionContext.Current.Info.Attempt;
        return attempt < 3 ? throw new InvalidOperationException($"transient failure on attempt {attempt}") : $"ok on attempt {attempt}";
    }

    [Activity]
    public string AlwaysFail(string key) =>
        throw new ApplicationFailureException($"attempt {ActivityExecutionContext.Current.Info.Attempt} failed", "Transient");

    [Activity]
    public string FailFatally(string key) => throw new ApplicationFailureException("cannot ever work", "Fatal");

    /// <summary>Heartbeats once, then hangs until cancelled (used for timeouts).</summary>
    [Activity]
    public async Task<string> HangAsync(string key)
    {
        var context = ActivityExecutionContext.Current;
        context.Heartbeat("beat-1");
        Signal(key).TrySetResult(Convert.ToBase64String(context.Info.TaskToken));
        await Task.Delay(Timeout.Infinite, context.CancellationToken);
        return "unreachable";
    }

    /// <summary>Heartbeats until the server reports a cancel request, then reports cancellation.</summary>
    [Activity]
    public async Task<string> HeartbeatUntilCancelledAsync(string key)
    {
        var context = ActivityExecutionContext.Current;
        Signal(key).TrySetResult(Convert.ToBase64String(context.Info.TaskToken));
        while (true)
        {
            context.Heartbeat();
            await Task.Delay(50, context.CancellationToken);
        }
    }

    /// <summary>
    /// Hangs on its first attempt (an attempt the server dispatched and never heard back from) and greets from the
    /// next one, saying which attempt it was.
    /// </summary>
    [Activity]
    public async Task<string> HangOnceThenGreetAsync(string key)
    {
        var context = ActivityExecutionContext.Current;
        if (context.Info.Attempt == 1)
        {
            Signal(key).TrySetResult(Convert.ToBase64String(context.Info.TaskToken));
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }

        return $"Hi {key} on attempt {context.Info.Attempt}";
    }

    /// <summary>Hands its task token to the test and leaves completion to someone else (a payment callback, say).</summary>
    [Activity]
    public string CompleteLater(string key)
    {
        var context = ActivityExecutionContext.Current;
        Signal(key).TrySetResult(Convert.ToBase64String(context.Info.TaskToken));
        throw new CompleteAsyncException();
    }

    private static TaskCompletionSource<string> Signal(string key) =>
        StartedSignals.GetOrAdd(key, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
}

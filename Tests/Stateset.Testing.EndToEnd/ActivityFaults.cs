using System.Collections.Concurrent;
using Temporalio.Activities;
using Temporalio.Exceptions;
using Temporalio.Worker.Interceptors;

namespace Stateset.Testing.EndToEnd;

/// <summary>
/// A worker interceptor that lets a test break the real activities of chosen runs: it records which activities a
/// run called, fails one activity non-retryably the first time the run calls it, or holds one activity forever as a
/// worker that died mid-attempt would. Runs are chosen by a token their workflow ids contain (an order id, a return
/// id), so a parent and its children (<c>label-{orderId}-1</c>, <c>refund-{returnId}</c>) are chosen together and
/// scenarios running side by side never touch each other.
/// </summary>
public sealed class ActivityFaults : IWorkerInterceptor
{
    /// <summary>The error type of an injected failure.</summary>
    public const string ErrorType = "InjectedFault";

    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _observed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Plan> _plans = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Interlude> _interludes = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Records the activities of runs whose workflow id contains <paramref name="token"/>.</summary>
    public void Observe(string token) => _observed.TryAdd(token, new ConcurrentQueue<string>());

    /// <summary>
    /// Gets the activities called so far by runs holding the token, as <c>WorkflowType/ActivityName</c> in call order,
    /// repeats included.
    /// </summary>
    public IReadOnlyList<string> Observed(string token) => _observed.TryGetValue(token, out var calls) ? [.. calls] : [];

    /// <summary>
    /// Fails <paramref name="activity"/> non-retryably the first time a run of <paramref name="workflowType"/> holding
    /// the token calls it; later calls (a compensation's retry, the next status write) run normally.
    /// </summary>
    public void FailOnce(string token, string workflowType, string activity)
    {
        Observe(token);
        _plans[token] = new Plan((type, name) => type == workflowType && name == activity, Hold: false);
    }

    /// <summary>
    /// Holds the first attempt of the first activity <paramref name="activity"/> accepts in a run holding the token,
    /// without ever answering, as an attempt whose worker crashed would; the task completes when the attempt started.
    /// </summary>
    public Task HoldOnceAsync(string token, Func<string, bool> activity)
    {
        Observe(token);
        var plan = new Plan((_, name) => activity(name), Hold: true);
        _plans[token] = plan;
        return plan.Triggered.Task;
    }

    /// <summary>
    /// Runs <paramref name="meanwhile"/> once, after <paramref name="activity"/> of a run holding the token did its work
    /// (its transaction committed) and before its result goes back to the run: what the outside world can do in
    /// that gap (see the committed rows and act on them) happens there every time, not by luck.
    /// </summary>
    public void BeforeReporting(string token, string activity, Func<Task> meanwhile)
    {
        Observe(token);
        _interludes[token] = new Interlude(activity, meanwhile);
    }

    /// <summary>Gets whether the fault planned for the token has happened.</summary>
    public bool Triggered(string token) => _plans.TryGetValue(token, out var plan) && plan.Triggered.Task.IsCompleted;

    /// <summary>Lets held attempts end (the system is shutting down; their answers go nowhere).</summary>
    public void ReleaseHolds() => _released.TrySetResult();

    /// <inheritdoc />
    public ActivityInboundInterceptor InterceptActivity(ActivityInboundInterceptor nextInterceptor) => new Inbound(this, nextInterceptor);

    /// <inheritdoc />
    public WorkflowInboundInterceptor InterceptWorkflow(WorkflowInboundInterceptor nextInterceptor) => nextInterceptor;

    private async Task<object?> RunAsync(ExecuteActivityInput input, Func<Task<object?>> next)
    {
        var info = ActivityExecutionContext.Current.Info;
        var workflowId = info.WorkflowId ?? string.Empty;
        foreach (var (token, calls) in _observed)
        {
            if (!workflowId.Contains(token, StringComparison.Ordinal))
            {
                continue;
            }

            calls.Enqueue($"{info.WorkflowType}/{input.Activity.Name}");
            if (_plans.TryGetValue(token, out var plan) && plan.Matches(info.WorkflowType ?? string.Empty, input.Activity.Name!) && plan.Triggered.TrySetResult())
            {
                if (plan.Hold)
                {
                    // Deaf to the worker's cancellation on purpose: a crashed worker reports nothing to the server.
                    await _released.Task;
                    throw new ApplicationFailureException("held attempt released at shutdown", ErrorType);
                }

                throw new ApplicationFailureException($"injected fault: {input.Activity.Name} failed for good", ErrorType, nonRetryable: true);
            }
        }

        var result = await next();
        foreach (var (token, interlude) in _interludes)
        {
            if (workflowId.Contains(token, StringComparison.Ordinal) && interlude.Activity == input.Activity.Name && interlude.Ran.TrySetResult())
            {
                await interlude.Meanwhile();
            }
        }

        return result;
    }

    private sealed record Interlude(string Activity, Func<Task> Meanwhile)
    {
        public TaskCompletionSource Ran { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record Plan(Func<string, string, bool> Matches, bool Hold)
    {
        public TaskCompletionSource Triggered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Inbound(ActivityFaults faults, ActivityInboundInterceptor next) : ActivityInboundInterceptor(next)
    {
        public override Task<object?> ExecuteActivityAsync(ExecuteActivityInput input) =>
            faults.RunAsync(input, () => base.ExecuteActivityAsync(input));
    }
}

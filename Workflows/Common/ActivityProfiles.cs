using Temporalio.Common;
using Temporalio.Workflows;

namespace Stateset.Workflows.Common;

/// <summary>
/// Timeouts and retry policies by kind of activity. Every activity is idempotent, so retrying is always safe;
/// what differs is how long one attempt may take and when to stop.
/// </summary>
public static class ActivityProfiles
{
    /// <summary>Gets options for our own database writes (read models, statuses, ledger): quick, retried until they succeed.</summary>
    public static ActivityOptions Bookkeeping => new()
    {
        StartToCloseTimeout = TimeSpan.FromSeconds(30),
        RetryPolicy = BookkeepingRetries,
    };

    /// <summary>Gets options for business steps that can fail for good (validation, stock): business failures are non-retryable.</summary>
    public static ActivityOptions BusinessStep => new()
    {
        StartToCloseTimeout = TimeSpan.FromSeconds(30),
        RetryPolicy = BusinessStepRetries,
    };

    /// <summary>
    /// Gets <see cref="BusinessStep"/> as a local activity, for the steps that are short transactions on our own
    /// PostgreSQL and call no provider (<see cref="Patches.DatabaseStepsAsLocalActivities"/>). Local because such a
    /// step gains nothing from a queue round trip: the worker runs it inside the workflow task that asked for it and
    /// records one marker event, instead of scheduled, started and completed events plus a workflow task to read the
    /// result, so consecutive steps share one task. Same timeouts and attempts, and a non-retryable business failure
    /// (validation, stock) fails the step at once, as it does as an activity. The trade: retries happen inside the
    /// workflow task (the worker heartbeats the task meanwhile, and a worker that dies takes the attempt count with
    /// it), and a retry whose backoff passes the local retry threshold (a minute) waits on a timer instead.
    /// </summary>
    public static LocalActivityOptions LocalBusinessStep => new()
    {
        StartToCloseTimeout = TimeSpan.FromSeconds(30),
        RetryPolicy = BusinessStepRetries,
    };

    /// <summary>Gets options for calls to a provider or carrier over HTTP (the client already retries within an attempt).</summary>
    public static ActivityOptions Provider => new()
    {
        StartToCloseTimeout = TimeSpan.FromMinutes(1),
        RetryPolicy = new RetryPolicy
        {
            InitialInterval = TimeSpan.FromSeconds(2),
            BackoffCoefficient = 2,
            MaximumInterval = TimeSpan.FromMinutes(1),
            MaximumAttempts = 8,
        },
    };

    /// <summary>
    /// Gets options for a compensation or a run's closing write: like <see cref="Provider"/>, but not cancelled with
    /// the workflow, because these are what a cancelled run must still do.
    /// </summary>
    public static ActivityOptions Compensation => Detached(Provider);

    /// <summary>Gets <see cref="Bookkeeping"/> not cancelled with the workflow (the final read-model write of a cancelled run).</summary>
    public static ActivityOptions DetachedBookkeeping => Detached(Bookkeeping);

    /// <summary>
    /// Gets options for a read-model write that belongs to no business step (the view where a wait starts), run as a
    /// local activity: retried like <see cref="Bookkeeping"/>, inside the workflow task instead of as a task of its own.
    /// </summary>
    public static LocalActivityOptions LocalBookkeeping => new()
    {
        StartToCloseTimeout = TimeSpan.FromSeconds(30),
        RetryPolicy = BookkeepingRetries,
    };

    /// <summary>Gets <see cref="LocalBookkeeping"/> not cancelled with the workflow (the closing write of a cancelled run).</summary>
    public static LocalActivityOptions DetachedLocalBookkeeping
    {
        get
        {
            var options = LocalBookkeeping;
            options.CancellationToken = CancellationToken.None;
            return options;
        }
    }

    // Shared by each kind's activity and local-activity options, so the two paths of a step retry alike.
    private static RetryPolicy BookkeepingRetries => new()
    {
        InitialInterval = TimeSpan.FromSeconds(1),
        BackoffCoefficient = 2,
        MaximumInterval = TimeSpan.FromMinutes(1),
    };

    private static RetryPolicy BusinessStepRetries => new()
    {
        InitialInterval = TimeSpan.FromSeconds(1),
        BackoffCoefficient = 2,
        MaximumInterval = TimeSpan.FromSeconds(30),
        MaximumAttempts = 10,
    };

    private static TimeSpan SettlementCheckInterval => TimeSpan.FromMinutes(2);

    /// <summary>
    /// Gets options for a short, idempotent request to a provider that must survive a lost worker quickly (create an
    /// authorisation or a refund): an attempt has 30 seconds, the time the HTTP client's own retries may take, and
    /// a lost one is retried a second later, until <paramref name="deadline"/>.
    /// </summary>
    public static ActivityOptions ProviderRequest(TimeSpan deadline) => new()
    {
        StartToCloseTimeout = TimeSpan.FromSeconds(30),
        ScheduleToCloseTimeout = deadline,
        RetryPolicy = new RetryPolicy
        {
            InitialInterval = TimeSpan.FromSeconds(1),
            BackoffCoefficient = 2,
            MaximumInterval = TimeSpan.FromSeconds(10),
        },
    };

    /// <summary>
    /// Gets options for waiting for a provider's settlement (async completion by its webhook). Each attempt waits at
    /// most two minutes; the next one first asks the provider, so a late or lost webhook costs minutes, not the
    /// whole <paramref name="deadline"/>, after which the step times out.
    /// </summary>
    public static ActivityOptions AwaitingSettlement(TimeSpan deadline) => new()
    {
        StartToCloseTimeout = deadline < SettlementCheckInterval ? deadline : SettlementCheckInterval,
        ScheduleToCloseTimeout = deadline,
        RetryPolicy = new RetryPolicy { InitialInterval = TimeSpan.FromSeconds(1), BackoffCoefficient = 1 },
    };

    /// <summary>
    /// An activity completed by a provider's callback (async completion): one attempt waits up to
    /// <paramref name="waitForCallback"/>; a second attempt re-asks the provider with the same idempotency key in
    /// case the first callback was lost.
    /// </summary>
    public static ActivityOptions AwaitingCallback(TimeSpan waitForCallback) => new()
    {
        StartToCloseTimeout = waitForCallback,
        RetryPolicy = new RetryPolicy { InitialInterval = TimeSpan.FromSeconds(1), MaximumAttempts = 2 },
    };

    private static ActivityOptions Detached(ActivityOptions options)
    {
        options.CancellationToken = CancellationToken.None;
        return options;
    }
}

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
        RetryPolicy = new RetryPolicy
        {
            InitialInterval = TimeSpan.FromSeconds(1),
            BackoffCoefficient = 2,
            MaximumInterval = TimeSpan.FromMinutes(1),
        },
    };

    /// <summary>Gets options for business steps that can fail for good (validation, stock): business failures are non-retryable.</summary>
    public static ActivityOptions BusinessStep => new()
    {
        StartToCloseTimeout = TimeSpan.FromSeconds(30),
        RetryPolicy = new RetryPolicy
        {
            InitialInterval = TimeSpan.FromSeconds(1),
            BackoffCoefficient = 2,
            MaximumInterval = TimeSpan.FromSeconds(30),
            MaximumAttempts = 10,
        },
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
    /// An activity completed by a provider's callback (async completion): one attempt waits up to
    /// <paramref name="waitForCallback"/>; a second attempt re-asks the provider with the same idempotency key in
    /// case the first callback was lost.
    /// </summary>
    public static ActivityOptions AwaitingCallback(TimeSpan waitForCallback) => new()
    {
        StartToCloseTimeout = waitForCallback,
        RetryPolicy = new RetryPolicy { InitialInterval = TimeSpan.FromSeconds(1), MaximumAttempts = 2 },
    };
}

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Stateset.ServiceDefaults.Telemetry;

/// <summary>
/// The names our own spans and metrics are published under, and the business instruments. Static because
/// <see cref="ActivitySource"/> and <see cref="Meter"/> are process-wide by name: every listener (OpenTelemetry,
/// tests) subscribes by these names.
/// </summary>
public static class StatesetTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> name of the spans the Temporal interceptor creates.</summary>
    public const string TemporalSourceName = "Stateset.Temporal";

    /// <summary>
    /// The <see cref="Meter"/> name of the business metrics. The approval wait histogram (<c>stateset.approval.wait</c>)
    /// is published under the same name by the activity that records approval decisions.
    /// </summary>
    public const string MeterName = "Stateset.Workflows";

    /// <summary>The source of the Temporal spans (client calls, workflow runs, signals, activities).</summary>
    public static readonly ActivitySource TemporalSource = new(TemporalSourceName);

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Workflows started by a client of ours, by <c>workflow.type</c>.</summary>
    public static readonly Counter<long> WorkflowsStarted = Meter.CreateCounter<long>(
        "stateset.workflows.started", "{workflow}", "Workflows started by the gateway or another client of ours.");

    /// <summary>Workflow runs that ended, by <c>workflow.type</c> and <c>status</c> (the result's business status, or <c>failed</c>).</summary>
    public static readonly Counter<long> WorkflowsCompleted = Meter.CreateCounter<long>(
        "stateset.workflows.completed", "{workflow}", "Workflow runs that ended, by business status.");

    /// <summary>Workflow runs that ended by unwinding their saga (cancelled, rejected, expired, declined or failed).</summary>
    public static readonly Counter<long> WorkflowsCompensated = Meter.CreateCounter<long>(
        "stateset.workflows.compensated", "{workflow}", "Workflow runs that ran their compensations instead of completing.");

    /// <summary>Activity attempt durations, by <c>activity.type</c> and <c>outcome</c>.</summary>
    public static readonly Histogram<double> ActivityDuration = Meter.CreateHistogram<double>(
        "stateset.activity.duration", "s", "Duration of each activity attempt.");

    /// <summary>Failed activity attempts, by <c>activity.type</c> and <c>error.type</c>.</summary>
    public static readonly Counter<long> ActivityFailures = Meter.CreateCounter<long>(
        "stateset.activity.failures", "{attempt}", "Activity attempts that failed (retried or not).");

    /// <summary>How many start requests' idempotency claims one database statement wrote (the gateway groups them under load).</summary>
    public static readonly Histogram<int> ClaimGroupSize = Meter.CreateHistogram<int>(
        "stateset.gateway.claim_group.size", "{claim}", "Idempotency claims written together by one statement.");
}

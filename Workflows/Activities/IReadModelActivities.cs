using System.Text.Json;
using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>
/// A workflow's own read-model row. <paramref name="Sequence"/> grows with every update the workflow makes, so a
/// late retry of an older update never overwrites a newer one.
/// </summary>
/// <remarks>
/// <para><c>WorkflowId</c>: The workflow id (order-…, refund-…, label-…, rma-…).</para>
/// <para><c>BusinessId</c>: The order, refund, shipment or return id the run is about.</para>
/// <para><c>OccurredAt</c>: The workflow's clock (<c>Workflow.UtcNow</c>) at the update.</para>
/// <para><c>Closed</c>: True on the final update; sets <c>closed_at</c>.</para>
/// <para><c>Details</c>: Small facts for lists (tracking number, RMA number); merged into the stored details.</para>
/// </remarks>
public sealed record WorkflowRunUpdate(
    string WorkflowId,
    string WorkflowType,
    string BusinessId,
    string? CustomerId,
    string Status,
    string Stage,
    long Sequence,
    DateTimeOffset OccurredAt,
    decimal? Amount = null,
    string? Currency = null,
    bool Closed = false,
    IReadOnlyDictionary<string, string>? Details = null)
{
    /// <summary>
    /// Gets the run's whole status view (its <c>Status</c> query answer, in <c>StatusViewJson</c>'s wire form), which
    /// the gateway answers reads with; null from runs recorded before views were stored.
    /// </summary>
    public JsonElement? View { get; init; }

    /// <summary>Gets the Temporal run id that wrote the update, for the Temporal UI link.</summary>
    public string? RunId { get; init; }
}

/// <summary>Ask an operator to decide.</summary>
/// <remarks>
/// <para><c>SubjectType</c>: order, refund or return.</para>
/// </remarks>
public sealed record ApprovalRequest(string WorkflowId, string SubjectType, string SubjectId, string Reason, DateTimeOffset RequestedAt, DateTimeOffset? ExpiresAt = null)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>An operator's (or the expiry timer's) decision.</summary>
/// <remarks>
/// <para><c>Decision</c>: approved, rejected or expired.</para>
/// </remarks>
public sealed record ApprovalDecision(string WorkflowId, string SubjectType, string SubjectId, string Decision, string DecidedBy, DateTimeOffset DecidedAt, string? Reason = null)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>Read models (one row per workflow run) and approval records.</summary>
public interface IReadModelActivities
{
    /// <summary>Inserts or advances the run's row and writes <c>workflow.updated</c> when it changed.</summary>
    /// <returns>False when the row already held this or a newer sequence (a retry or an out-of-order update).</returns>
    [Activity]
    Task<bool> UpsertWorkflowRunAsync(WorkflowRunUpdate update);

    /// <summary>
    /// Writes a step that changes no rows of its own beyond the order's status (delivery, the end of an unwind): the
    /// record's status moves, email and read-model row, in one transaction.
    /// </summary>
    [Activity]
    Task RecordStepAsync(StepRecord record);

    /// <summary>Records that the run waits for a human; idempotent per workflow and subject.</summary>
    [Activity]
    Task RequestApprovalAsync(ApprovalRequest request);

    /// <summary>Records the decision once; a second, different decision for the same request is refused.</summary>
    [Activity]
    Task RecordApprovalDecisionAsync(ApprovalDecision decision);
}

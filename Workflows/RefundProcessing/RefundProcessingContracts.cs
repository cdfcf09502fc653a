using Stateset.Workflows.Common;

namespace Stateset.Workflows.RefundProcessing;

/// <summary>Refund part or all of an order's captured payment.</summary>
/// <param name="RefundId">The caller's refund id: the workflow's business id and the provider's idempotency key.</param>
/// <param name="RequestedBy">Who asked (an operator, the returns workflow).</param>
/// <param name="ReturnId">The return this refund settles, when it comes from one.</param>
/// <param name="Policy">Overrides of the default approval policy; null uses <see cref="RefundPolicy.Default"/>.</param>
public sealed record RefundRequest(
    string RefundId,
    string OrderId,
    string CustomerId,
    decimal Amount,
    string Currency,
    string Reason,
    string RequestedBy,
    string? ReturnId = null,
    RefundPolicy? Policy = null);

/// <summary>When a refund needs a person, and how long the people have.</summary>
/// <param name="AutoApproveUpTo">Refunds up to this amount (in the refund's currency) are approved without a person.</param>
/// <param name="ApprovalReminder">Before reminding operators.</param>
/// <param name="ApprovalExpiry">Before an undecided refund is escalated.</param>
/// <param name="EscalationExpiry">After escalation, before the refund is closed as expired.</param>
/// <param name="ProviderCallback">For the provider to settle the refund.</param>
public sealed record RefundPolicy(
    decimal AutoApproveUpTo,
    TimeSpan ApprovalReminder,
    TimeSpan ApprovalExpiry,
    TimeSpan EscalationExpiry,
    TimeSpan ProviderCallback)
{
    /// <summary>Gets the defaults: auto-approve up to 100, remind after 12 h, escalate after 48 h, close after 5 more days, 15 min for the provider.</summary>
    public static RefundPolicy Default { get; } = new(
        100m, TimeSpan.FromHours(12), TimeSpan.FromHours(48), TimeSpan.FromDays(5), TimeSpan.FromMinutes(15));
}

/// <summary>The answer to the refund's status query.</summary>
public sealed record RefundStatus(
    string RefundId,
    string OrderId,
    string Status,
    string Stage,
    decimal Amount,
    string Currency,
    decimal? Refundable,
    bool Escalated,
    IReadOnlyList<TimelineEntry> Timeline,
    PendingApproval? PendingApproval,
    DecisionRecord? Decision,
    string? ProviderRefundId,
    string? FailureReason);

/// <summary>How the refund ended: <c>refunded</c>, <c>rejected</c> or <c>expired</c>.</summary>
public sealed record RefundResult(string RefundId, string Status, decimal Amount, string Currency, string? ProviderRefundId, string? Reason);

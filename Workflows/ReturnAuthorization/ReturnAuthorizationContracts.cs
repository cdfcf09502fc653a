using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;

namespace Stateset.Workflows.ReturnAuthorization;

/// <summary>A customer's request to return items of a delivered order.</summary>
public sealed record AuthorizeReturnInput(
    string ReturnId,
    string OrderId,
    string CustomerId,
    IReadOnlyList<ReturnLine> Lines,
    string? Reason = null,
    ReturnPolicy? Policy = null);

/// <summary>When a return needs a person, and how long each party has.</summary>
/// <param name="AutoApproveUpTo">Returns refunding up to this amount are approved without a person.</param>
/// <param name="ApprovalReminder">Before reminding operators.</param>
/// <param name="ApprovalExpiry">Before an undecided return is closed.</param>
/// <param name="ReceiptExpiry">For the parcel to reach the warehouse before the RMA closes and the label is voided.</param>
/// <param name="InspectionExpiry">For the warehouse to report its inspection before the declared conditions are used.</param>
public sealed record ReturnPolicy(
    decimal AutoApproveUpTo,
    TimeSpan ApprovalReminder,
    TimeSpan ApprovalExpiry,
    TimeSpan ReceiptExpiry,
    TimeSpan InspectionExpiry)
{
    /// <summary>Gets the defaults: auto-approve up to 150, remind after 24 h, expire after 72 h, 30 days to receive, 7 days to inspect.</summary>
    public static ReturnPolicy Default { get; } = new(
        150m, TimeSpan.FromHours(24), TimeSpan.FromHours(72), TimeSpan.FromDays(30), TimeSpan.FromDays(7));
}

/// <summary>The warehouse received the parcel.</summary>
public sealed record ReturnReceipt(string ReceivedBy, string? Note = null);

/// <summary>The warehouse inspected the returned items; <see cref="Lines"/> give each SKU's actual condition.</summary>
public sealed record InspectionReport(string InspectedBy, IReadOnlyList<InspectedLine> Lines);

/// <summary>One SKU's condition as found: new, opened or damaged.</summary>
public sealed record InspectedLine(string Sku, string Condition);

/// <summary>The answer to the return's status query.</summary>
public sealed record ReturnStatus(
    string ReturnId,
    string OrderId,
    string? RmaNumber,
    string Status,
    string Stage,
    IReadOnlyList<TimelineEntry> Timeline,
    PendingApproval? PendingApproval,
    DecisionRecord? Decision,
    ReturnEligibility? Eligibility,
    string? ReturnTrackingNumber,
    ReturnReceipt? Receipt,
    InspectionReport? Inspection,
    decimal? RefundAmount,
    IReadOnlyList<string> CompensationsRun,
    string? FailureReason);

/// <summary>How the return ended: <c>closed</c> (refunded), <c>rejected</c> or <c>expired</c>.</summary>
public sealed record AuthorizeReturnResult(string ReturnId, string? RmaNumber, string Status, decimal RefundAmount, decimal RestockingFee, string Currency, string? Reason);

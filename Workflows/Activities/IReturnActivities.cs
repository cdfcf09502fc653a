using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>One line the customer wants to return.</summary>
/// <remarks>
/// <para><c>Condition</c>: new, opened or damaged (drives the restocking fee).</para>
/// <para><c>Reason</c>: Free text; <c>defective</c> or <c>wrong_item</c> waive the restocking fee.</para>
/// </remarks>
public sealed record ReturnLine(string Sku, int Quantity, string Condition = "new", string? Reason = null);

/// <summary>A return request for a delivered order.</summary>
public sealed record ReturnRequest(string ReturnId, string OrderId, IReadOnlyList<ReturnLine> Lines, string? Reason = null);

/// <summary>The decision on one line, with the money it is worth.</summary>
/// <remarks>
/// <para><c>IneligibleReason</c>: Why not, when not eligible.</para>
/// </remarks>
public sealed record ReturnLineDecision(
    string Sku,
    int Quantity,
    bool Eligible,
    string? IneligibleReason,
    decimal UnitPrice,
    decimal LineTotal,
    decimal RestockingFee);

/// <summary>Eligibility of a whole request: eligible only when every line is.</summary>
public sealed record ReturnEligibility(
    string ReturnId,
    string OrderId,
    bool Eligible,
    IReadOnlyList<ReturnLineDecision> Lines,
    string Currency,
    decimal ItemTotal,
    decimal RestockingFee,
    decimal RefundAmount);

/// <summary>An opened return with its RMA number.</summary>
public sealed record OpenedReturn(string ReturnId, string RmaNumber, string OrderId, string CustomerId, ReturnEligibility Eligibility);

/// <summary>Moves a return to a new status (approved, rejected, label_issued, received, inspected, refunded, closed, expired, cancelled).</summary>
public sealed record UpdateReturnStatusInput(string ReturnId, string Status, DateTimeOffset OccurredAt, string? Reason = null);

/// <summary>One SKU's condition as the warehouse found it: new, opened or damaged.</summary>
public sealed record InspectedCondition(string Sku, string Condition);

/// <summary>The warehouse's inspection of a received return.</summary>
public sealed record RecordInspectionInput(string ReturnId, string InspectedBy, IReadOnlyList<InspectedCondition> Lines)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>Returns: eligibility and fees, RMA records and their status, the inspection that settles the fee.</summary>
public interface IReturnActivities
{
    /// <summary>
    /// Checks each line: order delivered, inside the product's return window, returnable, quantity not already
    /// returned; prices the refund and restocking fee. Reads only.
    /// </summary>
    [Activity]
    Task<ReturnEligibility> CheckReturnEligibilityAsync(ReturnRequest request);

    /// <summary>
    /// Re-checks eligibility under the order's lock (so two returns cannot claim the same units) and stores the
    /// return with an RMA number. Idempotent by return id; throws non-retryable <see cref="CommerceErrorTypes.ReturnNotEligible"/>.
    /// </summary>
    [Activity]
    Task<OpenedReturn> OpenReturnAsync(ReturnRequest request);

    /// <summary>Sets the return's status and timestamps and writes <c>return.status_changed</c> when it changed.</summary>
    [Activity]
    Task UpdateReturnStatusAsync(UpdateReturnStatusInput input);

    /// <summary>
    /// Stores each line's inspected condition and re-prices the return with the same fee rules eligibility uses
    /// (a damaged item carries a restocking fee unless the customer's reason waives it); idempotent per return.
    /// </summary>
    [Activity]
    Task<ReturnEligibility> RecordInspectionAsync(RecordInspectionInput input);
}

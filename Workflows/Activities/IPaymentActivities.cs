using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>Authorise an order's amount at the payment provider.</summary>
/// <remarks>
/// <para><c>PaymentMethod</c>: The provider's payment method token (in the sandbox: a test card number).</para>
/// </remarks>
public sealed record AuthorizePaymentInput(
    string OrderId,
    string CustomerId,
    decimal Amount,
    string Currency,
    string PaymentMethod)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>
/// The outcome of an authorisation. <see cref="IPaymentActivities.AuthorizePaymentAsync"/> completes
/// asynchronously: the gateway's payment callback completes the activity with this record (or fails it with
/// <see cref="CommerceErrorTypes.PaymentDeclined"/>).
/// </summary>
public sealed record PaymentAuthorization(string PaymentId, string ProviderPaymentId, decimal Amount, string Currency);

/// <summary>
/// An authorisation created at the provider by <see cref="IPaymentActivities.CreatePaymentAuthorizationAsync"/>;
/// its outcome comes from <see cref="IPaymentActivities.AwaitPaymentAuthorizationAsync"/>.
/// </summary>
/// <remarks>
/// <para><c>Status</c>: Our payment's status: pending (the provider settles it later) or authorized.</para>
/// </remarks>
public sealed record PaymentAuthorizationRequested(string PaymentId, string? ProviderPaymentId, string Status);

/// <summary>
/// A refund created at the provider by <see cref="IPaymentActivities.CreateRefundAsync"/>; its outcome comes from
/// <see cref="IPaymentActivities.AwaitRefundSettlementAsync"/>.
/// </summary>
/// <remarks>
/// <para><c>Status</c>: Our refund's status: pending (the provider settles it later) or succeeded.</para>
/// </remarks>
public sealed record RefundRequested(string RefundId, string PaymentId, string? ProviderRefundId, string Status);

/// <summary>Capture an authorised payment; null amount captures all of it.</summary>
public sealed record CapturePaymentInput(string PaymentId, decimal? Amount = null)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>What was captured.</summary>
public sealed record PaymentCapture(string PaymentId, decimal CapturedAmount, string Currency);

/// <summary>Refund part or all of a captured payment.</summary>
/// <remarks>
/// <para><c>RefundId</c>: The caller's refund id (the RefundProcessing workflow's business id); it is the idempotency key.</para>
/// </remarks>
public sealed record RefundPaymentInput(string RefundId, string PaymentId, decimal Amount, string Currency, string? Reason = null, string? ReturnId = null)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>Close a settled refund: book it in the ledger (once) and write the step's record with it.</summary>
public sealed record CloseRefundInput(string RefundId)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>How much of a payment can still be refunded.</summary>
public sealed record RefundableAmount(string PaymentId, string OrderId, decimal Captured, decimal Refunded, decimal Refundable, string Currency);

/// <summary>A settled refund; <see cref="IPaymentActivities.RefundPaymentAsync"/> completes asynchronously with it.</summary>
public sealed record RefundSettlement(string RefundId, string ProviderRefundId, decimal Amount, string Currency);

/// <summary>Payments at the provider: authorise (async), capture, void, refund (async), and the refund ledger.</summary>
public interface IPaymentActivities
{
    /// <summary>
    /// Creates the authorisation at the provider (idempotency key <c>{orderId}:authorize</c>), stores this
    /// attempt's task token with the payment and returns by throwing <see cref="CompleteAsyncException"/>; the
    /// provider's settlement webhook completes it. Declines are non-retryable <see cref="CommerceErrorTypes.PaymentDeclined"/>.
    /// </summary>
    /// <remarks>
    /// Kept for runs that started before <see cref="CreatePaymentAuthorizationAsync"/> and
    /// <see cref="AwaitPaymentAuthorizationAsync"/> replaced it: one attempt both asks the provider and waits the
    /// whole callback deadline, so an attempt lost with its worker is retried only after that deadline.
    /// </remarks>
    [Activity]
    Task<PaymentAuthorization> AuthorizePaymentAsync(AuthorizePaymentInput input);

    /// <summary>
    /// Records the payment and creates its authorisation at the provider (idempotency key <c>{orderId}:authorize</c>),
    /// then returns at once: a short step, safe to retry the moment an attempt is lost. Immediate declines are
    /// non-retryable <see cref="CommerceErrorTypes.PaymentDeclined"/>.
    /// </summary>
    [Activity]
    Task<PaymentAuthorizationRequested> CreatePaymentAuthorizationAsync(AuthorizePaymentInput input);

    /// <summary>
    /// Waits for the authorisation's outcome: answers from the payment row when it is settled, else stores this
    /// attempt's task token and completes asynchronously when the provider's webhook settles it. A retried attempt
    /// (the callback is late) first reads the payment's state from the provider and settles from that.
    /// Declines are non-retryable <see cref="CommerceErrorTypes.PaymentDeclined"/>.
    /// </summary>
    [Activity]
    Task<PaymentAuthorization> AwaitPaymentAuthorizationAsync(string paymentId);

    /// <summary>Captures an authorised payment once (provider key <c>{paymentId}:capture</c>).</summary>
    [Activity]
    Task<PaymentCapture> CapturePaymentAsync(CapturePaymentInput input);

    /// <summary>Voids an uncaptured authorisation (compensation); voiding twice is a no-op.</summary>
    [Activity]
    Task VoidPaymentAsync(string paymentId);

    /// <summary>Reads captured minus already refunded (pending refunds count as refunded) for validation.</summary>
    [Activity]
    Task<RefundableAmount> GetRefundableAmountAsync(string paymentId);

    /// <summary>
    /// Records the refund (never above captured minus refunded), asks the provider (key <c>{refundId}:refund</c>)
    /// and completes asynchronously when the provider's webhook settles it.
    /// </summary>
    /// <remarks>Kept for runs that started before <see cref="CreateRefundAsync"/> and <see cref="AwaitRefundSettlementAsync"/> replaced it.</remarks>
    [Activity]
    Task<RefundSettlement> RefundPaymentAsync(RefundPaymentInput input);

    /// <summary>
    /// Records the refund (never above captured minus refunded) and creates it at the provider (key
    /// <c>{refundId}:refund</c>), then returns at once. A refund the provider refuses is non-retryable
    /// <see cref="CommerceErrorTypes.RefundFailed"/>.
    /// </summary>
    [Activity]
    Task<RefundRequested> CreateRefundAsync(RefundPaymentInput input);

    /// <summary>
    /// Waits for the refund's outcome like <see cref="AwaitPaymentAuthorizationAsync"/>: from the row, else by
    /// async completion from the provider's webhook; a retried attempt asks the provider first.
    /// </summary>
    [Activity]
    Task<RefundSettlement> AwaitRefundSettlementAsync(string refundId);

    /// <summary>Books the settled refund in the ledger, once per refund (settlement already books it; this is a no-op then).</summary>
    [Activity]
    Task RecordRefundLedgerEntryAsync(string refundId);

    /// <summary>
    /// Books the settled refund like <see cref="RecordRefundLedgerEntryAsync"/> and writes <see cref="CloseRefundInput.Record"/>
    /// (the customer's email, the closed read-model row) in the same transaction.
    /// </summary>
    [Activity]
    Task CloseRefundAsync(CloseRefundInput input);
}

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
    string PaymentMethod);

/// <summary>
/// The outcome of an authorisation. <see cref="IPaymentActivities.AuthorizePaymentAsync"/> completes
/// asynchronously: the gateway's payment callback completes the activity with this record (or fails it with
/// <see cref="CommerceErrorTypes.PaymentDeclined"/>).
/// </summary>
public sealed record PaymentAuthorization(string PaymentId, string ProviderPaymentId, decimal Amount, string Currency);

/// <summary>Capture an authorised payment; null amount captures all of it.</summary>
public sealed record CapturePaymentInput(string PaymentId, decimal? Amount = null);

/// <summary>What was captured.</summary>
public sealed record PaymentCapture(string PaymentId, decimal CapturedAmount, string Currency);

/// <summary>Refund part or all of a captured payment.</summary>
/// <remarks>
/// <para><c>RefundId</c>: The caller's refund id (the RefundProcessing workflow's business id); it is the idempotency key.</para>
/// </remarks>
public sealed record RefundPaymentInput(string RefundId, string PaymentId, decimal Amount, string Currency, string? Reason = null, string? ReturnId = null);

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
    [Activity]
    Task<PaymentAuthorization> AuthorizePaymentAsync(AuthorizePaymentInput input);

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
    [Activity]
    Task<RefundSettlement> RefundPaymentAsync(RefundPaymentInput input);

    /// <summary>Books the settled refund in the ledger, once per refund.</summary>
    [Activity]
    Task RecordRefundLedgerEntryAsync(string refundId);
}

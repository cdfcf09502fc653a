namespace Stateset.Activities.Payments;

/// <summary>An authorisation request as a provider needs it; ids go to the provider as metadata for its webhooks.</summary>
public sealed record ProviderAuthorizeRequest(string PaymentId, string OrderId, decimal Amount, string Currency, string PaymentMethod);

/// <summary>A payment as the provider reports it.</summary>
/// <remarks><c>Status</c>: processing (settles later by webhook), requires_capture, declined, succeeded (captured), canceled.</remarks>
public sealed record ProviderPayment(
    string Id, string Status, decimal Amount, decimal AmountCaptured, string Currency, string? FailureCode = null, string? FailureMessage = null);

/// <summary>A refund request against a captured payment.</summary>
public sealed record ProviderRefundRequest(string RefundId, string PaymentId, string ProviderPaymentId, decimal Amount, string Currency);

/// <summary>A refund as the provider reports it.</summary>
/// <remarks><c>Status</c>: pending (settles later by webhook), succeeded, failed.</remarks>
public sealed record ProviderRefund(string Id, string Status, decimal Amount, string Currency, string? FailureReason = null);

/// <summary>
/// A payment service provider. Every call carries an idempotency key derived from our ids, so a retried call
/// returns the first call's result instead of charging again. Implementations throw
/// <see cref="PaymentDeclinedException"/> for card declines, <see cref="PaymentRequestRejectedException"/> for
/// requests the provider will never accept, and anything else (HttpRequestException, timeouts) for transient faults.
/// </summary>
public interface IPaymentProvider
{
    /// <summary>Gets the provider's name as stored in <c>payments.provider</c>.</summary>
    string Name { get; }

    /// <summary>Starts an authorisation; the outcome normally arrives later by webhook.</summary>
    Task<ProviderPayment> AuthorizeAsync(ProviderAuthorizeRequest request, string idempotencyKey, CancellationToken ct);

    /// <summary>Captures (part of) an authorised payment.</summary>
    Task<ProviderPayment> CaptureAsync(string providerPaymentId, decimal amount, string currency, string idempotencyKey, CancellationToken ct);

    /// <summary>Cancels an uncaptured authorisation.</summary>
    Task<ProviderPayment> VoidAsync(string providerPaymentId, string idempotencyKey, CancellationToken ct);

    /// <summary>Starts a refund; the outcome normally arrives later by webhook.</summary>
    Task<ProviderRefund> RefundAsync(ProviderRefundRequest request, string idempotencyKey, CancellationToken ct);

    /// <summary>Reads a payment as the provider has it now (when its webhook is late).</summary>
    Task<ProviderPayment> GetPaymentAsync(string providerPaymentId, CancellationToken ct);

    /// <summary>Reads a refund as the provider has it now (when its webhook is late).</summary>
    Task<ProviderRefund> GetRefundAsync(string providerRefundId, CancellationToken ct);
}

/// <summary>The provider declined the card; retrying the same request cannot succeed.</summary>
public sealed class PaymentDeclinedException(string declineCode, string message) : Exception(message)
{
    /// <summary>Gets the provider's decline code (card_declined, insufficient_funds, …).</summary>
    public string DeclineCode { get; } = declineCode;
}

/// <summary>The provider refused the request as invalid (bad state, bad amount, reused idempotency key).</summary>
public sealed class PaymentRequestRejectedException(string code, string message) : Exception(message)
{
    /// <summary>Gets the provider's error code.</summary>
    public string Code { get; } = code;
}

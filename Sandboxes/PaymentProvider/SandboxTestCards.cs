namespace Stateset.Sandboxes.PaymentProvider;

/// <summary>
/// Payment method numbers that make the sandbox behave like a PSP's test mode (the numbers are Stripe's own test
/// cards where Stripe has one). Any other value authorises like <see cref="Approved"/>.
/// </summary>
public static class SandboxTestCards
{
    /// <summary>Authorises; settles by <c>payment_intent.authorized</c> after the settle delay.</summary>
    public const string Approved = "4242424242424242";

    /// <summary>Declined at once: 402 <c>card_declined</c>.</summary>
    public const string DeclinedImmediately = "4000000000000002";

    /// <summary>Accepted, then declined asynchronously: <c>payment_intent.declined</c> with <c>insufficient_funds</c>.</summary>
    public const string DeclinedAsynchronously = "4000000000009995";

    /// <summary>Authorises, and every webhook about it is delivered twice (same event id).</summary>
    public const string DuplicateWebhooks = "4000000000000259";

    /// <summary>The first request under each idempotency key fails with 500 before doing anything; a retry succeeds.</summary>
    public const string ProviderErrorOnce = "4000000000000119";

    /// <summary>The first request under each idempotency key is processed, but its response is held for the timeout delay.</summary>
    public const string TimeoutOnce = "4000000000006975";

    /// <summary>Authorises and captures, but refunds fail asynchronously: <c>refund.failed</c>.</summary>
    public const string RefundFails = "4000000000005126";
}

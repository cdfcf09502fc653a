namespace Stateset.Sandboxes.PaymentProvider;

/// <summary>How the payment provider sandbox behaves (configuration section <c>Sandboxes:PaymentProvider</c>).</summary>
public sealed class PaymentProviderSandboxOptions
{
    /// <summary>
    /// Gets or sets where settlement webhooks are POSTed. A relative URL is resolved against the sandbox's own
    /// address (tests receive webhooks in-process); null settles silently (clients can still GET the object).
    /// </summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>Gets or sets the secret webhooks are signed with (must equal the gateway's <c>PaymentProvider:WebhookSecret</c>).</summary>
    public string WebhookSecret { get; set; } = "whsec_sandbox";

    /// <summary>
    /// Gets or sets a JSON file the sandbox keeps its payment intents, refunds and idempotency records in, so after a
    /// restart of the local stack it still knows the payments it authorised, as a real provider would; null keeps them
    /// in memory only (the tests' default).
    /// </summary>
    public string? StateFile { get; set; }

    /// <summary>Gets or sets the API key clients must send as a bearer token; empty accepts any caller.</summary>
    public string ApiKey { get; set; } = string.Empty;

    /// <summary>Gets or sets how long after a request authorisations and refunds settle (0 in tests).</summary>
    public TimeSpan SettleDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets how long the timeout test card holds its first response (longer than the client's attempt timeout).</summary>
    public TimeSpan TimeoutDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how many times a webhook is sent before the sandbox gives up on a receiver that fails.</summary>
    public int WebhookAttempts { get; set; } = 5;

    /// <summary>Gets or sets the first pause between webhook attempts; it doubles each time.</summary>
    public TimeSpan WebhookRetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

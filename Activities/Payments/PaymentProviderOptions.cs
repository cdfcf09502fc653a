namespace Stateset.Activities.Payments;

/// <summary>Where the payment provider is and how to trust its webhooks (configuration section <c>PaymentProvider</c>).</summary>
public sealed class PaymentProviderOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "PaymentProvider";

    /// <summary>Gets or sets the provider's name stored with payments.</summary>
    public string Name { get; set; } = "sandbox";

    /// <summary>Gets or sets the API's base address, ending in '/', e.g. <c>http://127.0.0.1:5080/psp/v1/</c>.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Gets or sets the secret API key sent as a bearer token.</summary>
    public string ApiKey { get; set; } = string.Empty;

    /// <summary>Gets or sets the secret the provider signs its webhooks with.</summary>
    public string WebhookSecret { get; set; } = string.Empty;

    /// <summary>Gets or sets how old a webhook signature may be before it counts as a replay.</summary>
    public TimeSpan WebhookTolerance { get; set; } = TimeSpan.FromMinutes(5);
}

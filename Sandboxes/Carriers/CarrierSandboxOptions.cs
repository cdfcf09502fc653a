namespace Stateset.Sandboxes.Carriers;

/// <summary>Configuration of the carriers sandbox (section <c>CarrierSandbox</c>).</summary>
public sealed class CarrierSandboxOptions
{
    /// <summary>The configuration section the host binds.</summary>
    public const string Section = "CarrierSandbox";

    /// <summary>Gets or sets the URL tracking webhooks are POSTed to; none are sent when empty.</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>Gets or sets the secret for the webhooks' HMAC-SHA256 signature (shared with the receiver).</summary>
    public string WebhookSecret { get; set; } = "carrier-sandbox-webhook-secret";

    /// <summary>Gets or sets the API key callers must send as <c>Authorization: Bearer</c>; any caller is accepted when empty.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Gets or sets the delay added to every carrier API call (all carriers) to simulate a slow network.</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Gets or sets a file that keeps the labels sold (and the idempotency keys they were bought with) across restarts,
    /// so a parcel labelled before a restart can still be scanned after it; in memory only when unset. Faults and call
    /// counts are not kept: they are a test's settings, not the carrier's records.
    /// </summary>
    public string? StateFile { get; set; }

    /// <summary>Gets the initial faults per carrier code, e.g. <c>CarrierSandbox:Faults:ridgeline:Down=true</c>.</summary>
    public Dictionary<string, CarrierFaults> Faults { get; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Failures injected into one sandbox carrier; changeable at run time through <c>PUT /carriers/{carrier}/sandbox/faults</c>.</summary>
public sealed record CarrierFaults
{
    /// <summary>Gets a value indicating whether every API call answers 503 Service Unavailable.</summary>
    public bool Down { get; init; }

    /// <summary>Gets a value indicating whether label purchases answer 500 (rates and voids still work).</summary>
    public bool FailPurchases { get; init; }

    /// <summary>Gets the delay added to this carrier's calls, on top of <see cref="CarrierSandboxOptions.Latency"/>.</summary>
    public TimeSpan Latency { get; init; }
}

namespace Stateset.Activities.Outbox;

/// <summary>How outbox events are delivered to webhook subscribers (configuration section <c>Outbox:Webhooks</c>).</summary>
public sealed class WebhookDispatcherOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Outbox:Webhooks";

    /// <summary>Gets or sets how many deliveries one pass claims.</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>Gets or sets the attempts after which a delivery is given up (status <c>dead</c>).</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>Gets or sets the pause after the first failure; it doubles per attempt, with ±20% jitter.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets the longest pause between attempts.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets how long one HTTP attempt may take.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how long a claimed delivery stays invisible to other dispatchers (covers a crash mid-send).</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets or sets the pause of the background loop when nothing was due.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
}

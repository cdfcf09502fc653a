using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Stateset.Activities.Shipping;

/// <summary>Settings of carrier tracking webhooks (keys <c>Shipping:WebhookSecret</c>, <c>Shipping:WebhookTolerance</c>).</summary>
public sealed class TrackingWebhookOptions
{
    /// <summary>Gets or sets the secret the carriers sign webhooks with.</summary>
    public string WebhookSecret { get; set; } = string.Empty;

    /// <summary>Gets or sets how far a webhook's signed timestamp may be from our clock.</summary>
    public TimeSpan WebhookTolerance { get; set; } = CarrierWebhookSignature.DefaultTolerance;
}

/// <summary>What became of a received tracking webhook.</summary>
public enum TrackingWebhookOutcome
{
    /// <summary>New event, stored; the shipment moved if the event moves it.</summary>
    Recorded,

    /// <summary>The carrier re-sent an event already stored (carriers deliver at least once); nothing changed.</summary>
    Duplicate,

    /// <summary>Missing, bad or stale signature; nothing stored.</summary>
    Rejected,

    /// <summary>Signed correctly, but the body is not a tracking event we can read; nothing stored.</summary>
    Malformed,
}

/// <summary>A carrier tracking event as the carrier sends it.</summary>
/// <param name="Id">The carrier's event id, unique per carrier; a re-sent event carries the same id.</param>
/// <param name="Status"><c>in_transit</c>, <c>delivered</c> or <c>exception</c>.</param>
/// <param name="Description">The carrier's text, e.g. an exception reason.</param>
public sealed record CarrierTrackingEvent(string Id, string Carrier, string TrackingNumber, string Status, string? Description, DateTimeOffset OccurredAt);

/// <summary>The outcome, and what the caller needs to signal the shipment's workflow.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Reason">Why a webhook was rejected or is malformed.</param>
/// <param name="Event">The event, for a recorded or duplicate webhook.</param>
/// <param name="ShipmentId">Our shipment with that carrier and tracking number, if there is one.</param>
/// <param name="OrderId">The shipment's order (whose workflow waits for shipped/delivered).</param>
/// <param name="Direction"><c>outbound</c> or <c>return</c>: only outbound parcels drive their order's workflow.</param>
public sealed record TrackingWebhookResult(
    TrackingWebhookOutcome Outcome,
    string? Reason,
    CarrierTrackingEvent? Event = null,
    string? ShipmentId = null,
    string? OrderId = null,
    string? Direction = null);

/// <summary>
/// Takes a carrier's tracking webhook as received (signature header and raw body), checks the signature, stores the
/// event once per carrier event id in <c>carrier_tracking_events</c> and moves the shipment forward (never back:
/// a late <c>in_transit</c> after <c>delivered</c> is stored but changes nothing), with its outbox event in the same
/// transaction. The gateway's carrier callback calls this, answers 401 for <see cref="TrackingWebhookOutcome.Rejected"/>,
/// 400 for <see cref="TrackingWebhookOutcome.Malformed"/> and 200 otherwise, and signals the order's workflow.
/// </summary>
public sealed class TrackingWebhookReceiver(NpgsqlDataSource database, IOptions<TrackingWebhookOptions> options, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly string[] Statuses = ["in_transit", "delivered", "exception"];

    /// <summary>Verifies, stores and applies one webhook.</summary>
    public async Task<TrackingWebhookResult> ReceiveAsync(string? signature, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var settings = options.Value;
        if (string.IsNullOrEmpty(settings.WebhookSecret))
        {
            throw new InvalidOperationException("Shipping:WebhookSecret is not set; carrier webhooks cannot be verified.");
        }

        var check = CarrierWebhookSignature.Verify(settings.WebhookSecret, signature, body, time.GetUtcNow(), settings.WebhookTolerance);
        if (check != WebhookSignatureCheck.Valid)
        {
            return new TrackingWebhookResult(TrackingWebhookOutcome.Rejected, $"signature {check.ToString().ToLowerInvariant()}");
        }

        CarrierTrackingEvent? tracking;
        try
        {
            tracking = JsonSerializer.Deserialize<CarrierTrackingEvent>(body, Json);
        }
        catch (JsonException e)
        {
            return new TrackingWebhookResult(TrackingWebhookOutcome.Malformed, $"The body is not a tracking event: {e.Message}");
        }

        if (tracking is not { Id.Length: > 0, Carrier.Length: > 0, TrackingNumber.Length: > 0 } || !Statuses.Contains(tracking.Status))
        {
            return new TrackingWebhookResult(
                TrackingWebhookOutcome.Malformed, "A tracking event needs id, carrier, trackingNumber and a status of in_transit, delivered or exception.");
        }

        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var shipment = await connection.QuerySingleOrDefaultAsync<ShipmentRow>(
            "SELECT id, order_id, direction FROM shipments WHERE carrier = @Carrier AND tracking_number = @TrackingNumber FOR UPDATE",
            new { tracking.Carrier, tracking.TrackingNumber },
            transaction);
        var inserted = await connection.ExecuteAsync(
            """
            INSERT INTO carrier_tracking_events (carrier, provider_event_id, tracking_number, shipment_id, status, description, occurred_at)
            VALUES (@Carrier, @Id, @TrackingNumber, @ShipmentId, @Status, @Description, @OccurredAt)
            ON CONFLICT (carrier, provider_event_id) DO NOTHING
            """,
            new { tracking.Carrier, tracking.Id, tracking.TrackingNumber, ShipmentId = shipment?.Id, tracking.Status, tracking.Description, OccurredAt = tracking.OccurredAt.ToUniversalTime() },
            transaction);
        if (inserted == 1 && shipment is not null)
        {
            var moved = await connection.ExecuteAsync(
                """
                UPDATE shipments SET
                    status = @Status,
                    shipped_at = CASE WHEN @Status IN ('in_transit', 'delivered') THEN coalesce(shipped_at, @OccurredAt) ELSE shipped_at END,
                    delivered_at = CASE WHEN @Status = 'delivered' THEN @OccurredAt ELSE delivered_at END,
                    updated_at = @Now
                WHERE id = @ShipmentId
                  AND status NOT IN ('delivered', 'voided', 'cancelled')
                  AND NOT (@Status = 'in_transit' AND status = 'in_transit')
                """,
                new { tracking.Status, OccurredAt = tracking.OccurredAt.ToUniversalTime(), Now = time.GetUtcNow(), ShipmentId = shipment.Id },
                transaction);
            if (moved == 1)
            {
                await connection.ExecuteAsync(
                    """
                    INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload)
                    VALUES (@Id, 'shipment', @ShipmentId, @EventType, @Payload::jsonb)
                    """,
                    new
                    {
                        Id = Guid.NewGuid(),
                        ShipmentId = shipment.Id,
                        EventType = $"shipment.{tracking.Status}",
                        Payload = JsonSerializer.Serialize(
                            new { ShipmentId = shipment.Id, shipment.Order_Id, tracking.Carrier, tracking.TrackingNumber, tracking.Status, tracking.Description, tracking.OccurredAt },
                            Json),
                    },
                    transaction);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new TrackingWebhookResult(
            inserted == 1 ? TrackingWebhookOutcome.Recorded : TrackingWebhookOutcome.Duplicate,
            Reason: null,
            tracking,
            shipment?.Id,
            shipment?.Order_Id,
            shipment?.Direction);
    }

    private sealed record ShipmentRow(string Id, string Order_Id, string Direction);
}

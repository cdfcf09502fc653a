using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;
using Stateset.Activities.Shipping.Carriers;
using Stateset.Activities.Shipping.Rendering;
using Stateset.Activities.Steps;
using Stateset.Workflows.Activities;
using Temporalio.Activities;
using Temporalio.Exceptions;

namespace Stateset.Activities.Shipping;

/// <summary>
/// The shipping activities. Idempotency comes from derived keys, never from remembering what ran: the label's id
/// and carrier idempotency key are <c>{shipmentId}:label</c> (unique in <c>labels</c>), a print job's id is
/// <c>{labelId}:print:{stationId}</c> (unique in <c>print_jobs</c>), and every write is <c>ON CONFLICT DO NOTHING</c>
/// or guarded by the row's state, so a retried or duplicated activity changes nothing the first one did not.
/// The inserts name no conflict target on purpose: id and idempotency key carry the same value in two unique
/// indexes, and a concurrent duplicate may trip either one first.
/// </summary>
public sealed class LabelActivities(
    NpgsqlDataSource database,
    RateShopper rateShopper,
    IEnumerable<ICarrierClient> carriers,
    TimeProvider time,
    ILogger<LabelActivities> logger) : ILabelActivities
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static CancellationToken Cancellation =>
        ActivityExecutionContext.HasCurrent ? ActivityExecutionContext.Current.CancellationToken : CancellationToken.None;

    /// <summary>The label id and carrier idempotency key of a shipment's label.</summary>
    public static string LabelKey(string shipmentId) => $"{shipmentId}:label";

    /// <summary>The id and idempotency key of the print job of a label on a station.</summary>
    public static string PrintJobKey(string labelId, string stationId) => $"{labelId}:print:{stationId}";

    /// <inheritdoc />
    [Activity]
    public Task<Address> ValidateAddressAsync(ValidateAddressInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var result = AddressValidator.Validate(input.Address, input.Role);
        if (!result.IsValid)
        {
            throw new ApplicationFailureException(
                $"Invalid {input.Role} address: {string.Join("; ", result.Errors)}",
                errorType: ShippingFailures.InvalidAddress,
                nonRetryable: true,
                details: [result.Errors]);
        }

        return Task.FromResult(result.Address!);
    }

    /// <inheritdoc />
    [Activity]
    public async Task<Rate> ShopRatesAsync(ShopRatesInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var result = await rateShopper.ShopAsync(new CarrierRateRequest(input.From, input.To, input.Parcel), input.Level, Cancellation);
        if (result.Best is { } best)
        {
            logger.LogInformation(
                "Chose {Carrier} {Service} at {Amount} {Currency} out of {Offers} offers; unavailable: {Unavailable}",
                best.Carrier,
                best.Service,
                best.Amount,
                best.Currency,
                result.Offers.Count,
                result.UnavailableCarriers);
            return best;
        }

        // A carrier that is down might have offered the service: worth retrying. Otherwise nobody offers it.
        if (result.UnavailableCarriers.Count > 0)
        {
            throw new ApplicationFailureException(
                $"No rate for {input.Level} from {input.From.Country} to {input.To.Country}; carriers unavailable: {string.Join(", ", result.UnavailableCarriers)}",
                errorType: ShippingFailures.CarriersUnavailable);
        }

        throw new ApplicationFailureException(
            $"No carrier offers {input.Level} service from {input.From.Country} {input.From.PostalCode} to {input.To.Country} {input.To.PostalCode}.",
            errorType: ShippingFailures.NoRateAvailable,
            nonRetryable: true);
    }

    /// <inheritdoc />
    [Activity]
    public async Task<Label> BuyLabelAsync(BuyLabelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var key = LabelKey(input.ShipmentId);
        await using (var connection = await database.OpenConnectionAsync(Cancellation))
        {
            if (await FindLabelAsync(connection, key) is { } bought)
            {
                return bought.Voided ? throw LabelVoided(bought) : bought;
            }

            await connection.ExecuteAsync(
                """
                INSERT INTO shipments (id, order_id, return_id, direction, ship_from, ship_to, weight_grams, length_mm, width_mm, height_mm)
                VALUES (@ShipmentId, @OrderId, @ReturnId, @Direction, @From::jsonb, @To::jsonb, @WeightGrams, @LengthMm, @WidthMm, @HeightMm)
                ON CONFLICT (id) DO NOTHING
                """,
                new
                {
                    input.ShipmentId,
                    input.OrderId,
                    input.ReturnId,
                    Direction = input.ReturnId is null ? "outbound" : "return",
                    From = JsonSerializer.Serialize(input.From, Json),
                    To = JsonSerializer.Serialize(input.To, Json),
                    input.Parcel.WeightGrams,
                    input.Parcel.LengthMm,
                    input.Parcel.WidthMm,
                    input.Parcel.HeightMm,
                });
        }

        // The carrier returns the same label for the same key, so a retry after a crash here, or a concurrent
        // duplicate, pays once; the unique key below then keeps one row.
        var carrier = Carrier(input.Rate.Carrier);
        CarrierLabel purchased;
        try
        {
            purchased = await carrier.PurchaseLabelAsync(
                new CarrierPurchaseRequest(input.Rate.Service, input.From, input.To, input.Parcel), key, Cancellation);
        }
        catch (CarrierRejectedException e)
        {
            throw new ApplicationFailureException(e.Message, e, errorType: ShippingFailures.LabelPurchaseRejected, nonRetryable: true);
        }
        catch (CarrierUnavailableException e)
        {
            throw new ApplicationFailureException(e.Message, e, errorType: ShippingFailures.CarriersUnavailable);
        }

        await using (var connection = await database.OpenConnectionAsync(Cancellation))
        await using (var transaction = await connection.BeginTransactionAsync(Cancellation))
        {
            var inserted = await connection.ExecuteAsync(
                """
                INSERT INTO labels (id, shipment_id, idempotency_key, carrier, service, tracking_number, carrier_label_id, cost, currency)
                VALUES (@Key, @ShipmentId, @Key, @Carrier, @Service, @TrackingNumber, @CarrierLabelId, @Amount, @Currency)
                ON CONFLICT DO NOTHING
                """,
                new
                {
                    Key = key,
                    input.ShipmentId,
                    carrier.Carrier,
                    purchased.Service,
                    purchased.TrackingNumber,
                    CarrierLabelId = purchased.LabelId,
                    purchased.Amount,
                    purchased.Currency,
                },
                transaction);
            if (inserted == 1)
            {
                await connection.ExecuteAsync(
                    """
                    UPDATE shipments
                    SET status = 'label_purchased', carrier = @Carrier, service = @Service, tracking_number = @TrackingNumber, updated_at = @Now
                    WHERE id = @ShipmentId AND status = 'pending'
                    """,
                    new { input.ShipmentId, carrier.Carrier, purchased.Service, purchased.TrackingNumber, Now = time.GetUtcNow() },
                    transaction);
                await OutboxAsync(connection, transaction, input.ShipmentId, "label.purchased", new
                {
                    input.ShipmentId,
                    LabelId = key,
                    carrier.Carrier,
                    purchased.Service,
                    purchased.TrackingNumber,
                    purchased.Amount,
                    purchased.Currency,
                });
            }

            var label = await FindLabelAsync(connection, key, transaction) ?? throw new InvalidOperationException($"Label {key} vanished.");
            await StepRecordWriter.ApplyAsync(transaction, input.Record, Cancellation);
            await transaction.CommitAsync(Cancellation);
            return label;
        }
    }

    /// <inheritdoc />
    [Activity]
    public async Task<VoidLabelResult> VoidLabelAsync(VoidLabelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await using var connection = await database.OpenConnectionAsync(Cancellation);
        var label = await FindLabelAsync(connection, LabelKey(input.ShipmentId));
        if (label is null || label.Voided)
        {
            // Compensation may run for a shipment whose purchase never happened, or run twice: both are no-ops.
            return new VoidLabelResult(input.ShipmentId, Voided: false, label?.TrackingNumber);
        }

        try
        {
            if (!await Carrier(label.Carrier).VoidLabelAsync(label.CarrierLabelId, Cancellation))
            {
                logger.LogWarning(
                    "Carrier {Carrier} does not know label {CarrierLabelId} of shipment {ShipmentId}; nothing to void there, marking it voided",
                    label.Carrier,
                    label.CarrierLabelId,
                    input.ShipmentId);
            }
        }
        catch (CarrierRejectedException e)
        {
            throw new ApplicationFailureException(e.Message, e, errorType: ShippingFailures.LabelVoidRejected, nonRetryable: true);
        }
        catch (CarrierUnavailableException e)
        {
            throw new ApplicationFailureException(e.Message, e, errorType: ShippingFailures.CarriersUnavailable);
        }

        await using var transaction = await connection.BeginTransactionAsync(Cancellation);
        var now = time.GetUtcNow();
        var voided = await connection.ExecuteAsync(
            "UPDATE labels SET voided = true, voided_at = @Now WHERE id = @LabelId AND NOT voided",
            new { label.LabelId, Now = now },
            transaction);
        if (voided == 1)
        {
            await connection.ExecuteAsync(
                "UPDATE shipments SET status = 'voided', updated_at = @Now WHERE id = @ShipmentId",
                new { input.ShipmentId, Now = now },
                transaction);
            await OutboxAsync(connection, transaction, input.ShipmentId, "label.voided", new { input.ShipmentId, label.LabelId, label.TrackingNumber });
        }

        await transaction.CommitAsync(Cancellation);
        return new VoidLabelResult(input.ShipmentId, Voided: voided == 1, label.TrackingNumber);
    }

    /// <inheritdoc />
    [Activity]
    public async Task<bool> CloseFailedShipmentAsync(CloseFailedShipmentInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Status is not ("failed" or "cancelled"))
        {
            throw new ApplicationFailureException(
                $"A failed label run closes its shipment as failed or cancelled, not '{input.Status}'.", errorType: "InvalidInput", nonRetryable: true);
        }

        await using var connection = await database.OpenConnectionAsync(Cancellation);
        await using var transaction = await connection.BeginTransactionAsync(Cancellation);
        var now = time.GetUtcNow();

        // Only a shipment that never left: one the carrier already moves keeps the carrier's status.
        var closed = await connection.ExecuteAsync(
            """
            UPDATE shipments SET status = @Status, failure_reason = @Reason, updated_at = @Now
            WHERE id = @ShipmentId AND status IN ('pending', 'label_purchased', 'printed', 'voided')
            """,
            new { input.ShipmentId, input.Status, input.Reason, Now = now },
            transaction);
        if (closed == 1)
        {
            await connection.ExecuteAsync(
                """
                UPDATE print_jobs SET status = 'cancelled'
                WHERE status IN ('queued', 'sent') AND label_id IN (SELECT id FROM labels WHERE shipment_id = @ShipmentId)
                """,
                new { input.ShipmentId },
                transaction);
            await OutboxAsync(connection, transaction, input.ShipmentId, $"shipment.{input.Status}", new { input.ShipmentId, input.Reason });
        }

        await transaction.CommitAsync(Cancellation);
        return closed == 1;
    }

    /// <inheritdoc />
    [Activity]
    public async Task<RenderedLabel> RenderLabelAsync(RenderLabelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await using var connection = await database.OpenConnectionAsync(Cancellation);
        var label = await FindLabelAsync(connection, LabelKey(input.ShipmentId))
            ?? throw new ApplicationFailureException($"Shipment {input.ShipmentId} has no label to render.", errorType: ShippingFailures.NotFound, nonRetryable: true);
        if (label.Voided)
        {
            throw LabelVoided(label);
        }

        var issuedAt = await connection.ExecuteScalarAsync<DateTime>("SELECT created_at FROM labels WHERE id = @LabelId", new { label.LabelId });
        var document = new LabelDocument(
            input.ShipmentId, label.Carrier, label.Service, label.TrackingNumber, input.From, input.To, input.Parcel.WeightGrams)
        {
            IssuedAt = new DateTimeOffset(issuedAt, TimeSpan.Zero),
        };
        var zpl = ZplLabelRenderer.Render(document);
        var pdf = PdfLabelRenderer.Render(document);
        await using var transaction = await connection.BeginTransactionAsync(Cancellation);
        await connection.ExecuteAsync(
            "UPDATE labels SET zpl = @Zpl, pdf = @Pdf WHERE id = @LabelId",
            new { Zpl = zpl, Pdf = pdf, label.LabelId },
            transaction);
        await StepRecordWriter.ApplyAsync(transaction, input.Record, Cancellation);
        await transaction.CommitAsync(Cancellation);
        return new RenderedLabel(input.ShipmentId, label.TrackingNumber, System.Text.Encoding.UTF8.GetByteCount(zpl), pdf.Length);
    }

    /// <inheritdoc />
    [Activity]
    public async Task<PrintJob> CreatePrintJobAsync(CreatePrintJobInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await using var connection = await database.OpenConnectionAsync(Cancellation);
        var label = await FindLabelAsync(connection, LabelKey(input.ShipmentId))
            ?? throw new ApplicationFailureException($"Shipment {input.ShipmentId} has no label to print.", errorType: ShippingFailures.NotFound, nonRetryable: true);
        if (label.Voided)
        {
            throw LabelVoided(label);
        }

        var station = await connection.QuerySingleOrDefaultAsync<StationRow>(
            "SELECT format, active FROM print_stations WHERE id = @StationId",
            new { input.StationId });
        if (station is not { Active: true } active)
        {
            throw new ApplicationFailureException(
                $"Print station '{input.StationId}' {(station is null ? "does not exist" : "is inactive")}.",
                errorType: ShippingFailures.InvalidPrintStation,
                nonRetryable: true);
        }

        var rendered = await connection.ExecuteScalarAsync<bool>(
            "SELECT CASE WHEN @Format = 'zpl' THEN zpl IS NOT NULL ELSE pdf IS NOT NULL END FROM labels WHERE id = @LabelId",
            new { active.Format, label.LabelId });
        if (!rendered)
        {
            throw new ApplicationFailureException(
                $"Label {label.LabelId} has no {active.Format} rendering yet; render it before printing.",
                errorType: ShippingFailures.NotFound,
                nonRetryable: true);
        }

        var id = PrintJobKey(label.LabelId, input.StationId);
        await using var transaction = await connection.BeginTransactionAsync(Cancellation);
        var queued = await connection.ExecuteAsync(
            """
            INSERT INTO print_jobs (id, label_id, station_id, idempotency_key, format, created_at)
            VALUES (@Id, @LabelId, @StationId, @Id, @Format, @Now)
            ON CONFLICT DO NOTHING
            """,
            new { Id = id, label.LabelId, input.StationId, active.Format, Now = time.GetUtcNow() },
            transaction);
        if (queued == 1)
        {
            // Wakes the stations waiting on GET /print-stations/{id}/jobs (the gateway listens for outbox inserts).
            await OutboxAsync(
                connection, transaction, input.ShipmentId, "print_job.queued", new { input.ShipmentId, PrintJobId = id, label.LabelId, input.StationId, active.Format });
        }

        var job = await FindPrintJobAsync(connection, id, transaction) ?? throw new InvalidOperationException($"Print job {id} vanished.");
        await StepRecordWriter.ApplyAsync(transaction, input.Record, Cancellation);
        await transaction.CommitAsync(Cancellation);
        return job;
    }

    /// <inheritdoc />
    [Activity]
    public async Task<PrintJob> AcknowledgePrintJobAsync(AcknowledgePrintJobInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await using var connection = await database.OpenConnectionAsync(Cancellation);
        var job = await FindPrintJobAsync(connection, input.PrintJobId)
            ?? throw new ApplicationFailureException($"No print job '{input.PrintJobId}'.", errorType: ShippingFailures.NotFound, nonRetryable: true);
        if (job.StationId != input.StationId)
        {
            throw new ApplicationFailureException(
                $"Print job '{input.PrintJobId}' belongs to station '{job.StationId}', not '{input.StationId}'.",
                errorType: ShippingFailures.InvalidPrintStation,
                nonRetryable: true);
        }

        await using var transaction = await connection.BeginTransactionAsync(Cancellation);
        var now = time.GetUtcNow();
        var acknowledged = await connection.ExecuteAsync(
            """
            UPDATE print_jobs SET status = 'printed', acknowledged_at = @Now, attempts = attempts + 1
            WHERE id = @PrintJobId AND status IN ('queued', 'sent')
            """,
            new { input.PrintJobId, Now = now },
            transaction);
        await connection.ExecuteAsync(
            "UPDATE print_stations SET last_seen_at = @Now WHERE id = @StationId",
            new { input.StationId, Now = now },
            transaction);
        if (acknowledged == 1)
        {
            await connection.ExecuteAsync(
                "UPDATE shipments SET status = 'printed', updated_at = @Now WHERE id = @ShipmentId AND status = 'label_purchased'",
                new { job.ShipmentId, Now = now },
                transaction);
            await OutboxAsync(connection, transaction, job.ShipmentId, "label.printed", new { job.ShipmentId, PrintJobId = job.Id, job.StationId });
        }

        var result = await FindPrintJobAsync(connection, input.PrintJobId, transaction);
        await transaction.CommitAsync(Cancellation);
        return result!;
    }

    private static ApplicationFailureException LabelVoided(Label label) => new(
        $"The label of shipment {label.ShipmentId} ({label.Carrier} {label.TrackingNumber}) was voided.",
        errorType: ShippingFailures.LabelVoided,
        nonRetryable: true);

    private static async Task<Label?> FindLabelAsync(NpgsqlConnection connection, string labelId, NpgsqlTransaction? transaction = null)
    {
        var row = await connection.QuerySingleOrDefaultAsync<LabelRow>(
            """
            SELECT id, shipment_id, carrier, service, carrier_label_id, tracking_number, cost, currency, voided
            FROM labels WHERE id = @LabelId
            """,
            new { LabelId = labelId },
            transaction);
        return row is null
            ? null
            : new Label(row.Id, row.Shipment_Id, row.Carrier, row.Service, row.Carrier_Label_Id ?? string.Empty, row.Tracking_Number, row.Cost, row.Currency.Trim(), row.Voided);
    }

    private static async Task<PrintJob?> FindPrintJobAsync(NpgsqlConnection connection, string id, NpgsqlTransaction? transaction = null)
    {
        var row = await connection.QuerySingleOrDefaultAsync<PrintJobRow>(
            """
            SELECT j.id, l.shipment_id, j.station_id, j.format, j.status, j.created_at, j.acknowledged_at
            FROM print_jobs j JOIN labels l ON l.id = j.label_id
            WHERE j.id = @Id
            """,
            new { Id = id },
            transaction);
        return row is null
            ? null
            : new PrintJob(
                row.Id,
                row.Shipment_Id,
                row.Station_Id,
                row.Format,
                row.Status,
                new DateTimeOffset(row.Created_At, TimeSpan.Zero),
                row.Acknowledged_At is { } acknowledged ? new DateTimeOffset(acknowledged, TimeSpan.Zero) : null);
    }

    private static Task OutboxAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string shipmentId, string eventType, object payload) =>
        connection.ExecuteAsync(
            """
            INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload)
            VALUES (@Id, 'shipment', @ShipmentId, @EventType, @Payload::jsonb)
            """,
            new { Id = Guid.NewGuid(), ShipmentId = shipmentId, EventType = eventType, Payload = JsonSerializer.Serialize(payload, Json) },
            transaction);

    private ICarrierClient Carrier(string code) =>
        carriers.FirstOrDefault(c => string.Equals(c.Carrier, code, StringComparison.OrdinalIgnoreCase))
        ?? throw new ApplicationFailureException(
            $"No carrier '{code}' is configured (Shipping:Carriers).", errorType: ShippingFailures.LabelPurchaseRejected, nonRetryable: true);

    // Dapper fills these by column name; timestamptz arrives as a UTC DateTime.
    private sealed record LabelRow(
        string Id, string Shipment_Id, string Carrier, string Service, string? Carrier_Label_Id, string Tracking_Number, decimal Cost, string Currency, bool Voided);

    private sealed record StationRow(string Format, bool Active);

    private sealed record PrintJobRow(
        string Id, string Shipment_Id, string Station_Id, string Format, string Status, DateTime Created_At, DateTime? Acknowledged_At);
}

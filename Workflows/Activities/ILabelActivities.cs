using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>
/// The shipping side effects of the LabelPrinting workflow: address checks, carrier rate shopping, label
/// purchase and void, label rendering and print jobs. Every method is idempotent, so Temporal may retry it freely.
/// </summary>
public interface ILabelActivities
{
    /// <summary>
    /// Validates and normalises an address (US or Canada). Invalid addresses fail with a non-retryable
    /// <see cref="ShippingFailures.InvalidAddress"/> failure whose message names every offending field.
    /// </summary>
    [Activity]
    Task<Address> ValidateAddressAsync(ValidateAddressInput input);

    /// <summary>
    /// Asks every configured carrier for rates and returns the cheapest one that meets the service level.
    /// Carriers that stay down after retries are skipped.
    /// </summary>
    [Activity]
    Task<Rate> ShopRatesAsync(ShopRatesInput input);

    /// <summary>
    /// Buys the label for a shipment once: the carrier sees an idempotency key derived from the shipment id
    /// and the labels table holds one label per shipment, so retries and concurrent duplicates buy once.
    /// </summary>
    [Activity]
    Task<Label> BuyLabelAsync(BuyLabelInput input);

    /// <summary>Voids the shipment's label; voiding a voided label, or a shipment without one, does nothing.</summary>
    [Activity]
    Task<VoidLabelResult> VoidLabelAsync(VoidLabelInput input);

    /// <summary>
    /// Renders the shipment's label as 4x6 ZPL and PDF and stores both with the label (documents stay out of
    /// workflow history); returns their sizes.
    /// </summary>
    [Activity]
    Task<RenderedLabel> RenderLabelAsync(RenderLabelInput input);

    /// <summary>Queues the shipment's label on a print station; the same label and station give one job.</summary>
    [Activity]
    Task<PrintJob> CreatePrintJobAsync(CreatePrintJobInput input);

    /// <summary>Records that the station printed the job; acknowledging twice keeps the first acknowledgement.</summary>
    [Activity]
    Task<PrintJob> AcknowledgePrintJobAsync(AcknowledgePrintJobInput input);

    /// <summary>
    /// Closes the shipment of a label run that failed or was cancelled (status <c>failed</c> or <c>cancelled</c>,
    /// with the reason) and cancels its queued print jobs. Returns false when there is no such shipment or it is
    /// closed already (nothing to do counts as done).
    /// </summary>
    [Activity]
    Task<bool> CloseFailedShipmentAsync(CloseFailedShipmentInput input);
}

/// <summary>Input of <see cref="ILabelActivities.CloseFailedShipmentAsync"/>.</summary>
/// <param name="ShipmentId">Our shipment id.</param>
/// <param name="Status"><c>failed</c> or <c>cancelled</c>.</param>
/// <param name="Reason">Why, as the run's failure says it.</param>
public sealed record CloseFailedShipmentInput(string ShipmentId, string Status, string Reason);

/// <summary>The error types of shipping's business failures (<c>ApplicationFailureException.ErrorType</c>).</summary>
public static class ShippingFailures
{
    /// <summary>An address field is missing or wrong; the message names the field. Not retryable.</summary>
    public const string InvalidAddress = "InvalidAddress";

    /// <summary>Carriers answered but none offers the service level between the addresses. Not retryable.</summary>
    public const string NoRateAvailable = "NoRateAvailable";

    /// <summary>Every carrier was unreachable after retries. Retryable: carriers come back.</summary>
    public const string CarriersUnavailable = "CarriersUnavailable";

    /// <summary>The carrier refused the purchase (e.g. the rate is no longer offered). Not retryable.</summary>
    public const string LabelPurchaseRejected = "LabelPurchaseRejected";

    /// <summary>The carrier refused to void the label (e.g. the parcel is already moving). Not retryable.</summary>
    public const string LabelVoidRejected = "LabelVoidRejected";

    /// <summary>The shipment's label was voided; a new label needs a new shipment. Not retryable.</summary>
    public const string LabelVoided = "LabelVoided";

    /// <summary>No label, shipment or print job with the given id. Not retryable.</summary>
    public const string NotFound = "NotFound";

    /// <summary>The print station is unknown or inactive, or acknowledged a job it does not own. Not retryable.</summary>
    public const string InvalidPrintStation = "InvalidPrintStation";
}

/// <summary>A postal address in the United States or Canada.</summary>
/// <param name="Name">Person or company the parcel is for (or from).</param>
/// <param name="Line1">Street line.</param>
/// <param name="Line2">Apartment, suite, unit; optional.</param>
/// <param name="City">City or municipality.</param>
/// <param name="Region">State, district or territory (US) or province or territory (CA): a two-letter code after validation.</param>
/// <param name="PostalCode">ZIP or ZIP+4 (US), <c>A1A 1A1</c> (CA).</param>
/// <param name="Country">ISO 3166-1 alpha-2: <c>US</c> or <c>CA</c>.</param>
/// <param name="Phone">Contact phone for the carrier; optional.</param>
public sealed record Address(
    string Name,
    string Line1,
    string? Line2,
    string City,
    string Region,
    string PostalCode,
    string Country,
    string? Phone = null);

/// <summary>Parcel weight and outside dimensions, metric (as the shipments table stores them).</summary>
public sealed record Parcel(int WeightGrams, int LengthMm, int WidthMm, int HeightMm);

/// <summary>How fast a parcel must arrive; higher values are faster and satisfy lower ones.</summary>
public enum ServiceLevel
{
    /// <summary>Ground or regular parcel service, several days.</summary>
    Ground = 0,

    /// <summary>Two business days or faster.</summary>
    TwoDay = 1,

    /// <summary>Next business day.</summary>
    Overnight = 2,
}

/// <summary>A carrier's price for one service.</summary>
/// <param name="Carrier">Carrier code, e.g. <c>ridgeline</c>.</param>
/// <param name="Service">The carrier's service code, e.g. <c>GROUND</c>.</param>
/// <param name="Level">The service level the service delivers.</param>
/// <param name="Amount">Price in <paramref name="Currency"/>.</param>
/// <param name="Currency">ISO 4217 code.</param>
/// <param name="TransitDays">Promised business days in transit.</param>
public sealed record Rate(string Carrier, string Service, ServiceLevel Level, decimal Amount, string Currency, int TransitDays);

/// <summary>Input of <see cref="ILabelActivities.ValidateAddressAsync"/>.</summary>
/// <param name="Address">The address as the caller gave it.</param>
/// <param name="Role">Which address this is (<c>from</c>, <c>to</c>); prefixes field names in errors.</param>
public sealed record ValidateAddressInput(Address Address, string Role = "to");

/// <summary>Input of <see cref="ILabelActivities.ShopRatesAsync"/>; addresses already validated.</summary>
public sealed record ShopRatesInput(Address From, Address To, Parcel Parcel, ServiceLevel Level);

/// <summary>Input of <see cref="ILabelActivities.BuyLabelAsync"/>.</summary>
/// <param name="ShipmentId">Our shipment id; the carrier idempotency key derives from it.</param>
/// <param name="OrderId">The order shipped (for a return, the order returned); recorded on the shipment.</param>
/// <param name="Rate">The rate chosen by rate shopping.</param>
/// <param name="From">Validated sender address.</param>
/// <param name="To">Validated recipient address.</param>
/// <param name="Parcel">What is shipped.</param>
/// <param name="ReturnId">Set for a return label: the shipment's direction is then <c>return</c>.</param>
public sealed record BuyLabelInput(
    string ShipmentId,
    string OrderId,
    Rate Rate,
    Address From,
    Address To,
    Parcel Parcel,
    string? ReturnId = null)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>A purchased label.</summary>
/// <param name="LabelId">Our label id.</param>
/// <param name="ShipmentId">Our shipment id.</param>
/// <param name="Carrier">Carrier code.</param>
/// <param name="Service">Carrier service code.</param>
/// <param name="CarrierLabelId">The carrier's id of the label (needed to void it).</param>
/// <param name="TrackingNumber">Tracking number printed on the label.</param>
/// <param name="Amount">Price paid.</param>
/// <param name="Currency">ISO 4217 code.</param>
/// <param name="Voided">True once the label is voided.</param>
public sealed record Label(
    string LabelId,
    string ShipmentId,
    string Carrier,
    string Service,
    string CarrierLabelId,
    string TrackingNumber,
    decimal Amount,
    string Currency,
    bool Voided);

/// <summary>Input of <see cref="ILabelActivities.VoidLabelAsync"/>.</summary>
public sealed record VoidLabelInput(string ShipmentId);

/// <summary>Result of <see cref="ILabelActivities.VoidLabelAsync"/>.</summary>
/// <param name="ShipmentId">Our shipment id.</param>
/// <param name="Voided">True when this call voided the label; false when there was nothing (left) to void.</param>
/// <param name="TrackingNumber">Tracking number of the voided label, when there is one.</param>
public sealed record VoidLabelResult(string ShipmentId, bool Voided, string? TrackingNumber);

/// <summary>Input of <see cref="ILabelActivities.RenderLabelAsync"/>.</summary>
public sealed record RenderLabelInput(string ShipmentId, Address From, Address To, Parcel Parcel)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>Result of <see cref="ILabelActivities.RenderLabelAsync"/>; the documents are stored with the label.</summary>
public sealed record RenderedLabel(string ShipmentId, string TrackingNumber, int ZplBytes, int PdfBytes);

/// <summary>Input of <see cref="ILabelActivities.CreatePrintJobAsync"/>.</summary>
public sealed record CreatePrintJobInput(string ShipmentId, string StationId)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>Input of <see cref="ILabelActivities.AcknowledgePrintJobAsync"/>.</summary>
public sealed record AcknowledgePrintJobInput(string PrintJobId, string StationId);

/// <summary>A label queued on (and perhaps printed by) a print station.</summary>
/// <param name="Id">Print job id.</param>
/// <param name="ShipmentId">Shipment whose label is printed.</param>
/// <param name="StationId">Print station.</param>
/// <param name="Format"><c>zpl</c> or <c>pdf</c>, as the station prints.</param>
/// <param name="Status"><c>queued</c>, <c>sent</c>, <c>printed</c>, <c>failed</c> or <c>cancelled</c>.</param>
/// <param name="CreatedAt">When the job was queued.</param>
/// <param name="AcknowledgedAt">When the station confirmed printing, if it has.</param>
public sealed record PrintJob(
    string Id,
    string ShipmentId,
    string StationId,
    string Format,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? AcknowledgedAt);

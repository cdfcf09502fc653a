using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;

namespace Stateset.Workflows.LabelPrinting;

/// <summary>Buy, render and print the label of one shipment.</summary>
/// <param name="StationId">The print station; null returns the tracking number without printing.</param>
/// <param name="PrintAcknowledgementTimeout">How long to wait for the station to confirm it printed; null is 30 minutes.</param>
/// <param name="ReturnId">Set for a return label (customer to warehouse).</param>
public sealed record PrintLabelInput(
    string ShipmentId,
    string OrderId,
    Address From,
    Address To,
    Parcel Parcel,
    ServiceLevel ServiceLevel,
    string? StationId,
    TimeSpan? PrintAcknowledgementTimeout = null,
    string? ReturnId = null);

/// <summary>A print station's confirmation, forwarded by the gateway.</summary>
public sealed record PrintAcknowledgement(string PrintJobId, string StationId);

/// <summary>The bought label; <see cref="Printed"/> is false when the station did not confirm in time.</summary>
public sealed record PrintLabelResult(
    string ShipmentId,
    string Carrier,
    string Service,
    string TrackingNumber,
    decimal Cost,
    string Currency,
    string? PrintJobId,
    bool Printed);

/// <summary>The answer to the label run's status query.</summary>
public sealed record LabelStatus(
    string ShipmentId,
    string OrderId,
    string Status,
    string Stage,
    IReadOnlyList<TimelineEntry> Timeline,
    Rate? Rate,
    Label? Label,
    PrintJob? PrintJob,
    IReadOnlyList<string> CompensationsRun,
    string? FailureReason);

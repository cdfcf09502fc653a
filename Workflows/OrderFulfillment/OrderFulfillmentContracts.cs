using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;

namespace Stateset.Workflows.OrderFulfillment;

/// <summary>Start an order's fulfillment.</summary>
/// <param name="PaymentMethod">The provider's payment method token (in the sandbox, a test card number).</param>
/// <param name="PrintStationId">Where the shipping label prints; null lets the shipping warehouse's default station print it.</param>
/// <param name="Deadlines">Overrides of the default waits; null uses <see cref="OrderDeadlines.Default"/>.</param>
/// <param name="Resume">Set only by the workflow itself when it continues as new while waiting for delivery.</param>
public sealed record FulfillOrderInput(
    string OrderId,
    string CustomerId,
    string Currency,
    IReadOnlyList<OrderLine> Lines,
    Address ShippingAddress,
    string PaymentMethod,
    Address? BillingAddress = null,
    ServiceLevel ServiceLevel = ServiceLevel.Ground,
    string? PrintStationId = null,
    OrderDeadlines? Deadlines = null,
    OrderCarryOver? Resume = null);

/// <summary>How long the order waits for each outside party.</summary>
/// <param name="PaymentCallback">For the payment provider to settle the authorisation.</param>
/// <param name="ApprovalReminder">Before reminding operators of a pending approval.</param>
/// <param name="ApprovalExpiry">Before an undecided approval cancels the order.</param>
/// <param name="ShipBy">For the carrier to report the parcel shipped once the label is printed.</param>
/// <param name="DeliverBy">For the carrier to report delivery once shipped, before the order is flagged.</param>
public sealed record OrderDeadlines(
    TimeSpan PaymentCallback,
    TimeSpan ApprovalReminder,
    TimeSpan ApprovalExpiry,
    TimeSpan ShipBy,
    TimeSpan DeliverBy)
{
    /// <summary>Gets the defaults: 15 minutes, 12 hours, 48 hours, 5 days, 14 days.</summary>
    public static OrderDeadlines Default { get; } = new(
        TimeSpan.FromMinutes(15), TimeSpan.FromHours(12), TimeSpan.FromHours(48), TimeSpan.FromDays(5), TimeSpan.FromDays(14));
}

/// <summary>What a carrier reports about the parcel, forwarded by the gateway's carrier callback.</summary>
/// <param name="EventId">The carrier's event id; a repeated id is ignored.</param>
public sealed record CarrierEvent(string EventId, CarrierEventKind Kind, string? TrackingNumber = null, string? Description = null, DateTime? OccurredAt = null);

/// <summary>Kinds of carrier tracking events.</summary>
public enum CarrierEventKind
{
    /// <summary>The carrier picked the parcel up.</summary>
    Shipped,

    /// <summary>A scan on the way.</summary>
    InTransit,

    /// <summary>Delivered to the recipient.</summary>
    Delivered,

    /// <summary>A delivery problem (damaged, address issue, held).</summary>
    Exception,
}

/// <summary>Money facts of the order.</summary>
public sealed record OrderMoney(string Currency, decimal Total, string? PaymentId, decimal Authorized, decimal Captured, decimal Refunded);

/// <summary>Shipment facts of the order.</summary>
public sealed record OrderShipment(
    string ShipmentId,
    string? Carrier,
    string? Service,
    string? TrackingNumber,
    DateTime? ShippedAt,
    DateTime? DeliveredAt,
    string? LastCarrierEvent);

/// <summary>The answer to the order's status query.</summary>
public sealed record OrderStatus(
    string OrderId,
    string CustomerId,
    string Status,
    string Stage,
    IReadOnlyList<TimelineEntry> Timeline,
    PendingApproval? PendingApproval,
    DecisionRecord? Decision,
    OrderMoney Money,
    OrderShipment? Shipment,
    IReadOnlyList<string> CompensationsRun,
    string? FailureReason);

/// <summary>How the order ended.</summary>
public sealed record FulfillOrderResult(string OrderId, string Status, OrderMoney Money, OrderShipment? Shipment, string? FailureReason);

/// <summary>State carried across continue-as-new while the order waits for the carrier.</summary>
public sealed record OrderCarryOver(
    string Status,
    long RecorderSequence,
    IReadOnlyList<TimelineEntry> Timeline,
    DecisionRecord? Decision,
    OrderMoney Money,
    OrderShipment Shipment,
    IReadOnlyList<string> SeenCarrierEvents,
    DateTime DeliverByUtc);

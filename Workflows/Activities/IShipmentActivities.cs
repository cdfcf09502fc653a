using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>Create the shipment record a label will be bought for.</summary>
/// <param name="ShipmentId">Our shipment id (the label workflow's business id).</param>
/// <param name="Direction"><c>outbound</c> (warehouse to customer) or <c>return</c> (customer to warehouse).</param>
/// <param name="LocationId">The warehouse that ships (outbound) or receives (return); null picks the highest-priority active warehouse in the customer's country.</param>
/// <param name="Customer">The customer's address (recipient outbound, sender on a return); null uses the order's shipping address.</param>
/// <param name="Items">What goes in the parcel; weights and dimensions come from the catalogue.</param>
public sealed record PrepareShipmentInput(
    string ShipmentId,
    string OrderId,
    string Direction,
    string? LocationId,
    Address? Customer,
    IReadOnlyList<OrderLine> Items,
    string? ReturnId = null)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>A shipment ready for a label: the warehouse, both addresses, the parcel and the warehouse's default print station.</summary>
public sealed record PreparedShipment(string ShipmentId, string LocationId, Address From, Address To, Parcel Parcel, string? DefaultStationId);

/// <summary>Shipment records.</summary>
public interface IShipmentActivities
{
    /// <summary>
    /// Stores the shipment (once per id) with its items, the warehouse's address and a parcel sized from the
    /// catalogue, and returns what the label needs.
    /// </summary>
    [Activity]
    Task<PreparedShipment> PrepareShipmentAsync(PrepareShipmentInput input);
}

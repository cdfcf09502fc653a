using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>Reserve stock for an order.</summary>
/// <remarks>
/// <para><c>PreferredCountry</c>: Locations in this country are used first (ship from the buyer's country).</para>
/// </remarks>
public sealed record ReserveInventoryInput(string OrderId, IReadOnlyList<OrderLine> Lines, string? PreferredCountry = null)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>Stock held for an order at one location.</summary>
public sealed record ReservedLine(string Sku, string LocationId, int Quantity);

/// <summary>The order's reservations, one per SKU and location (a line may be split across locations).</summary>
public sealed record InventoryReservation(string OrderId, IReadOnlyList<ReservedLine> Lines);

/// <summary>How many reservation rows an operation changed (0 when a retry found the work already done).</summary>
public sealed record InventoryChange(string OrderId, int RowsChanged);

/// <summary>Commit an order's reservations once its parcel left, recording the step with it.</summary>
public sealed record CommitOrderInventoryInput(string OrderId)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>Put returned goods back on the shelf at a location.</summary>
public sealed record RestockInput(string ReturnId, string LocationId, IReadOnlyList<OrderLine> Lines)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>Inventory across locations: reservations, release, commit on shipment, restock on return.</summary>
public interface IInventoryActivities
{
    /// <summary>
    /// Reserves every line across locations, all or nothing, under row locks; a retry returns the existing
    /// reservation. Throws non-retryable <see cref="CommerceErrorTypes.InsufficientStock"/> naming the SKU.
    /// </summary>
    [Activity]
    Task<InventoryReservation> ReserveInventoryAsync(ReserveInventoryInput input);

    /// <summary>Releases the order's open reservations (compensation); releasing twice changes nothing.</summary>
    [Activity]
    Task<InventoryChange> ReleaseInventoryAsync(string orderId);

    /// <summary>Commits the order's reservations on shipment: on hand and allocated both drop.</summary>
    [Activity]
    Task<InventoryChange> CommitInventoryAsync(string orderId);

    /// <summary>
    /// Commits the order's reservations like <see cref="CommitInventoryAsync"/>, and in the same transaction writes
    /// <see cref="CommitOrderInventoryInput.Record"/>: the order's move to shipped, its email, its read-model row.
    /// </summary>
    [Activity]
    Task<InventoryChange> CommitOrderInventoryAsync(CommitOrderInventoryInput input);

    /// <summary>Adds returned quantities back to on hand at the location, once per return and SKU.</summary>
    [Activity]
    Task<InventoryChange> RestockReturnAsync(RestockInput input);
}

using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>One line of an order as the caller asks for it: what and how many.</summary>
public sealed record OrderLine(string Sku, int Quantity);

/// <summary>Everything needed to place an order; prices come from the catalogue in <paramref name="Currency"/>.</summary>
/// <remarks>
/// <para><c>OrderId</c>: The caller's order id; placing the same id again returns the stored order.</para>
/// <para><c>Currency</c>: ISO 4217 code the order is priced and paid in (USD, CAD).</para>
/// </remarks>
public sealed record PlaceOrderInput(
    string OrderId,
    string CustomerId,
    string Currency,
    IReadOnlyList<OrderLine> Lines,
    PostalAddress ShippingAddress,
    PostalAddress? BillingAddress = null,
    decimal ShippingTotal = 0m,
    decimal TaxTotal = 0m)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>An order line priced from the catalogue.</summary>
public sealed record PricedOrderLine(int LineNo, string Sku, int Quantity, decimal UnitPrice, decimal LineTotal);

/// <summary>The stored order: validated lines, exact totals.</summary>
public sealed record PlacedOrder(
    string OrderId,
    string CustomerId,
    string Status,
    string Currency,
    IReadOnlyList<PricedOrderLine> Lines,
    decimal Subtotal,
    decimal ShippingTotal,
    decimal TaxTotal,
    decimal Total);

/// <summary>Moves an order to a new status (see the <c>orders.status</c> check for the allowed values).</summary>
/// <remarks>
/// <para><c>OccurredAt</c>: When it happened, from the workflow's clock (delivery time feeds return windows).</para>
/// </remarks>
public sealed record UpdateOrderStatusInput(string OrderId, string Status, DateTimeOffset OccurredAt, string? Reason = null);

/// <summary>Order records: validation, pricing and status.</summary>
public interface IOrderActivities
{
    /// <summary>
    /// Validates the order against the catalogue (known, active SKUs, positive quantities, prices in the
    /// order's currency), stores it with exact totals and writes <c>order.placed</c>. Idempotent by order id.
    /// </summary>
    [Activity]
    Task<PlacedOrder> PlaceOrderAsync(PlaceOrderInput input);

    /// <summary>Sets the order's status (and delivered time) and writes <c>order.status_changed</c> when it changed.</summary>
    [Activity]
    Task UpdateOrderStatusAsync(UpdateOrderStatusInput input);
}

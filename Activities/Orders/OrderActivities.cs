using System.Text.Json;
using Dapper;
using Npgsql;
using Stateset.Activities.Outbox;
using Stateset.Activities.Steps;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Activities.Orders;

/// <summary>Orders on PostgreSQL: validation and pricing against the catalogue, status changes with their events.</summary>
public sealed class OrderActivities(NpgsqlDataSource dataSource) : IOrderActivities
{
    /// <summary>The statuses <c>orders.status</c> accepts.</summary>
    public static readonly IReadOnlySet<string> Statuses = new HashSet<string>(StringComparer.Ordinal)
    {
        "pending", "reserved", "authorized", "awaiting_approval", "approved", "captured",
        "shipped", "delivered", "completed", "cancelled", "rejected", "failed",
    };

    /// <inheritdoc />
    [Activity]
    public async Task<PlacedOrder> PlaceOrderAsync(PlaceOrderInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        BusinessFailure.RequireId(input.OrderId, "Order id");
        BusinessFailure.RequireId(input.CustomerId, "Customer id");
        var currency = BusinessFailure.RequireCurrency(input.Currency);
        if (input.Lines is null || input.Lines.Count == 0)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, "An order needs at least one line.");
        }

        if (input.ShippingAddress is null)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, "A shipping address is required.");
        }

        foreach (var line in input.Lines)
        {
            BusinessFailure.RequireId(line.Sku, "SKU");
            BusinessFailure.RequireQuantity(line.Sku, line.Quantity);
        }

        BusinessFailure.RequireAmount(input.ShippingTotal, currency, "Shipping total", allowZero: true);
        BusinessFailure.RequireAmount(input.TaxTotal, currency, "Tax total", allowZero: true);
        var ct = ActivityCancellation.Token;

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var stored = await LoadAsync(transaction, input.OrderId, ct);
        if (stored is not null)
        {
            return SameOrder(stored, input, currency)
                ? stored
                : throw BusinessFailure.Create(
                    CommerceErrorTypes.InvalidState,
                    $"Order {input.OrderId} already exists with different contents; an order id cannot be reused.");
        }

        var customerExists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM customers WHERE id = @CustomerId)", new { input.CustomerId }, transaction, cancellationToken: ct));
        if (!customerExists)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Customer {input.CustomerId} does not exist.");
        }

        var lines = new List<PricedOrderLine>();
        foreach (var (sku, quantity) in input.Lines.GroupBy(line => line.Sku, StringComparer.Ordinal).Select(g => (g.Key, g.Sum(line => line.Quantity))))
        {
            var product = await connection.QueryFirstOrDefaultAsync<ProductPriceRow>(new CommandDefinition(
                """
                SELECT p.active, pp.amount AS Price,
                       (SELECT string_agg(currency, ', ' ORDER BY currency) FROM product_prices WHERE sku = p.sku) AS Currencies
                FROM products p
                LEFT JOIN product_prices pp ON pp.sku = p.sku AND pp.currency = @Currency
                WHERE p.sku = @Sku
                """,
                new { Sku = sku, Currency = currency },
                transaction,
                cancellationToken: ct));
            if (product is null || !product.Active)
            {
                throw BusinessFailure.Create(CommerceErrorTypes.UnknownSku, $"SKU {sku} is not in the catalogue.");
            }

            if (product.Price is not { } price)
            {
                throw BusinessFailure.Create(
                    CommerceErrorTypes.CurrencyMismatch,
                    $"SKU {sku} is not sold in {currency}; it is priced in {product.Currencies ?? "no currency"}.");
            }

            lines.Add(new PricedOrderLine(lines.Count + 1, sku, quantity, price, price * quantity));
        }

        var subtotal = lines.Sum(line => line.LineTotal);
        var total = subtotal + input.ShippingTotal + input.TaxTotal;
        var order = new PlacedOrder(input.OrderId, input.CustomerId, "pending", currency, lines, subtotal, input.ShippingTotal, input.TaxTotal, total);

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO orders (id, customer_id, status, currency, subtotal, shipping_total, tax_total, total, shipping_address, billing_address)
            VALUES (@OrderId, @CustomerId, @Status, @Currency, @Subtotal, @ShippingTotal, @TaxTotal, @Total, @Shipping::jsonb, @Billing::jsonb)
            """,
            new
            {
                order.OrderId,
                order.CustomerId,
                order.Status,
                order.Currency,
                order.Subtotal,
                order.ShippingTotal,
                order.TaxTotal,
                order.Total,
                Shipping = JsonSerializer.Serialize(input.ShippingAddress, OutboxWriter.PayloadJson),
                Billing = input.BillingAddress is null ? null : JsonSerializer.Serialize(input.BillingAddress, OutboxWriter.PayloadJson),
            },
            transaction,
            cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO order_items (order_id, line_no, sku, quantity, unit_price, line_total)
            VALUES (@OrderId, @LineNo, @Sku, @Quantity, @UnitPrice, @LineTotal)
            """,
            lines.Select(line => new { order.OrderId, line.LineNo, line.Sku, line.Quantity, line.UnitPrice, line.LineTotal }),
            transaction,
            cancellationToken: ct));
        await OutboxWriter.AppendAsync(transaction, "order", order.OrderId, "order.placed", order, ct);
        await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
        await transaction.CommitAsync(ct);
        return order;
    }

    /// <inheritdoc />
    [Activity]
    public async Task UpdateOrderStatusAsync(UpdateOrderStatusInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (await MoveStatusAsync(transaction, input, ct))
        {
            await transaction.CommitAsync(ct);
        }
    }

    /// <summary>
    /// Moves the order's status inside the caller's transaction and writes <c>order.status_changed</c> when it moved.
    /// </summary>
    /// <returns>False when the order already was at or past the status (a retry): nothing was written.</returns>
    internal static async Task<bool> MoveStatusAsync(NpgsqlTransaction transaction, UpdateOrderStatusInput input, CancellationToken ct)
    {
        BusinessFailure.RequireId(input.OrderId, "Order id");
        if (!Statuses.Contains(input.Status))
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"'{input.Status}' is not an order status; expected one of {string.Join(", ", Statuses)}.");
        }

        // The update names the statuses it may come from, so a retried, replayed or restarted step never moves
        // the order backwards and each transition writes its event once. A status the order is already at or
        // past is not an error: the step happened, and failing here would unwind an order that is fine.
        // The locked self-join returns the status the order had before, in the same round trip.
        var connection = transaction.Connection!;
        var previous = await connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(
            """
            UPDATE orders
            SET status = @Status,
                delivered_at = CASE WHEN @Status = 'delivered' THEN coalesce(orders.delivered_at, @OccurredAt) ELSE orders.delivered_at END,
                updated_at = now()
            FROM (SELECT status FROM orders WHERE id = @OrderId FOR UPDATE) AS before
            WHERE orders.id = @OrderId AND orders.status = ANY(@From)
            RETURNING before.status
            """,
            new { input.OrderId, input.Status, OccurredAt = input.OccurredAt.ToUniversalTime(), From = OrderStatusTransitions.AllowedFrom(input.Status) },
            transaction,
            cancellationToken: ct));
        if (previous is null)
        {
            var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM orders WHERE id = @OrderId)", new { input.OrderId }, transaction, cancellationToken: ct));
            return exists ? false : throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Order {input.OrderId} does not exist.");
        }

        var statusChanged = new { input.OrderId, From = previous, To = input.Status, input.OccurredAt, input.Reason };
        await OutboxWriter.AppendAsync(transaction, "order", input.OrderId, "order.status_changed", statusChanged, ct);
        return true;
    }

    private static bool SameOrder(PlacedOrder stored, PlaceOrderInput input, string currency) =>
        stored.CustomerId == input.CustomerId
        && stored.Currency == currency
        && stored.Lines.Select(line => (line.Sku, line.Quantity)).Order().SequenceEqual(
            input.Lines.GroupBy(line => line.Sku, StringComparer.Ordinal).Select(g => (g.Key, g.Sum(line => line.Quantity))).Order());

    private static async Task<PlacedOrder?> LoadAsync(NpgsqlTransaction transaction, string orderId, CancellationToken ct)
    {
        var connection = transaction.Connection!;
        var order = await connection.QueryFirstOrDefaultAsync<OrderRow>(new CommandDefinition(
            """
            SELECT id, customer_id AS CustomerId, status, currency, subtotal, shipping_total AS ShippingTotal, tax_total AS TaxTotal, total
            FROM orders WHERE id = @OrderId
            """,
            new { OrderId = orderId },
            transaction,
            cancellationToken: ct));
        if (order is null)
        {
            return null;
        }

        var lines = await connection.QueryAsync<PricedOrderLine>(new CommandDefinition(
            """
            SELECT line_no AS LineNo, sku, quantity, unit_price AS UnitPrice, line_total AS LineTotal
            FROM order_items WHERE order_id = @OrderId ORDER BY line_no
            """,
            new { OrderId = orderId },
            transaction,
            cancellationToken: ct));
        return new PlacedOrder(order.Id, order.CustomerId, order.Status, order.Currency, lines.ToList(), order.Subtotal, order.ShippingTotal, order.TaxTotal, order.Total);
    }

    private sealed record ProductPriceRow(bool Active, decimal? Price, string? Currencies);

    private sealed record OrderRow(string Id, string CustomerId, string Status, string Currency, decimal Subtotal, decimal ShippingTotal, decimal TaxTotal, decimal Total);
}

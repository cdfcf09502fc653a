using Dapper;
using Npgsql;
using Stateset.Activities.Outbox;
using Stateset.Activities.Steps;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Activities.Inventory;

/// <summary>
/// Inventory on PostgreSQL. Every operation on an order first takes a transaction-scoped advisory lock on the
/// order id (so duplicates of the same activity run one after the other and the second sees the first's work),
/// then locks balance rows in (sku, location) order, the one order every transaction uses, so concurrent
/// orders for the same stock queue up instead of deadlocking or overselling.
/// </summary>
public sealed class InventoryActivities(NpgsqlDataSource dataSource) : IInventoryActivities
{
    /// <inheritdoc />
    [Activity]
    public async Task<InventoryReservation> ReserveInventoryAsync(ReserveInventoryInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        BusinessFailure.RequireId(input.OrderId, "Order id");
        var wanted = MergeLines(input.Lines);
        var ct = ActivityCancellation.Token;

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await LockOrderAsync(transaction, input.OrderId, ct);

        var existing = (await connection.QueryAsync<ReservationRow>(new CommandDefinition(
            "SELECT sku, location_id AS LocationId, quantity, status FROM inventory_reservations WHERE order_id = @OrderId ORDER BY sku, location_id",
            new { input.OrderId },
            transaction,
            cancellationToken: ct))).ToList();
        if (existing.Count > 0)
        {
            // A retry (or a duplicate that lost the race): the first run's reservation is the answer.
            if (existing.Any(row => row.Status == "released"))
            {
                throw BusinessFailure.Create(
                    CommerceErrorTypes.InvalidState,
                    $"Order {input.OrderId}'s reservation was already released; reserve under a new order id.");
            }

            return new InventoryReservation(input.OrderId, existing.Select(row => new ReservedLine(row.Sku, row.LocationId, row.Quantity)).ToList());
        }

        var skus = wanted.Keys.ToArray();
        var known = (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT sku FROM products WHERE sku = ANY(@Skus) AND active",
            new { Skus = skus },
            transaction,
            cancellationToken: ct))).ToHashSet(StringComparer.Ordinal);
        var unknown = skus.FirstOrDefault(sku => !known.Contains(sku));
        if (unknown is not null)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.UnknownSku, $"SKU {unknown} is not in the catalogue.");
        }

        var balances = await connection.QueryAsync<BalanceRow>(new CommandDefinition(
            """
            SELECT b.sku, b.location_id AS LocationId, b.available, l.country, l.priority
            FROM inventory_balances b
            JOIN inventory_locations l ON l.id = b.location_id
            WHERE b.sku = ANY(@Skus) AND l.active
            ORDER BY b.sku, b.location_id
            FOR UPDATE OF b
            """,
            new { Skus = skus },
            transaction,
            cancellationToken: ct));

        var reserved = new List<ReservedLine>();
        var bySku = balances.ToLookup(balance => balance.Sku, StringComparer.Ordinal);
        foreach (var (sku, quantity) in wanted)
        {
            var candidates = bySku[sku]
                .Where(balance => balance.Available > 0)
                .OrderBy(balance => string.Equals(balance.Country, input.PreferredCountry, StringComparison.OrdinalIgnoreCase) ? 0 : 1)
                .ThenBy(balance => balance.Priority)
                .ThenBy(balance => balance.LocationId, StringComparer.Ordinal)
                .ToList();
            var available = candidates.Sum(balance => balance.Available);
            if (available < quantity)
            {
                // Nothing was written yet that the rollback would not undo: all or nothing.
                throw BusinessFailure.Create(
                    CommerceErrorTypes.InsufficientStock,
                    $"Not enough stock for SKU {sku}: {quantity} requested, {available} available across all locations.");
            }

            var remaining = quantity;
            foreach (var balance in candidates)
            {
                var take = Math.Min(remaining, balance.Available);
                reserved.Add(new ReservedLine(sku, balance.LocationId, take));
                remaining -= take;
                if (remaining == 0)
                {
                    break;
                }
            }
        }

        foreach (var line in reserved)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO inventory_reservations (order_id, sku, location_id, quantity) VALUES (@OrderId, @Sku, @LocationId, @Quantity);
                UPDATE inventory_balances SET allocated = allocated + @Quantity, updated_at = now()
                WHERE location_id = @LocationId AND sku = @Sku;
                """,
                new { input.OrderId, line.Sku, line.LocationId, line.Quantity },
                transaction,
                cancellationToken: ct));
        }

        await OutboxWriter.AppendAsync(transaction, "order", input.OrderId, "inventory.reserved", new { input.OrderId, Lines = reserved }, ct);
        await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
        await transaction.CommitAsync(ct);
        return new InventoryReservation(input.OrderId, reserved);
    }

    /// <inheritdoc />
    [Activity]
    public Task<InventoryChange> ReleaseInventoryAsync(string orderId) =>
        CloseReservationsAsync(orderId, "released", onHandDrops: false, "inventory.released");

    /// <inheritdoc />
    [Activity]
    public Task<InventoryChange> CommitInventoryAsync(string orderId) =>
        CloseReservationsAsync(orderId, "committed", onHandDrops: true, "inventory.committed");

    /// <inheritdoc />
    [Activity]
    public Task<InventoryChange> CommitOrderInventoryAsync(CommitOrderInventoryInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return CloseReservationsAsync(input.OrderId, "committed", onHandDrops: true, "inventory.committed", input.Record);
    }

    /// <inheritdoc />
    [Activity]
    public async Task<InventoryChange> RestockReturnAsync(RestockInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        BusinessFailure.RequireId(input.ReturnId, "Return id");
        BusinessFailure.RequireId(input.LocationId, "Location id");
        var lines = MergeLines(input.Lines);
        var ct = ActivityCancellation.Token;

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var locationExists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM inventory_locations WHERE id = @LocationId)", new { input.LocationId }, transaction, cancellationToken: ct));
        if (!locationExists)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Inventory location {input.LocationId} does not exist.");
        }

        var changed = new List<OrderLine>();
        foreach (var (sku, quantity) in lines.OrderBy(line => line.Key, StringComparer.Ordinal))
        {
            var skuExists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM products WHERE sku = @Sku)", new { Sku = sku }, transaction, cancellationToken: ct));
            if (!skuExists)
            {
                throw BusinessFailure.Create(CommerceErrorTypes.UnknownSku, $"SKU {sku} is not in the catalogue.");
            }

            // The adjustment's unique key is what makes a retried restock add nothing the second time.
            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO inventory_adjustments (idempotency_key, location_id, sku, on_hand_delta, reason, reference_id)
                VALUES (@Key, @LocationId, @Sku, @Quantity, 'return_restock', @ReturnId)
                ON CONFLICT (idempotency_key) DO NOTHING
                """,
                new { Key = $"{input.ReturnId}:{sku}:restock", input.LocationId, Sku = sku, Quantity = quantity, input.ReturnId },
                transaction,
                cancellationToken: ct));
            if (inserted == 0)
            {
                continue;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO inventory_balances (location_id, sku, on_hand) VALUES (@LocationId, @Sku, @Quantity)
                ON CONFLICT (location_id, sku) DO UPDATE SET on_hand = inventory_balances.on_hand + EXCLUDED.on_hand, updated_at = now()
                """,
                new { input.LocationId, Sku = sku, Quantity = quantity },
                transaction,
                cancellationToken: ct));
            changed.Add(new OrderLine(sku, quantity));
        }

        if (changed.Count > 0)
        {
            await OutboxWriter.AppendAsync(transaction, "return", input.ReturnId, "inventory.restocked", new { input.ReturnId, input.LocationId, Lines = changed }, ct);
        }

        await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
        await transaction.CommitAsync(ct);
        return new InventoryChange(input.ReturnId, changed.Count);
    }

    private static Dictionary<string, int> MergeLines(IReadOnlyList<OrderLine>? lines)
    {
        if (lines is null || lines.Count == 0)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, "At least one line is required.");
        }

        var merged = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            BusinessFailure.RequireId(line.Sku, "SKU");
            BusinessFailure.RequireQuantity(line.Sku, line.Quantity);
            merged[line.Sku] = checked(merged.GetValueOrDefault(line.Sku) + line.Quantity);
        }

        return merged;
    }

    private static Task LockOrderAsync(NpgsqlTransaction transaction, string orderId, CancellationToken ct) =>
        transaction.Connection!.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtextextended('inventory:' || @OrderId, 0))",
            new { OrderId = orderId },
            transaction,
            cancellationToken: ct));

    private async Task<InventoryChange> CloseReservationsAsync(string orderId, string newStatus, bool onHandDrops, string eventType, StepRecord? record = null)
    {
        BusinessFailure.RequireId(orderId, "Order id");
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await LockOrderAsync(transaction, orderId, ct);

        var open = (await connection.QueryAsync<ReservationRow>(new CommandDefinition(
            """
            SELECT r.sku, r.location_id AS LocationId, r.quantity, r.status
            FROM inventory_reservations r
            JOIN inventory_balances b ON b.location_id = r.location_id AND b.sku = r.sku
            WHERE r.order_id = @OrderId AND r.status = 'reserved'
            ORDER BY r.sku, r.location_id
            FOR UPDATE OF b
            """,
            new { OrderId = orderId },
            transaction,
            cancellationToken: ct))).ToList();

        foreach (var row in open)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE inventory_reservations SET status = @Status, updated_at = now()
                WHERE order_id = @OrderId AND sku = @Sku AND location_id = @LocationId;
                UPDATE inventory_balances
                SET allocated = allocated - @Quantity,
                    on_hand = on_hand - CASE WHEN @OnHandDrops THEN @Quantity ELSE 0 END,
                    updated_at = now()
                WHERE location_id = @LocationId AND sku = @Sku;
                """,
                new { Status = newStatus, OrderId = orderId, row.Sku, row.LocationId, row.Quantity, OnHandDrops = onHandDrops },
                transaction,
                cancellationToken: ct));
        }

        if (open.Count > 0)
        {
            var lines = open.Select(row => new ReservedLine(row.Sku, row.LocationId, row.Quantity)).ToList();
            await OutboxWriter.AppendAsync(transaction, "order", orderId, eventType, new { OrderId = orderId, Lines = lines }, ct);
        }

        // Written even when a retry finds the reservations already closed: the record's parts guard themselves.
        await StepRecordWriter.ApplyAsync(transaction, record, ct);
        await transaction.CommitAsync(ct);
        return new InventoryChange(orderId, open.Count);
    }

    private sealed record ReservationRow(string Sku, string LocationId, int Quantity, string Status);

    private sealed record BalanceRow(string Sku, string LocationId, int Available, string Country, int Priority);
}

using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Stateset.Activities.Outbox;
using Stateset.Activities.Steps;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Activities.Returns;

/// <summary>
/// Return eligibility and restocking fees, and RMA records. Opening a return re-checks eligibility while holding
/// the order's row lock, so two concurrent returns cannot both claim the same units.
/// </summary>
public sealed class ReturnActivities(NpgsqlDataSource dataSource, IOptions<ReturnOptions> options, TimeProvider time) : IReturnActivities
{
    private static readonly HashSet<string> Conditions = new(StringComparer.Ordinal) { "new", "opened", "damaged" };

    // Each status with the column that records when it was reached (null: only updated_at, which every change sets)
    // and the statuses a return may reach it from, so a status never moves backwards and each change writes one event.
    private static readonly Dictionary<string, (string? Column, string[] From)> StatusTransitions = new(StringComparer.Ordinal)
    {
        ["requested"] = ("requested_at", []),
        ["approved"] = ("approved_at", ["requested"]),
        ["label_issued"] = (null, ["approved"]),
        ["received"] = ("received_at", ["label_issued"]),
        ["inspected"] = (null, ["received"]),
        ["refunded"] = (null, ["inspected"]),
        ["rejected"] = ("closed_at", ["requested"]),
        ["closed"] = ("closed_at", ["inspected", "refunded"]),
        ["expired"] = ("closed_at", ["requested", "approved", "label_issued"]),
        ["cancelled"] = ("closed_at", ["requested", "approved", "label_issued", "received", "inspected"]),
    };

    /// <inheritdoc />
    [Activity]
    public async Task<ReturnEligibility> CheckReturnEligibilityAsync(ReturnRequest request)
    {
        Validate(request);
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var order = await ReadOrderAsync(transaction, request.OrderId, forUpdate: false, ct);
        return await EvaluateAsync(transaction, request, order, ct);
    }

    /// <inheritdoc />
    [Activity]
    public async Task<OpenedReturn> OpenReturnAsync(ReturnRequest request)
    {
        Validate(request);
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var order = await ReadOrderAsync(transaction, request.OrderId, forUpdate: true, ct);

        var stored = await connection.QueryFirstOrDefaultAsync<(string OrderId, string RmaNumber)>(new CommandDefinition(
            "SELECT order_id, rma_number FROM returns WHERE id = @ReturnId", new { request.ReturnId }, transaction, cancellationToken: ct));
        if (stored.OrderId is not null)
        {
            if (stored.OrderId != request.OrderId)
            {
                throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"Return {request.ReturnId} belongs to order {stored.OrderId}, not {request.OrderId}.");
            }

            return new OpenedReturn(request.ReturnId, stored.RmaNumber, order.Id, order.CustomerId, await StoredEligibilityAsync(transaction, request.ReturnId, order, ct));
        }

        var eligibility = await EvaluateAsync(transaction, request, order, ct);
        if (!eligibility.Eligible)
        {
            var why = string.Join("; ", eligibility.Lines.Where(line => !line.Eligible).Select(line => line.IneligibleReason));
            throw BusinessFailure.Create(CommerceErrorTypes.ReturnNotEligible, $"Return {request.ReturnId} is not eligible: {why}.");
        }

        var rma = await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            """
            INSERT INTO returns (id, rma_number, order_id, customer_id, reason, currency, item_total, restocking_fee, refund_amount, requested_at)
            VALUES (@ReturnId, 'RMA-' || nextval('rma_numbers'), @OrderId, @CustomerId, @Reason, @Currency, @ItemTotal, @RestockingFee, @RefundAmount, @Now)
            RETURNING rma_number
            """,
            new
            {
                request.ReturnId,
                request.OrderId,
                order.CustomerId,
                request.Reason,
                eligibility.Currency,
                eligibility.ItemTotal,
                eligibility.RestockingFee,
                eligibility.RefundAmount,
                Now = time.GetUtcNow(),
            },
            transaction,
            cancellationToken: ct));
        foreach (var (line, decision) in request.Lines.Zip(eligibility.Lines))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO return_items (return_id, sku, quantity, unit_price, reason, condition)
                VALUES (@ReturnId, @Sku, @Quantity, @UnitPrice, @Reason, @Condition)
                """,
                new { request.ReturnId, line.Sku, line.Quantity, decision.UnitPrice, line.Reason, line.Condition },
                transaction,
                cancellationToken: ct));
        }

        var opened = new OpenedReturn(request.ReturnId, rma!, order.Id, order.CustomerId, eligibility);
        await OutboxWriter.AppendAsync(transaction, "return", request.ReturnId, "return.opened", opened, ct);
        await transaction.CommitAsync(ct);
        return opened;
    }

    /// <inheritdoc />
    [Activity]
    public async Task UpdateReturnStatusAsync(UpdateReturnStatusInput input)
    {
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (await MoveStatusAsync(transaction, input, ct))
        {
            await transaction.CommitAsync(ct);
        }
    }

    /// <summary>
    /// Moves the return to <paramref name="input"/>'s status inside the caller's transaction, with its
    /// <c>return.status_changed</c> event; a return already at or past the status (a retry, a replay) is left as it is.
    /// </summary>
    /// <returns>Whether the status changed.</returns>
    internal static async Task<bool> MoveStatusAsync(NpgsqlTransaction transaction, UpdateReturnStatusInput input, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(input);
        BusinessFailure.RequireId(input.ReturnId, "Return id");
        if (!StatusTransitions.TryGetValue(input.Status, out var transition))
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"'{input.Status}' is not a return status; expected one of {string.Join(", ", StatusTransitions.Keys)}.");
        }

        // The column name comes from the fixed map above, never from input. The locked self-join returns the status
        // the return had before, in the same round trip.
        var connection = transaction.Connection!;
        var timestamp = transition.Column is { } column ? $"{column} = @OccurredAt, " : string.Empty;
        var previous = await connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(
            $"""
            UPDATE returns SET status = @Status, {timestamp}updated_at = @OccurredAt
            FROM (SELECT status FROM returns WHERE id = @ReturnId FOR UPDATE) AS before
            WHERE returns.id = @ReturnId AND returns.status = ANY(@From)
            RETURNING before.status
            """,
            new { input.ReturnId, input.Status, OccurredAt = input.OccurredAt.ToUniversalTime(), transition.From },
            transaction,
            cancellationToken: ct));
        if (previous is null)
        {
            var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM returns WHERE id = @ReturnId)", new { input.ReturnId }, transaction, cancellationToken: ct));
            return exists ? false : throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Return {input.ReturnId} does not exist.");
        }

        var statusChanged = new { input.ReturnId, From = previous, To = input.Status, input.OccurredAt, input.Reason };
        await OutboxWriter.AppendAsync(transaction, "return", input.ReturnId, "return.status_changed", statusChanged, ct);
        return true;
    }

    /// <inheritdoc />
    [Activity]
    public async Task<ReturnEligibility> RecordInspectionAsync(RecordInspectionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        BusinessFailure.RequireId(input.ReturnId, "Return id");
        BusinessFailure.RequireId(input.InspectedBy, "Inspector");
        foreach (var line in input.Lines)
        {
            if (!Conditions.Contains(line.Condition))
            {
                throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"Condition of SKU {line.Sku} must be new, opened or damaged, got '{line.Condition}'.");
            }
        }

        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var found = await connection.QueryFirstOrDefaultAsync<(string OrderId, DateTime? InspectedAt)>(new CommandDefinition(
            "SELECT order_id, inspected_at FROM returns WHERE id = @ReturnId FOR UPDATE", new { input.ReturnId }, transaction, cancellationToken: ct));
        var orderId = found.OrderId ?? throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Return {input.ReturnId} does not exist.");
        var order = await ReadOrderAsync(transaction, orderId, forUpdate: false, ct);
        if (found.InspectedAt is not null)
        {
            // This step's earlier attempt committed (the worker died before reporting it): answer what it stored, and
            // write neither the conditions, the price nor the event again.
            var stored = await StoredEligibilityAsync(transaction, input.ReturnId, order, ct);
            await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
            await transaction.CommitAsync(ct);
            return stored;
        }

        foreach (var line in input.Lines)
        {
            var updated = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE return_items SET condition = @Condition WHERE return_id = @ReturnId AND sku = @Sku",
                new { input.ReturnId, line.Sku, line.Condition },
                transaction,
                cancellationToken: ct));
            if (updated == 0)
            {
                throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"SKU {line.Sku} is not on return {input.ReturnId}.");
            }
        }

        // Re-price with the fee rules eligibility used, now on the conditions as found rather than as declared.
        var priced = await StoredEligibilityAsync(transaction, input.ReturnId, order, ct);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE returns SET restocking_fee = @RestockingFee, refund_amount = @RefundAmount, inspected_at = @Now, inspected_by = @InspectedBy,
                updated_at = @Now
            WHERE id = @ReturnId
            """,
            new { input.ReturnId, priced.RestockingFee, priced.RefundAmount, input.InspectedBy, Now = time.GetUtcNow() },
            transaction,
            cancellationToken: ct));
        var inspected = new { input.ReturnId, input.InspectedBy, input.Lines, priced.RestockingFee, priced.RefundAmount };
        await OutboxWriter.AppendAsync(transaction, "return", input.ReturnId, "return.inspected", inspected, ct);
        await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
        await transaction.CommitAsync(ct);
        return priced;
    }

    private static void Validate(ReturnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        BusinessFailure.RequireId(request.ReturnId, "Return id");
        BusinessFailure.RequireId(request.OrderId, "Order id");
        if (request.Lines is null || request.Lines.Count == 0)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, "A return needs at least one line.");
        }

        foreach (var line in request.Lines)
        {
            BusinessFailure.RequireId(line.Sku, "SKU");
            BusinessFailure.RequireQuantity(line.Sku, line.Quantity);
            if (!Conditions.Contains(line.Condition))
            {
                throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"Condition of SKU {line.Sku} must be new, opened or damaged, got '{line.Condition}'.");
            }
        }

        var repeated = request.Lines.GroupBy(line => line.Sku, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (repeated is not null)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"SKU {repeated.Key} appears on more than one return line.");
        }
    }

    private static async Task<OrderRow> ReadOrderAsync(NpgsqlTransaction transaction, string orderId, bool forUpdate, CancellationToken ct) =>
        await transaction.Connection!.QueryFirstOrDefaultAsync<OrderRow>(new CommandDefinition(
            $"SELECT id, customer_id AS CustomerId, currency, delivered_at AS DeliveredAt FROM orders WHERE id = @OrderId{(forUpdate ? " FOR UPDATE" : string.Empty)}",
            new { OrderId = orderId },
            transaction,
            cancellationToken: ct))
        ?? throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Order {orderId} does not exist.");

    private decimal Fee(string condition, string? reason, decimal lineTotal, string currency)
    {
        var rules = options.Value;
        if (reason is not null && rules.FeeWaivedReasons.Contains(reason))
        {
            return 0m;
        }

        var percent = condition switch { "opened" => rules.OpenedFeePercent, "damaged" => rules.DamagedFeePercent, _ => 0m };
        return Money.Round(lineTotal * percent / 100m, currency);
    }

    private async Task<ReturnEligibility> EvaluateAsync(NpgsqlTransaction transaction, ReturnRequest request, OrderRow order, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var decisions = new List<ReturnLineDecision>();
        foreach (var line in request.Lines)
        {
            var item = await transaction.Connection!.QueryFirstOrDefaultAsync<ItemRow>(new CommandDefinition(
                """
                SELECT oi.quantity AS Ordered, oi.unit_price AS UnitPrice, p.returnable, p.return_window_days AS ReturnWindowDays,
                       (SELECT coalesce(sum(ri.quantity), 0) FROM return_items ri JOIN returns r ON r.id = ri.return_id
                        WHERE r.order_id = oi.order_id AND ri.sku = oi.sku AND r.id <> @ReturnId
                          AND r.status NOT IN ('rejected', 'cancelled', 'expired')) AS AlreadyReturned
                FROM order_items oi JOIN products p ON p.sku = oi.sku
                WHERE oi.order_id = @OrderId AND oi.sku = @Sku
                """,
                new { request.ReturnId, request.OrderId, line.Sku },
                transaction,
                cancellationToken: ct));
            var unitPrice = item?.UnitPrice ?? 0m;
            var lineTotal = unitPrice * line.Quantity;
            var refusal = item switch
            {
                null => $"SKU {line.Sku} is not on order {request.OrderId}",
                _ when order.DeliveredAt is null => $"order {request.OrderId} has not been delivered",
                { Returnable: false } => $"SKU {line.Sku} is not returnable",
                _ when now > new DateTimeOffset(order.DeliveredAt.Value, TimeSpan.Zero).AddDays(item.ReturnWindowDays) =>
                    $"the {item.ReturnWindowDays}-day return window for SKU {line.Sku} ended on {order.DeliveredAt.Value.AddDays(item.ReturnWindowDays):yyyy-MM-dd}",
                _ when line.Quantity > item.Ordered - item.AlreadyReturned =>
                    $"only {item.Ordered - item.AlreadyReturned} of SKU {line.Sku} can still be returned ({item.Ordered} ordered, {item.AlreadyReturned} already returned)",
                _ => null,
            };
            var fee = refusal is null ? Fee(line.Condition, line.Reason, lineTotal, order.Currency) : 0m;
            decisions.Add(new ReturnLineDecision(line.Sku, line.Quantity, refusal is null, refusal, unitPrice, lineTotal, fee));
        }

        return Summarise(request.ReturnId, request.OrderId, order.Currency, decisions);
    }

    private async Task<ReturnEligibility> StoredEligibilityAsync(NpgsqlTransaction transaction, string returnId, OrderRow order, CancellationToken ct)
    {
        var items = await transaction.Connection!.QueryAsync<(string Sku, int Quantity, decimal UnitPrice, string? Reason, string? Condition)>(new CommandDefinition(
            "SELECT sku, quantity, unit_price, reason, condition FROM return_items WHERE return_id = @ReturnId ORDER BY sku",
            new { ReturnId = returnId },
            transaction,
            cancellationToken: ct));
        var decisions = items.Select(item =>
        {
            var lineTotal = item.UnitPrice * item.Quantity;
            return new ReturnLineDecision(item.Sku, item.Quantity, true, null, item.UnitPrice, lineTotal, Fee(item.Condition ?? "new", item.Reason, lineTotal, order.Currency));
        }).ToList();
        return Summarise(returnId, order.Id, order.Currency, decisions);
    }

    private static ReturnEligibility Summarise(string returnId, string orderId, string currency, List<ReturnLineDecision> lines)
    {
        var eligible = lines.All(line => line.Eligible);
        var itemTotal = eligible ? lines.Sum(line => line.LineTotal) : 0m;
        var fee = eligible ? lines.Sum(line => line.RestockingFee) : 0m;
        return new ReturnEligibility(returnId, orderId, eligible, lines, currency, itemTotal, fee, itemTotal - fee);
    }

    private sealed record OrderRow(string Id, string CustomerId, string Currency, DateTime? DeliveredAt);

    private sealed record ItemRow(int Ordered, decimal UnitPrice, bool Returnable, int ReturnWindowDays, long AlreadyReturned);
}

using Dapper;
using Npgsql;
using Stateset.Testing.EndToEnd;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;

namespace Stateset.EndToEnd.Tests;

/// <summary>
/// What must be true of the whole database after any scenario, however it ended: each check is a query for the rows
/// that break it, so a failure names them. Orders count as closed once their status is final or their workflow's
/// read-model row is closed; checks of closed things hold at any moment because each business step commits its
/// rows in one transaction.
/// </summary>
public static class DatabaseInvariants
{
    /// <summary>The key of one check, for <see cref="EndToEndTest"/> exemptions.</summary>
    public const string Reservations = "reservations";

    /// <summary>The key of one check, for <see cref="EndToEndTest"/> exemptions.</summary>
    public const string Authorisations = "authorisations";

    /// <summary>The key of one check, for <see cref="EndToEndTest"/> exemptions.</summary>
    public const string Ledger = "ledger";

    /// <summary>The key of one check, for <see cref="EndToEndTest"/> exemptions.</summary>
    public const string Allocated = "allocated";

    /// <summary>The key of one check, for <see cref="EndToEndTest"/> exemptions.</summary>
    public const string ReservedQuantities = "reservedQuantities";

    /// <summary>The key of one check, for <see cref="EndToEndTest"/> exemptions.</summary>
    public const string ShippedLabels = "shippedLabels";

    /// <summary>The key of one check, for <see cref="EndToEndTest"/> exemptions.</summary>
    public const string UnshippedLabels = "unshippedLabels";

    /// <summary>The key of one check, for <see cref="EndToEndTest"/> exemptions.</summary>
    public const string ReturnLabels = "returnLabels";

    /// <summary>The key of one check, for <see cref="EndToEndTest"/> exemptions.</summary>
    public const string Reasons = "reasons";

    private const string ClosedOrders =
        """
        closed_orders AS (
            SELECT o.id FROM orders o WHERE o.status IN ('completed', 'cancelled', 'rejected', 'failed')
            UNION
            SELECT w.business_id FROM workflow_runs w WHERE w.workflow_type = 'OrderFulfillment' AND w.closed_at IS NOT NULL)
        """;

    private static readonly (string Key, string Name, string Sql)[] Checks =
    [
        (Reservations, "no reservation is active for a closed order",
            $"""
            WITH {ClosedOrders}
            SELECT r.order_id || ' ' || r.sku || ' x' || r.quantity FROM inventory_reservations r JOIN closed_orders c ON c.id = r.order_id
            WHERE r.status = 'reserved'
            """),
        (Authorisations, "no authorisation is held for a closed order",
            $"""
            WITH {ClosedOrders}
            SELECT p.id || ' is ' || p.status FROM payments p JOIN closed_orders c ON c.id = p.order_id
            WHERE p.status IN ('pending', 'authorized')
            """),
        (Ledger, "the ledger balances the payments of every closed order (ledger = captured - refunded)",
            $"""
            WITH {ClosedOrders},
            paid AS (SELECT order_id, sum(captured_amount - refunded_amount) AS net FROM payments GROUP BY order_id),
            booked AS (SELECT order_id, sum(amount) AS net FROM ledger_entries WHERE kind IN ('capture', 'refund') GROUP BY order_id)
            SELECT c.id || ': payments ' || coalesce(p.net, 0) || ', ledger ' || coalesce(b.net, 0)
            FROM closed_orders c LEFT JOIN paid p ON p.order_id = c.id LEFT JOIN booked b ON b.order_id = c.id
            WHERE coalesce(p.net, 0) <> coalesce(b.net, 0)
              -- A refund run between the provider's settlement and its ledger step is still under way.
              AND NOT EXISTS (SELECT 1 FROM refunds f JOIN workflow_runs w ON w.workflow_id = 'refund-' || f.id
                              WHERE f.order_id = c.id AND w.closed_at IS NULL)
              AND NOT EXISTS (SELECT 1 FROM refunds f WHERE f.order_id = c.id AND f.status = 'pending')
            """),
        (Allocated, "allocated stock is the sum of the active reservations",
            """
            SELECT b.location_id || ' ' || b.sku || ': allocated ' || b.allocated || ', reserved ' || coalesce(r.reserved, 0)
            FROM inventory_balances b
            LEFT JOIN (SELECT location_id, sku, sum(quantity) AS reserved FROM inventory_reservations WHERE status = 'reserved' GROUP BY location_id, sku) r
              ON r.location_id = b.location_id AND r.sku = b.sku
            WHERE b.allocated <> coalesce(r.reserved, 0)
            """),
        (ReservedQuantities, "every order's live reservations hold exactly its ordered quantities",
            """
            SELECT r.order_id || ' ' || r.sku || ': reserved ' || r.quantity || ', ordered ' || coalesce(i.quantity, 0)
            FROM (SELECT order_id, sku, sum(quantity) AS quantity FROM inventory_reservations WHERE status <> 'released' GROUP BY order_id, sku) r
            LEFT JOIN order_items i ON i.order_id = r.order_id AND i.sku = r.sku
            WHERE r.quantity <> coalesce(i.quantity, 0)
            """),
        (ShippedLabels, "a shipped shipment has exactly one label that is not voided",
            """
            SELECT s.id || ' (' || s.status || ') has ' || count(l.id) || ' live labels'
            FROM shipments s LEFT JOIN labels l ON l.shipment_id = s.id AND NOT l.voided
            WHERE s.status IN ('shipped', 'in_transit', 'delivered')
            GROUP BY s.id, s.status HAVING count(l.id) <> 1
            """),
        (UnshippedLabels, "an order that ended without shipping keeps no live label",
            """
            SELECT l.id || ' of ' || s.id FROM labels l JOIN shipments s ON s.id = l.shipment_id JOIN orders o ON o.id = s.order_id
            WHERE NOT l.voided AND s.direction = 'outbound' AND o.status IN ('cancelled', 'rejected', 'failed')
              AND s.shipped_at IS NULL
            """),
        (ReturnLabels, "a return that ended without its parcel keeps no live return label",
            """
            SELECT l.id || ' of ' || s.id FROM labels l JOIN shipments s ON s.id = l.shipment_id JOIN returns r ON r.id = s.return_id
            WHERE NOT l.voided AND s.direction = 'return' AND r.status IN ('expired', 'rejected', 'cancelled') AND r.received_at IS NULL
            """),
        (Reasons, "a closed run's read-model row says why it did not succeed",
            """
            SELECT workflow_id || ' closed as ' || status FROM workflow_runs
            WHERE closed_at IS NOT NULL AND status NOT IN ('completed', 'refunded', 'closed', 'printed', 'label_ready')
              AND coalesce(nullif(details ->> 'reason', ''), nullif(details ->> 'failure', '')) IS NULL
            """),
    ];

    /// <summary>
    /// Finds what breaks each invariant, and where the scenario's SKUs' stock does not reconcile with the orders and
    /// returns that moved it; one line per broken row.
    /// </summary>
    public static async Task<List<string>> FindViolationsAsync(
        StatesetSystem system, IReadOnlyDictionary<string, int> skus, IReadOnlyCollection<(string Check, string Token)> exemptions)
    {
        var broken = new List<string>();
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        foreach (var (key, name, sql) in Checks)
        {
            var exempt = exemptions.Where(e => e.Check == key).Select(e => e.Token).ToList();
            var rows = (await connection.QueryAsync<string>(sql)).Where(row => !exempt.Any(token => row.Contains(token, StringComparison.Ordinal))).ToList();
            broken.AddRange(rows.Select(row => $"{name}: {row}"));
        }

        var stock = (await connection.QueryAsync<string>(
            """
            WITH initial AS (SELECT * FROM unnest(@skus, @stocks) AS s(sku, stock))
            SELECT b.location_id || ' ' || b.sku || ': on hand ' || b.on_hand || ', expected ' || (i.stock - coalesce(c.committed, 0) + coalesce(a.delta, 0))
            FROM inventory_balances b JOIN initial i ON i.sku = b.sku
            LEFT JOIN (SELECT location_id, sku, sum(quantity) AS committed FROM inventory_reservations WHERE status = 'committed' GROUP BY location_id, sku) c
              ON c.location_id = b.location_id AND c.sku = b.sku
            LEFT JOIN (SELECT location_id, sku, sum(on_hand_delta) AS delta FROM inventory_adjustments GROUP BY location_id, sku) a
              ON a.location_id = b.location_id AND a.sku = b.sku
            WHERE b.on_hand <> i.stock - coalesce(c.committed, 0) + coalesce(a.delta, 0)
            """,
            new { skus = skus.Keys.ToArray(), stocks = skus.Values.ToArray() })).ToList();
        broken.AddRange(stock.Select(row => $"on-hand stock reconciles with committed orders and restocked returns: {row}"));
        broken.AddRange(await ClosedWorkflowsWithoutClosedRowsAsync(system.Temporal.Client, connection));
        return broken;
    }

    /// <summary>Every workflow Temporal has closed has a closed read-model row: no run ends while its row says it goes on.</summary>
    private static async Task<List<string>> ClosedWorkflowsWithoutClosedRowsAsync(ITemporalClient temporal, NpgsqlConnection connection)
    {
        var closed = new List<string>();
        await foreach (var execution in temporal.ListWorkflowsAsync(string.Empty))
        {
            if (execution.Status is not (WorkflowExecutionStatus.Running or WorkflowExecutionStatus.ContinuedAsNew))
            {
                closed.Add(execution.Id);
            }
        }

        var rows = (await connection.QueryAsync<(string WorkflowId, DateTime? ClosedAt, string Status)>(
            "SELECT workflow_id, closed_at, status FROM workflow_runs WHERE workflow_id = ANY(@closed)", new { closed = closed.ToArray() }))
            .ToDictionary(row => row.WorkflowId);
        return closed
            .Select(id => rows.TryGetValue(id, out var row)
                ? row.ClosedAt is null ? $"workflow {id} has closed but its read-model row stays open ({row.Status})" : null
                : $"workflow {id} has closed without a read-model row")
            .OfType<string>()
            .ToList();
    }
}

using System.Text.Json;
using Npgsql;
using Stateset.Activities.Inventory;
using Stateset.Activities.Orders;
using Stateset.Activities.ReadModels;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Steps;

/// <summary>
/// One business step, one transaction: the step's rows, the order's status, the customer email, the run's read-model
/// row and every outbox event commit together or not at all, and an attempt retried after the commit doubles nothing.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class StepRecordTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly PostalAddress MountainView = new("Ava Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US");
    private static readonly DateTimeOffset At = new(2026, 11, 2, 10, 0, 0, TimeSpan.Zero);
    private CommerceDatabase _db = null!;
    private OrderActivities _orders = null!;
    private InventoryActivities _inventory = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _orders = new OrderActivities(_db.DataSource);
        _inventory = new InventoryActivities(_db.DataSource);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Reserve_WithItsRecord_CommitsReservationStatusViewAndEventsTogether()
    {
        await PlaceAsync("o-s1");
        var reserve = new ReserveInventoryInput("o-s1", [new OrderLine("TENT-2P", 2)])
        {
            Record = new StepRecord(Run("o-s1", 2, "pending", "reserving inventory"), [new UpdateOrderStatusInput("o-s1", "reserved", At)]),
        };

        await Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(reserve));

        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = 'o-s1'"));
        Assert.Equal("reserved", await _db.ScalarAsync<string>("SELECT status FROM orders WHERE id = 'o-s1'"));
        Assert.Equal(2, await _db.ScalarAsync<long>("SELECT version FROM workflow_runs WHERE workflow_id = 'order-o-s1'"));
        Assert.Equal("reserving inventory", await _db.ScalarAsync<string>("SELECT view->>'stage' FROM workflow_runs WHERE workflow_id = 'order-o-s1'"));
        Assert.Equal(1, await _db.CountEventsAsync("inventory.reserved"));
        Assert.Equal(1, await _db.CountEventsAsync("order.status_changed"));
        Assert.Equal(1, await _db.CountEventsAsync("workflow.updated"));
    }

    [Fact]
    public async Task Reserve_FailingAfterItsBusinessWrites_LeavesNoReservationStatusViewOrEvent()
    {
        await PlaceAsync("o-s2");
        var before = await _db.BalanceAsync("wh-reno", "TENT-2P");
        await _db.FailReadModelWritesAsync();
        var reserve = new ReserveInventoryInput("o-s2", [new OrderLine("TENT-2P", 2)])
        {
            Record = new StepRecord(Run("o-s2", 2, "pending", "reserving inventory"), [new UpdateOrderStatusInput("o-s2", "reserved", At)]),
        };

        // The read-model row is the step's last write: by then the reservation, the balance and the status were written.
        await Assert.ThrowsAsync<PostgresException>(() => Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(reserve)));

        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = 'o-s2'"));
        Assert.Equal(before, await _db.BalanceAsync("wh-reno", "TENT-2P"));
        Assert.Equal("pending", await _db.ScalarAsync<string>("SELECT status FROM orders WHERE id = 'o-s2'"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM workflow_runs WHERE workflow_id = 'order-o-s2'"));
        Assert.Equal(0, await _db.CountEventsAsync("inventory.reserved"));
        Assert.Equal(0, await _db.CountEventsAsync("order.status_changed"));
        Assert.Equal(0, await _db.CountEventsAsync("workflow.updated"));
    }

    [Fact]
    public async Task Place_FailingAfterItsRows_LeavesNoOrderAndNoEvent()
    {
        await _db.FailReadModelWritesAsync();
        var order = new PlaceOrderInput("o-s3", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], MountainView)
        {
            Record = new StepRecord(Run("o-s3", 1, "pending", "validating")),
        };

        await Assert.ThrowsAsync<PostgresException>(() => Attempts.RunAsync(() => _orders.PlaceOrderAsync(order)));

        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 'o-s3'"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM order_items WHERE order_id = 'o-s3'"));
        Assert.Equal(0, await _db.CountEventsAsync("order.placed"));
        Assert.Equal(0, await _db.CountEventsAsync("workflow.updated"));
    }

    [Fact]
    public async Task Place_RetriedAfterItsCommit_WritesTheOrderItsRowAndEachEventOnce()
    {
        var order = new PlaceOrderInput("o-s4", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], MountainView)
        {
            Record = new StepRecord(Run("o-s4", 1, "pending", "validating")),
        };

        await Attempts.RunAsync(() => _orders.PlaceOrderAsync(order));
        await Attempts.RunAsync(() => _orders.PlaceOrderAsync(order), attempt: 2);

        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 'o-s4'"));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT version FROM workflow_runs WHERE workflow_id = 'order-o-s4'"));
        Assert.Equal(1, await _db.CountEventsAsync("order.placed"));
        Assert.Equal(1, await _db.CountEventsAsync("workflow.updated"));
    }

    [Fact]
    public async Task CommitOrderInventory_RetriedAfterItsCommit_MovesTheStatusOnceAndWritesOneEmailOneViewAndOneEventEach()
    {
        await PlaceAsync("o-s5");
        await Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(new ReserveInventoryInput("o-s5", [new OrderLine("TENT-2P", 1)])));
        await OrderPath.WalkToAsync(_orders, "o-s5", "captured", At);
        var (onHand, _) = await _db.BalanceAsync("wh-reno", "TENT-2P");
        var commit = new CommitOrderInventoryInput("o-s5")
        {
            Record = new StepRecord(
                Run("o-s5", 8, "shipped", "awaiting delivery"),
                [new UpdateOrderStatusInput("o-s5", "shipped", At)],
                new CustomerNotification("o-s5:shipped", "cus-ava", "order_shipped", new Dictionary<string, string> { ["orderId"] = "o-s5" })),
        };

        await Attempts.RunAsync(() => _inventory.CommitOrderInventoryAsync(commit));
        await Attempts.RunAsync(() => _inventory.CommitOrderInventoryAsync(commit), attempt: 2);

        Assert.Equal(onHand - 1, (await _db.BalanceAsync("wh-reno", "TENT-2P")).OnHand);
        Assert.Equal("shipped", await _db.ScalarAsync<string>("SELECT status FROM orders WHERE id = 'o-s5'"));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM outbox_events WHERE event_type = 'order.status_changed' AND payload->>'to' = 'shipped'"));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM notifications WHERE idempotency_key = 'o-s5:shipped'"));
        Assert.Equal(1, await _db.CountEventsAsync("notification.email_requested"));
        Assert.Equal(1, await _db.CountEventsAsync("inventory.committed"));
        Assert.Equal(1, await _db.CountEventsAsync("workflow.updated"));
        Assert.Equal(8, await _db.ScalarAsync<long>("SELECT version FROM workflow_runs WHERE workflow_id = 'order-o-s5'"));
    }

    [Fact]
    public async Task RecordStep_DeliveredThenCompleted_MovesBothAndClosesTheRowOnceUnderRetries()
    {
        await PlaceAsync("o-s6");
        await OrderPath.WalkToAsync(_orders, "o-s6", "shipped", At);
        var readModels = new ReadModelActivities(_db.DataSource);
        var step = new StepRecord(
            Run("o-s6", 9, "completed", "done", closed: true),
            [new UpdateOrderStatusInput("o-s6", "delivered", At), new UpdateOrderStatusInput("o-s6", "completed", At)]);

        await Attempts.RunAsync(() => readModels.RecordStepAsync(step));
        await Attempts.RunAsync(() => readModels.RecordStepAsync(step), attempt: 2);

        Assert.Equal("completed", await _db.ScalarAsync<string>("SELECT status FROM orders WHERE id = 'o-s6'"));
        Assert.NotNull(await _db.ScalarAsync<DateTime?>("SELECT delivered_at FROM orders WHERE id = 'o-s6'"));
        Assert.NotNull(await _db.ScalarAsync<DateTime?>("SELECT closed_at FROM workflow_runs WHERE workflow_id = 'order-o-s6'"));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM outbox_events WHERE event_type = 'order.status_changed' AND payload->>'to' = 'completed'"));
        Assert.Equal(1, await _db.CountEventsAsync("workflow.updated"));
    }

    private static WorkflowRunUpdate Run(string orderId, long version, string status, string stage, bool closed = false) =>
        new($"order-{orderId}", "OrderFulfillment", orderId, "cus-ava", status, stage, version, At, 349m, "USD", closed)
        {
            View = JsonSerializer.SerializeToElement(new { orderId, status, stage }),
            RunId = "run-1",
        };

    private Task PlaceAsync(string orderId) =>
        Attempts.RunAsync(() => _orders.PlaceOrderAsync(new PlaceOrderInput(orderId, "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], MountainView)));
}

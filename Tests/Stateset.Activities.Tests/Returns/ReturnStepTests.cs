using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using Stateset.Activities.Inventory;
using Stateset.Activities.Orders;
using Stateset.Activities.ReadModels;
using Stateset.Activities.Returns;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Returns;

/// <summary>
/// A return's steps carry its status moves and its view (<see cref="StepRecord.ReturnStatuses"/>): they commit with
/// the step's own rows or not at all, and an attempt retried after the commit moves nothing twice.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ReturnStepTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly DateTimeOffset DeliveredAt = new(2026, 11, 1, 15, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset At = DeliveredAt.AddDays(3);
    private CommerceDatabase _db = null!;
    private ReturnActivities _returns = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _returns = new ReturnActivities(_db.DataSource, Options.Create(new ReturnOptions()), new ManualTime(At));
        var orders = new OrderActivities(_db.DataSource);
        var address = new PostalAddress("Ava Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US");
        await Attempts.RunAsync(() => orders.PlaceOrderAsync(new PlaceOrderInput("o-1", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], address)));
        await OrderPath.WalkToAsync(orders, "o-1", "delivered", DeliveredAt);
        await Attempts.RunAsync(() => _returns.OpenReturnAsync(new ReturnRequest("r-1", "o-1", [new ReturnLine("TENT-2P", 1)])));
        foreach (var status in new[] { "approved", "label_issued", "received" })
        {
            await Attempts.RunAsync(() => _returns.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-1", status, At)));
        }
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Inspection_WithTheInspectedStatus_RetriedAfterItsCommit_MovesTheReturnOnceWithOneEvent()
    {
        var input = new RecordInspectionInput("r-1", "qa-reno", [new InspectedCondition("TENT-2P", "new")])
        {
            Record = new StepRecord(ReturnStatuses: [new UpdateReturnStatusInput("r-1", "inspected", At)]),
        };

        await Attempts.RunAsync(() => _returns.RecordInspectionAsync(input));
        await Attempts.RunAsync(() => _returns.RecordInspectionAsync(input), attempt: 2);

        Assert.Equal("inspected", await _db.ScalarAsync<string>("SELECT status FROM returns WHERE id = 'r-1'"));
        Assert.Equal(1, await StatusEventsAsync("inspected"));
    }

    [Fact]
    public async Task Restock_FailingAtItsViewWrite_PutsNothingOnTheShelfAndWritesNoEvent()
    {
        var inventory = new InventoryActivities(_db.DataSource);
        var before = await _db.BalanceAsync("wh-reno", "TENT-2P");
        await _db.FailReadModelWritesAsync();
        var restock = new RestockInput("r-1", "wh-reno", [new OrderLine("TENT-2P", 1)]) { Record = new StepRecord(Run(6, "inspected", "refunding")) };

        // The view is the step's last write: by then the adjustment and the balance were written.
        await Assert.ThrowsAsync<PostgresException>(() => Attempts.RunAsync(() => inventory.RestockReturnAsync(restock)));

        Assert.Equal(before, await _db.BalanceAsync("wh-reno", "TENT-2P"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM inventory_adjustments WHERE reference_id = 'r-1'"));
        Assert.Equal(0, await _db.CountEventsAsync("inventory.restocked"));
        Assert.Equal(0, await _db.CountEventsAsync("workflow.updated"));
    }

    [Fact]
    public async Task RecordStep_RefundedThenClosed_RetriedAfterItsCommit_MovesBothOnceAndClosesTheRow()
    {
        await Attempts.RunAsync(() => _returns.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-1", "inspected", At)));
        var readModels = new ReadModelActivities(_db.DataSource);
        var step = new StepRecord(
            Run(9, "closed", "done", closed: true),
            ReturnStatuses: [new UpdateReturnStatusInput("r-1", "refunded", At), new UpdateReturnStatusInput("r-1", "closed", At)]);

        await Attempts.RunAsync(() => readModels.RecordStepAsync(step));
        await Attempts.RunAsync(() => readModels.RecordStepAsync(step), attempt: 2);

        Assert.Equal("closed", await _db.ScalarAsync<string>("SELECT status FROM returns WHERE id = 'r-1'"));
        Assert.NotNull(await _db.ScalarAsync<DateTime?>("SELECT closed_at FROM returns WHERE id = 'r-1'"));
        Assert.Equal(1, await StatusEventsAsync("refunded"));
        Assert.Equal(1, await StatusEventsAsync("closed"));
        Assert.NotNull(await _db.ScalarAsync<DateTime?>("SELECT closed_at FROM workflow_runs WHERE workflow_id = 'rma-r-1'"));
        Assert.Equal(1, await _db.CountEventsAsync("workflow.updated"));
    }

    [Fact]
    public async Task RecordStep_ClosingAReturnThatDoesNotExist_FailsForGoodAndClosesNoRow()
    {
        var readModels = new ReadModelActivities(_db.DataSource);
        var step = new StepRecord(Run(9, "expired", "done", closed: true), ReturnStatuses: [new UpdateReturnStatusInput("r-404", "expired", At)]);

        await Attempts.FailsAsync(() => readModels.RecordStepAsync(step), CommerceErrorTypes.NotFound);

        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM workflow_runs WHERE workflow_id = 'rma-r-1'"));
    }

    private static WorkflowRunUpdate Run(long version, string status, string stage, bool closed = false) =>
        new("rma-r-1", "ReturnAuthorization", "r-1", "cus-ava", status, stage, version, At, 349m, "USD", closed)
        {
            View = JsonSerializer.SerializeToElement(new { returnId = "r-1", status, stage }),
            RunId = "run-1",
        };

    private Task<long> StatusEventsAsync(string to) => _db.ScalarAsync<long>(
        "SELECT count(*) FROM outbox_events WHERE event_type = 'return.status_changed' AND payload->>'to' = @to", new { to });
}

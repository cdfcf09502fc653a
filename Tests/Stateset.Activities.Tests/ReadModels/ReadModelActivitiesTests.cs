using System.Diagnostics.Metrics;
using System.Text.Json;
using Stateset.Activities.ReadModels;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.ReadModels;

[Collection(PostgresCollection.Name)]
public sealed class ReadModelActivitiesTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);
    private CommerceDatabase _db = null!;
    private ReadModelActivities _readModels = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _readModels = new ReadModelActivities(_db.DataSource);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Upsert_NewerSequences_AdvanceTheRowAndMergeDetails()
    {
        await Upsert(1, "running", "reserving", Start, details: new() { ["orderId"] = "o-1" });
        await Upsert(2, "completed", "done", Start.AddMinutes(5), closed: true, details: new() { ["trackingNumber"] = "1Z999" });

        var row = Assert.Single(await _db.QueryAsync<(string Status, string Stage, DateTime StartedAt, DateTime? ClosedAt, string Details)>(
            "SELECT status, stage, started_at, closed_at, details::text FROM workflow_runs"));
        Assert.Equal(("completed", "done"), (row.Status, row.Stage));
        Assert.Equal(Start.UtcDateTime, row.StartedAt);
        Assert.Equal(Start.AddMinutes(5).UtcDateTime, row.ClosedAt);
        Assert.Equal("{\"orderId\": \"o-1\", \"trackingNumber\": \"1Z999\"}", row.Details);
        Assert.Equal(2, await _db.CountEventsAsync("workflow.updated"));
    }

    [Fact]
    public async Task Upsert_RetryOfAnOlderUpdateArrivingLate_ChangesNothing()
    {
        await Upsert(1, "running", "reserving", Start);
        await Upsert(3, "running", "awaiting_approval", Start.AddMinutes(2));

        var applied = await Attempts.RunAsync(
            () => _readModels.UpsertWorkflowRunAsync(Update(2, "running", "capturing", Start.AddMinutes(1))), attempt: 3);
        var repeated = await Attempts.RunAsync(
            () => _readModels.UpsertWorkflowRunAsync(Update(3, "running", "awaiting_approval", Start.AddMinutes(2))), attempt: 2);

        Assert.False(applied);
        Assert.False(repeated);
        Assert.Equal("awaiting_approval", await _db.ScalarAsync<string>("SELECT stage FROM workflow_runs"));
        Assert.Equal(2, await _db.CountEventsAsync("workflow.updated"));
    }

    [Fact]
    public async Task Upsert_StoresTheStatusView_AndAnOlderViewArrivingLateNeverReplacesANewerOne()
    {
        await Attempts.RunAsync(() => _readModels.UpsertWorkflowRunAsync(Update(1, "pending", "validating", Start) with { View = View("validating"), RunId = "run-1" }));
        await Attempts.RunAsync(() => _readModels.UpsertWorkflowRunAsync(Update(3, "captured", "printing label", Start.AddMinutes(2)) with { View = View("printing label") }));

        // A retry of write 2 (and a replayed write 3) arrives after write 3 committed.
        var late = await Attempts.RunAsync(
            () => _readModels.UpsertWorkflowRunAsync(Update(2, "approved", "capturing payment", Start.AddMinutes(1)) with { View = View("capturing payment") }), attempt: 4);
        var replayed = await Attempts.RunAsync(
            () => _readModels.UpsertWorkflowRunAsync(Update(3, "captured", "printing label", Start.AddMinutes(2)) with { View = View("stale copy") }), attempt: 2);

        Assert.False(late);
        Assert.False(replayed);
        var row = Assert.Single(await _db.QueryAsync<(long Version, string Stage, string ViewStage, int Steps, string RunId)>(
            "SELECT version, stage, view ->> 'stage', jsonb_array_length(view -> 'timeline'), run_id FROM workflow_runs"));
        Assert.Equal((3L, "printing label", "printing label", 1, "run-1"), row);
    }

    [Fact]
    public async Task Upsert_WithoutAView_KeepsTheViewStoredBefore()
    {
        await Attempts.RunAsync(() => _readModels.UpsertWorkflowRunAsync(Update(1, "pending", "validating", Start) with { View = View("validating") }));
        await Upsert(2, "pending", "reserving inventory", Start.AddMinutes(1));

        Assert.Equal("validating", await _db.ScalarAsync<string>("SELECT view ->> 'stage' FROM workflow_runs"));
        Assert.Equal(2, await _db.ScalarAsync<long>("SELECT version FROM workflow_runs"));
    }

    [Fact]
    public async Task Approval_RequestedTwiceThenDecided_RecordsWhoWhenAndWhyOnce()
    {
        var request = new ApprovalRequest("order-o-1", "order", "o-1", "risk score 70", Start, Start.AddHours(24));
        await Attempts.RunAsync(() => _readModels.RequestApprovalAsync(request));
        await Attempts.RunAsync(() => _readModels.RequestApprovalAsync(request), attempt: 2);

        var decision = new ApprovalDecision("order-o-1", "order", "o-1", "approved", "ops@stateset.example", Start.AddHours(1), "customer verified by phone");
        await Attempts.RunAsync(() => _readModels.RecordApprovalDecisionAsync(decision));
        await Attempts.RunAsync(() => _readModels.RecordApprovalDecisionAsync(decision), attempt: 2);

        var row = Assert.Single(await _db.QueryAsync<(string Decision, string DecidedBy, DateTime DecidedAt, string Reason)>(
            "SELECT decision, decided_by, decided_at, decision_reason FROM approvals"));
        Assert.Equal(("approved", "ops@stateset.example", Start.AddHours(1).UtcDateTime, "customer verified by phone"), row);
        Assert.Equal(1, await _db.CountEventsAsync("approval.requested"));
        Assert.Equal(1, await _db.CountEventsAsync("approval.decided"));
    }

    [Fact]
    public async Task Approval_Decided_RecordsTheWaitOnceEvenWhenRetried()
    {
        var waits = new List<(double Seconds, object? Decision)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Stateset.Workflows" && instrument.Name == "stateset.approval.wait")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            lock (waits)
            {
                waits.Add((value, tags.ToArray().FirstOrDefault(t => t.Key == "decision").Value));
            }
        });
        listener.Start();
        await Attempts.RunAsync(() => _readModels.RequestApprovalAsync(new ApprovalRequest("return-r-9", "return", "r-9", "high value", Start)));

        var decision = new ApprovalDecision("return-r-9", "return", "r-9", "rejected", "ops", Start.AddSeconds(4321));
        await Attempts.RunAsync(() => _readModels.RecordApprovalDecisionAsync(decision));
        await Attempts.RunAsync(() => _readModels.RecordApprovalDecisionAsync(decision), attempt: 2);

        lock (waits)
        {
            Assert.Equal([(4321d, (object?)"rejected")], waits.Where(w => w.Seconds == 4321d));
        }
    }

    [Fact]
    public async Task Approval_ContradictingDecision_IsRefused()
    {
        await Attempts.RunAsync(() => _readModels.RequestApprovalAsync(new ApprovalRequest("refund-rf-1", "refund", "rf-1", "above threshold", Start)));
        await Attempts.RunAsync(() => _readModels.RecordApprovalDecisionAsync(new ApprovalDecision("refund-rf-1", "refund", "rf-1", "rejected", "ops", Start)));

        await Attempts.FailsAsync(
            () => _readModels.RecordApprovalDecisionAsync(new ApprovalDecision("refund-rf-1", "refund", "rf-1", "approved", "ops", Start)),
            CommerceErrorTypes.InvalidState);
        await Attempts.FailsAsync(
            () => _readModels.RecordApprovalDecisionAsync(new ApprovalDecision("refund-rf-2", "refund", "rf-2", "approved", "ops", Start)),
            CommerceErrorTypes.NotFound);
    }

    private static JsonElement View(string stage) =>
        JsonSerializer.SerializeToElement(new { stage, timeline = new[] { new { step = stage, outcome = "started" } }, money = new { total = 349m } });

    private static WorkflowRunUpdate Update(long sequence, string status, string stage, DateTimeOffset at, bool closed = false, Dictionary<string, string>? details = null) =>
        new("order-o-1", "OrderFulfillment", "o-1", "cus-ava", status, stage, sequence, at, 349m, "USD", closed, details);

    private Task<bool> Upsert(long sequence, string status, string stage, DateTimeOffset at, bool closed = false, Dictionary<string, string>? details = null) =>
        Attempts.RunAsync(() => _readModels.UpsertWorkflowRunAsync(Update(sequence, status, stage, at, closed, details)));
}

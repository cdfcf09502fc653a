using Microsoft.Extensions.Options;
using Stateset.Activities.Orders;
using Stateset.Activities.Returns;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Returns;

[Collection(PostgresCollection.Name)]
public sealed class ReturnActivitiesTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly DateTimeOffset DeliveredAt = new(2026, 11, 1, 15, 0, 0, TimeSpan.Zero);
    private readonly ManualTime _time = new(DeliveredAt.AddDays(10));
    private CommerceDatabase _db = null!;
    private ReturnActivities _returns = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _returns = new ReturnActivities(_db.DataSource, Options.Create(new ReturnOptions()), _time);
        var orders = new OrderActivities(_db.DataSource);
        var address = new PostalAddress("Ava Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US");
        await Attempts.RunAsync(() => orders.PlaceOrderAsync(new PlaceOrderInput(
            "o-1", "cus-ava", "USD", [new OrderLine("TENT-2P", 1), new OrderLine("SOCK-WOOL", 4), new OrderLine("FUEL-230", 2), new OrderLine("FILTER-SQ", 1)], address)));
        await OrderPath.WalkToAsync(orders, "o-1", "delivered", DeliveredAt);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Check_OpenedItemInsideTheWindow_IsEligibleWithAFifteenPercentFee()
    {
        var eligibility = await Attempts.RunAsync(() => _returns.CheckReturnEligibilityAsync(
            new ReturnRequest("r-1", "o-1", [new ReturnLine("TENT-2P", 1, "opened")])));

        Assert.True(eligibility.Eligible);
        Assert.Equal(349.00m, eligibility.ItemTotal);
        Assert.Equal(52.35m, eligibility.RestockingFee);
        Assert.Equal(296.65m, eligibility.RefundAmount);
    }

    [Fact]
    public async Task Check_DefectiveItem_WaivesTheFee()
    {
        var eligibility = await Attempts.RunAsync(() => _returns.CheckReturnEligibilityAsync(
            new ReturnRequest("r-2", "o-1", [new ReturnLine("TENT-2P", 1, "damaged", "defective")])));

        Assert.Equal(0m, eligibility.RestockingFee);
        Assert.Equal(349.00m, eligibility.RefundAmount);
    }

    [Fact]
    public async Task Check_AfterTheProductsWindow_IsIneligibleNamingTheEndDate()
    {
        _time.Advance(TimeSpan.FromDays(5)); // 15 days after delivery; socks allow 14.

        var eligibility = await Attempts.RunAsync(() => _returns.CheckReturnEligibilityAsync(
            new ReturnRequest("r-3", "o-1", [new ReturnLine("SOCK-WOOL", 1), new ReturnLine("TENT-2P", 1)])));

        Assert.False(eligibility.Eligible);
        Assert.Equal("the 14-day return window for SKU SOCK-WOOL ended on 2026-11-15", eligibility.Lines[0].IneligibleReason);
        Assert.True(eligibility.Lines[1].Eligible);
        Assert.Equal(0m, eligibility.RefundAmount);
    }

    [Theory]
    [InlineData("FUEL-230", 1, "SKU FUEL-230 is not returnable")]
    [InlineData("PACK-55L", 1, "SKU PACK-55L is not on order o-1")]
    [InlineData("SOCK-WOOL", 5, "only 4 of SKU SOCK-WOOL can still be returned (4 ordered, 0 already returned)")]
    public async Task Check_IneligibleLine_SaysWhy(string sku, int quantity, string reason)
    {
        var eligibility = await Attempts.RunAsync(() => _returns.CheckReturnEligibilityAsync(new ReturnRequest("r-4", "o-1", [new ReturnLine(sku, quantity)])));

        Assert.Equal(reason, Assert.Single(eligibility.Lines).IneligibleReason);
    }

    [Fact]
    public async Task Check_OrderNotDelivered_IsIneligible()
    {
        await _db.ExecuteAsync("UPDATE orders SET delivered_at = NULL");

        var eligibility = await Attempts.RunAsync(() => _returns.CheckReturnEligibilityAsync(new ReturnRequest("r-5", "o-1", [new ReturnLine("TENT-2P", 1)])));

        Assert.Equal("order o-1 has not been delivered", Assert.Single(eligibility.Lines).IneligibleReason);
    }

    [Fact]
    public async Task Open_Retried_KeepsOneReturnWithItsRmaNumber()
    {
        var request = new ReturnRequest("r-6", "o-1", [new ReturnLine("SOCK-WOOL", 2, "opened")], "too small");

        var first = await Attempts.RunAsync(() => _returns.OpenReturnAsync(request));
        var retry = await Attempts.RunAsync(() => _returns.OpenReturnAsync(request), attempt: 2);

        Assert.Matches("^RMA-[0-9]{6}$", first.RmaNumber);
        Assert.Equal(first.RmaNumber, retry.RmaNumber);
        Assert.Equal(first.Eligibility.RefundAmount, retry.Eligibility.RefundAmount);
        Assert.Equal(42.41m, first.Eligibility.RefundAmount); // 2 x 24.95 = 49.90, less 15% (7.485 rounds half away from zero to 7.49)
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM returns"));
        Assert.Equal(1, await _db.CountEventsAsync("return.opened"));
    }

    [Fact]
    public async Task Open_TwoReturnsForTheLastUnitsConcurrently_ExactlyOneIsOpened()
    {
        var results = await Task.WhenAll(new[] { "r-a", "r-b" }.Select(returnId => Task.Run(async () =>
        {
            try
            {
                await Attempts.RunAsync(() => _returns.OpenReturnAsync(new ReturnRequest(returnId, "o-1", [new ReturnLine("SOCK-WOOL", 3)])));
                return "opened";
            }
            catch (Temporalio.Exceptions.ApplicationFailureException e)
            {
                return e.ErrorType!;
            }
        })));

        Assert.Equal([CommerceErrorTypes.ReturnNotEligible, "opened"], results.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Open_RejectedReturnsUnits_CanBeReturnedAgain()
    {
        await Attempts.RunAsync(() => _returns.OpenReturnAsync(new ReturnRequest("r-7", "o-1", [new ReturnLine("FILTER-SQ", 1)])));
        await Attempts.RunAsync(() => _returns.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-7", "rejected", _time.GetUtcNow())));

        var second = await Attempts.RunAsync(() => _returns.OpenReturnAsync(new ReturnRequest("r-8", "o-1", [new ReturnLine("FILTER-SQ", 1)])));

        Assert.True(second.Eligibility.Eligible);
        Assert.NotNull(await _db.ScalarAsync<DateTime?>("SELECT closed_at FROM returns WHERE id = 'r-7'"));
    }

    [Fact]
    public async Task UpdateStatus_EveryStatusOfAReturnThatIsRefunded_IsStoredWithItsTimesAndOneEventEach()
    {
        await Attempts.RunAsync(() => _returns.OpenReturnAsync(new ReturnRequest("r-11", "o-1", [new ReturnLine("TENT-2P", 1)])));
        var at = _time.GetUtcNow();
        string[] path = ["approved", "label_issued", "received", "inspected", "refunded", "closed"];

        for (var i = 0; i < path.Length; i++)
        {
            var status = path[i];
            await Attempts.RunAsync(() => _returns.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-11", status, at.AddHours(i))));
            Assert.Equal(status, await _db.ScalarAsync<string>("SELECT status FROM returns WHERE id = 'r-11'"));
            Assert.Equal(at.AddHours(i).UtcDateTime, await _db.ScalarAsync<DateTime>("SELECT updated_at FROM returns WHERE id = 'r-11'"));
        }

        Assert.Equal(at.UtcDateTime, await _db.ScalarAsync<DateTime>("SELECT approved_at FROM returns WHERE id = 'r-11'"));
        Assert.Equal(at.AddHours(2).UtcDateTime, await _db.ScalarAsync<DateTime>("SELECT received_at FROM returns WHERE id = 'r-11'"));
        Assert.Equal(at.AddHours(5).UtcDateTime, await _db.ScalarAsync<DateTime>("SELECT closed_at FROM returns WHERE id = 'r-11'"));
        Assert.Equal(path.Length, await _db.CountEventsAsync("return.status_changed"));
    }

    [Theory]
    [InlineData("rejected")]
    [InlineData("expired")]
    [InlineData("cancelled")]
    public async Task UpdateStatus_EveryClosingStatus_SetsClosedTime(string status)
    {
        await Attempts.RunAsync(() => _returns.OpenReturnAsync(new ReturnRequest("r-12", "o-1", [new ReturnLine("TENT-2P", 1)])));

        await Attempts.RunAsync(() => _returns.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-12", status, _time.GetUtcNow())));

        Assert.Equal(status, await _db.ScalarAsync<string>("SELECT status FROM returns WHERE id = 'r-12'"));
        Assert.NotNull(await _db.ScalarAsync<DateTime?>("SELECT closed_at FROM returns WHERE id = 'r-12'"));
    }

    [Fact]
    public async Task UpdateStatus_RetriedOrBackwards_LeavesTheReturnAndWritesNoEvent()
    {
        await Attempts.RunAsync(() => _returns.OpenReturnAsync(new ReturnRequest("r-13", "o-1", [new ReturnLine("TENT-2P", 1)])));
        await Attempts.RunAsync(() => _returns.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-13", "approved", _time.GetUtcNow())));
        await Attempts.RunAsync(() => _returns.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-13", "label_issued", _time.GetUtcNow())));

        await Attempts.RunAsync(() => _returns.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-13", "label_issued", _time.GetUtcNow())), attempt: 2);
        await Attempts.RunAsync(() => _returns.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-13", "approved", _time.GetUtcNow())));

        Assert.Equal("label_issued", await _db.ScalarAsync<string>("SELECT status FROM returns WHERE id = 'r-13'"));
        Assert.Equal(2, await _db.CountEventsAsync("return.status_changed"));
    }

    [Theory]
    [InlineData("TENT-2P", -1, "new", CommerceErrorTypes.InvalidQuantity)]
    [InlineData("TENT-2P", 1, "mangled", CommerceErrorTypes.InvalidInput)]
    public async Task Check_BadInput_IsAPreciseError(string sku, int quantity, string condition, string errorType)
    {
        await Attempts.FailsAsync(
            () => _returns.CheckReturnEligibilityAsync(new ReturnRequest("r-9", "o-1", [new ReturnLine(sku, quantity, condition)])), errorType);
    }

    [Fact]
    public async Task Check_UnknownOrder_IsNotFound()
    {
        await Attempts.FailsAsync(
            () => _returns.CheckReturnEligibilityAsync(new ReturnRequest("r-10", "o-404", [new ReturnLine("TENT-2P", 1)])), CommerceErrorTypes.NotFound);
    }
}

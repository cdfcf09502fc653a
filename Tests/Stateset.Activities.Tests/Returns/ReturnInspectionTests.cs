using Microsoft.Extensions.Options;
using Stateset.Activities.Orders;
using Stateset.Activities.Returns;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Returns;

[Collection(PostgresCollection.Name)]
public sealed class ReturnInspectionTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly DateTimeOffset DeliveredAt = new(2026, 11, 1, 15, 0, 0, TimeSpan.Zero);
    private CommerceDatabase _db = null!;
    private ReturnActivities _returns = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _returns = new ReturnActivities(_db.DataSource, Options.Create(new ReturnOptions()), new ManualTime(DeliveredAt.AddDays(3)));
        var orders = new OrderActivities(_db.DataSource);
        var address = new PostalAddress("Ava Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US");
        await Attempts.RunAsync(() => orders.PlaceOrderAsync(new PlaceOrderInput(
            "o-1", "cus-ava", "USD", [new OrderLine("TENT-2P", 1), new OrderLine("PAD-INS", 1)], address)));
        await OrderPath.WalkToAsync(orders, "o-1", "delivered", DeliveredAt);
        await Attempts.RunAsync(() => _returns.OpenReturnAsync(new ReturnRequest("r-1", "o-1", [new ReturnLine("TENT-2P", 1), new ReturnLine("PAD-INS", 1)])));
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Inspection_FindsDamage_ChargesTheFee_AndStoresTheNewRefund_OnceAcrossRetries()
    {
        var input = new RecordInspectionInput("r-1", "qa-reno", [new InspectedCondition("TENT-2P", "damaged"), new InspectedCondition("PAD-INS", "new")]);

        var priced = await Attempts.RunAsync(() => _returns.RecordInspectionAsync(input));
        var retried = await Attempts.RunAsync(() => _returns.RecordInspectionAsync(input), attempt: 2);

        var fee = 349.00m * new ReturnOptions().DamagedFeePercent / 100m;
        Assert.Equal(fee, priced.RestockingFee);
        Assert.Equal(349.00m + 149.00m - fee, priced.RefundAmount);
        Assert.Equal((priced.RestockingFee, priced.RefundAmount), (retried.RestockingFee, retried.RefundAmount));
        Assert.Equal(priced.Lines, retried.Lines);
        Assert.Equal(priced.RefundAmount, await _db.ScalarAsync<decimal>("SELECT refund_amount FROM returns WHERE id = 'r-1'"));
        Assert.Equal("damaged", await _db.ScalarAsync<string>("SELECT condition FROM return_items WHERE return_id = 'r-1' AND sku = 'TENT-2P'"));
        Assert.Equal("qa-reno", await _db.ScalarAsync<string>("SELECT inspected_by FROM returns WHERE id = 'r-1' AND inspected_at IS NOT NULL"));

        // The retry found the first attempt's mark: the inspection is one event, as it is one inspection.
        Assert.Equal(1, await _db.CountEventsAsync("return.inspected"));
    }

    [Fact]
    public async Task Inspection_OfASkuNotOnTheReturn_FailsForGood_AndChangesNothing()
    {
        var failure = await Attempts.FailsAsync(
            () => _returns.RecordInspectionAsync(new RecordInspectionInput("r-1", "qa-reno", [new InspectedCondition("TENT-2P", "damaged"), new InspectedCondition("STOVE-CAN", "new")])),
            CommerceErrorTypes.InvalidInput);

        Assert.Contains("STOVE-CAN is not on return r-1", failure.Message, StringComparison.Ordinal);
        Assert.Equal("new", await _db.ScalarAsync<string>("SELECT condition FROM return_items WHERE return_id = 'r-1' AND sku = 'TENT-2P'"));
    }
}

using Stateset.Activities.Inventory;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Inventory;

[Collection(PostgresCollection.Name)]
public sealed class InventoryActivitiesTests(PostgresFixture postgres) : IAsyncLifetime
{
    private CommerceDatabase _db = null!;
    private InventoryActivities _inventory = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _inventory = new InventoryActivities(_db.DataSource);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Reserve_MoreThanOneLocationHolds_SplitsPreferringTheBuyersCountry()
    {
        // Seed: PACK-55L has 3 in Reno (US) and 2 in Mississauga (CA).
        var result = await Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(
            new ReserveInventoryInput("o-1", [new OrderLine("PACK-55L", 4)], PreferredCountry: "CA")));

        Assert.Equal(
            [new ReservedLine("PACK-55L", "wh-mississauga", 2), new ReservedLine("PACK-55L", "wh-reno", 2)],
            result.Lines.OrderBy(line => line.LocationId, StringComparer.Ordinal));
        Assert.Equal((2, 2), await _db.BalanceAsync("wh-mississauga", "PACK-55L"));
        Assert.Equal((3, 2), await _db.BalanceAsync("wh-reno", "PACK-55L"));
        Assert.Equal(1, await _db.CountEventsAsync("inventory.reserved"));
    }

    [Fact]
    public async Task Reserve_RetriedAttempt_ReturnsTheFirstReservationAndAllocatesOnce()
    {
        var input = new ReserveInventoryInput("o-2", [new OrderLine("TENT-2P", 5), new OrderLine("STOVE-CAN", 1)]);

        var first = await Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(input), attempt: 1);
        var retry = await Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(input), attempt: 2);

        Assert.Equal(first.Lines.OrderBy(l => l.Sku, StringComparer.Ordinal), retry.Lines.OrderBy(l => l.Sku, StringComparer.Ordinal));
        Assert.Equal((40, 5), await _db.BalanceAsync("wh-reno", "TENT-2P"));
        Assert.Equal(2, await _db.ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE order_id = 'o-2'"));
        Assert.Equal(1, await _db.CountEventsAsync("inventory.reserved"));
    }

    [Fact]
    public async Task Reserve_LastUnitTwiceConcurrently_ExactlyOneWins()
    {
        await _db.ExecuteAsync("UPDATE inventory_balances SET on_hand = CASE location_id WHEN 'wh-reno' THEN 1 ELSE 0 END WHERE sku = 'PACK-55L'");

        var attempts = await Task.WhenAll(new[] { "o-a", "o-b" }.Select(orderId => Task.Run(async () =>
        {
            try
            {
                await Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(new ReserveInventoryInput(orderId, [new OrderLine("PACK-55L", 1)])));
                return null;
            }
            catch (Temporalio.Exceptions.ApplicationFailureException e)
            {
                return e;
            }
        })));

        var failure = Assert.Single(attempts, failure => failure is not null)!;
        Assert.Equal(CommerceErrorTypes.InsufficientStock, failure.ErrorType);
        Assert.True(failure.NonRetryable);
        Assert.Equal((1, 1), await _db.BalanceAsync("wh-reno", "PACK-55L"));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM inventory_reservations WHERE sku = 'PACK-55L'"));
    }

    [Fact]
    public async Task Reserve_SameOrderDuplicatedConcurrently_AllocatesOnce()
    {
        var input = new ReserveInventoryInput("o-dup", [new OrderLine("BAG-20F", 3)]);

        var results = await Task.WhenAll(Enumerable.Range(1, 4).Select(attempt =>
            Task.Run(() => Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(input), attempt))));

        Assert.All(results, result => Assert.Equal(3, result.Lines.Sum(line => line.Quantity)));
        Assert.Equal((25, 3), await _db.BalanceAsync("wh-reno", "BAG-20F"));
        Assert.Equal(1, await _db.CountEventsAsync("inventory.reserved"));
    }

    [Fact]
    public async Task Reserve_SecondLineShort_FailsNamingTheSkuAndWritesNothing()
    {
        var failure = await Attempts.FailsAsync(
            () => _inventory.ReserveInventoryAsync(new ReserveInventoryInput("o-3", [new OrderLine("TENT-2P", 2), new OrderLine("PACK-55L", 6)])),
            CommerceErrorTypes.InsufficientStock);

        Assert.Contains("PACK-55L", failure.Message, StringComparison.Ordinal);
        Assert.Contains("6 requested, 5 available", failure.Message, StringComparison.Ordinal);
        Assert.Equal((40, 0), await _db.BalanceAsync("wh-reno", "TENT-2P"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM inventory_reservations"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM outbox_events"));
    }

    [Fact]
    public async Task Reserve_UnknownSku_IsANonRetryableErrorNamingIt()
    {
        var failure = await Attempts.FailsAsync(
            () => _inventory.ReserveInventoryAsync(new ReserveInventoryInput("o-4", [new OrderLine("NOPE-1", 1)])),
            CommerceErrorTypes.UnknownSku);

        Assert.Equal("SKU NOPE-1 is not in the catalogue.", failure.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public async Task Reserve_NonPositiveQuantity_IsAnInvalidQuantityError(int quantity)
    {
        var failure = await Attempts.FailsAsync(
            () => _inventory.ReserveInventoryAsync(new ReserveInventoryInput("o-5", [new OrderLine("TENT-2P", quantity)])),
            CommerceErrorTypes.InvalidQuantity);

        Assert.Equal($"Quantity for SKU TENT-2P must be positive, got {quantity}.", failure.Message);
    }

    [Fact]
    public async Task Release_CalledTwice_ReturnsTheStockOnce()
    {
        await Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(new ReserveInventoryInput("o-6", [new OrderLine("FILTER-SQ", 10)])));

        var first = await Attempts.RunAsync(() => _inventory.ReleaseInventoryAsync("o-6"));
        var retry = await Attempts.RunAsync(() => _inventory.ReleaseInventoryAsync("o-6"), attempt: 2);

        Assert.Equal(1, first.RowsChanged);
        Assert.Equal(0, retry.RowsChanged);
        Assert.Equal((150, 0), await _db.BalanceAsync("wh-reno", "FILTER-SQ"));
        Assert.Equal(1, await _db.CountEventsAsync("inventory.released"));
    }

    [Fact]
    public async Task Commit_OnShipmentRetried_DropsOnHandAndAllocatedOnce()
    {
        await Attempts.RunAsync(() => _inventory.ReserveInventoryAsync(new ReserveInventoryInput("o-7", [new OrderLine("HEADLAMP-400", 4)])));

        await Attempts.RunAsync(() => _inventory.CommitInventoryAsync("o-7"));
        await Attempts.RunAsync(() => _inventory.CommitInventoryAsync("o-7"), attempt: 2);
        var releaseAfterCommit = await Attempts.RunAsync(() => _inventory.ReleaseInventoryAsync("o-7"));

        Assert.Equal((86, 0), await _db.BalanceAsync("wh-reno", "HEADLAMP-400"));
        Assert.Equal(0, releaseAfterCommit.RowsChanged);
        Assert.Equal(1, await _db.CountEventsAsync("inventory.committed"));
    }

    [Fact]
    public async Task Restock_RetriedAfterReturn_AddsToOnHandOnce()
    {
        var input = new RestockInput("r-1", "wh-mississauga", [new OrderLine("TENT-2P", 2), new OrderLine("PAD-INS", 1)]);

        var first = await Attempts.RunAsync(() => _inventory.RestockReturnAsync(input));
        var retry = await Attempts.RunAsync(() => _inventory.RestockReturnAsync(input), attempt: 2);

        Assert.Equal(2, first.RowsChanged);
        Assert.Equal(0, retry.RowsChanged);
        Assert.Equal((17, 0), await _db.BalanceAsync("wh-mississauga", "TENT-2P"));
        Assert.Equal((31, 0), await _db.BalanceAsync("wh-mississauga", "PAD-INS"));
        Assert.Equal(1, await _db.CountEventsAsync("inventory.restocked"));
    }

    [Fact]
    public async Task Restock_UnknownSkuInTheMiddle_WritesNothing()
    {
        await Attempts.FailsAsync(
            () => _inventory.RestockReturnAsync(new RestockInput("r-2", "wh-reno", [new OrderLine("TENT-2P", 1), new OrderLine("ZZZ-9", 1)])),
            CommerceErrorTypes.UnknownSku);

        Assert.Equal((40, 0), await _db.BalanceAsync("wh-reno", "TENT-2P"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM inventory_adjustments"));
    }
}

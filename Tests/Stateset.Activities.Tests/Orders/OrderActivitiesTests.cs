using Stateset.Activities.Orders;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Orders;

[Collection(PostgresCollection.Name)]
public sealed class OrderActivitiesTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly PostalAddress Toronto = new("Liam Tremblay", "290 Bremner Blvd", "Unit 4", "Toronto", "ON", "M5V 3L9", "CA");
    private CommerceDatabase _db = null!;
    private OrderActivities _orders = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _orders = new OrderActivities(_db.DataSource);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Place_PricesLinesFromTheCatalogueInTheOrderCurrencyExactly()
    {
        var order = await Attempts.RunAsync(() => _orders.PlaceOrderAsync(new PlaceOrderInput(
            "o-1", "cus-liam", "cad", [new OrderLine("BAG-20F", 3), new OrderLine("FUEL-230", 2), new OrderLine("BAG-20F", 1)], Toronto, ShippingTotal: 12.50m, TaxTotal: 0.01m)));

        Assert.Equal("CAD", order.Currency);
        Assert.Equal([new PricedOrderLine(1, "BAG-20F", 4, 379.95m, 1519.80m), new PricedOrderLine(2, "FUEL-230", 2, 10.99m, 21.98m)], order.Lines);
        Assert.Equal(1541.78m, order.Subtotal);
        Assert.Equal(1554.29m, order.Total);
        Assert.Equal(1554.29m, await _db.ScalarAsync<decimal>("SELECT total FROM orders WHERE id = 'o-1'"));
        Assert.Equal(1, await _db.CountEventsAsync("order.placed"));
    }

    [Fact]
    public async Task Place_RetriedAttempt_ReturnsTheStoredOrderAndWritesOnce()
    {
        var input = new PlaceOrderInput("o-2", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], Toronto);

        var first = await Attempts.RunAsync(() => _orders.PlaceOrderAsync(input));
        var retry = await Attempts.RunAsync(() => _orders.PlaceOrderAsync(input), attempt: 2);

        Assert.Equal(first.Total, retry.Total);
        Assert.Equal(first.Lines, retry.Lines);
        Assert.Equal(1, await _db.CountEventsAsync("order.placed"));
    }

    [Fact]
    public async Task Place_SameIdWithOtherLines_IsRefusedAsAReusedId()
    {
        await Attempts.RunAsync(() => _orders.PlaceOrderAsync(new PlaceOrderInput("o-3", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], Toronto)));

        await Attempts.FailsAsync(
            () => _orders.PlaceOrderAsync(new PlaceOrderInput("o-3", "cus-ava", "USD", [new OrderLine("TENT-2P", 2)], Toronto)),
            CommerceErrorTypes.InvalidState);
    }

    [Fact]
    public async Task Place_CurrencyTheCatalogueDoesNotSellIn_IsACurrencyMismatchNamingTheSku()
    {
        var failure = await Attempts.FailsAsync(
            () => _orders.PlaceOrderAsync(new PlaceOrderInput("o-4", "cus-ava", "EUR", [new OrderLine("TENT-2P", 1)], Toronto)),
            CommerceErrorTypes.CurrencyMismatch);

        Assert.Equal("SKU TENT-2P is not sold in EUR; it is priced in CAD, USD.", failure.Message);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM orders"));
    }

    [Fact]
    public async Task Place_UnknownSkuAfterAValidLine_WritesNothing()
    {
        var failure = await Attempts.FailsAsync(
            () => _orders.PlaceOrderAsync(new PlaceOrderInput("o-5", "cus-ava", "USD", [new OrderLine("TENT-2P", 1), new OrderLine("NOPE", 1)], Toronto)),
            CommerceErrorTypes.UnknownSku);

        Assert.Equal("SKU NOPE is not in the catalogue.", failure.Message);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM orders"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM outbox_events"));
    }

    [Theory]
    [InlineData("o-6", "cus-ava", "US", "TENT-2P", 1, 0, CommerceErrorTypes.InvalidInput)]
    [InlineData("o-6", "cus-ava", "USD", "TENT-2P", -1, 0, CommerceErrorTypes.InvalidQuantity)]
    [InlineData("o-6", "cus-ava", "USD", "TENT-2P", 1, -5, CommerceErrorTypes.InvalidAmount)]
    [InlineData("o-6", "cus-nobody", "USD", "TENT-2P", 1, 0, CommerceErrorTypes.NotFound)]
    [InlineData("", "cus-ava", "USD", "TENT-2P", 1, 0, CommerceErrorTypes.InvalidInput)]
    public async Task Place_BadInput_IsAPreciseNonRetryableError(string orderId, string customerId, string currency, string sku, int quantity, int shipping, string errorType)
    {
        await Attempts.FailsAsync(
            () => _orders.PlaceOrderAsync(new PlaceOrderInput(orderId, customerId, currency, [new OrderLine(sku, quantity)], Toronto, ShippingTotal: shipping)),
            errorType);
    }

    [Fact]
    public async Task Place_AmountFinerThanACent_IsAnInvalidAmount()
    {
        var failure = await Attempts.FailsAsync(
            () => _orders.PlaceOrderAsync(new PlaceOrderInput("o-7", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], Toronto, ShippingTotal: 1.005m)),
            CommerceErrorTypes.InvalidAmount);

        Assert.Equal("Shipping total 1.005 has more decimal places than USD allows.", failure.Message);
    }

    [Fact]
    public async Task UpdateStatus_DeliveredTwice_SetsDeliveredTimeAndWritesOneEvent()
    {
        await Attempts.RunAsync(() => _orders.PlaceOrderAsync(new PlaceOrderInput("o-8", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], Toronto)));
        var deliveredAt = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
        await OrderPath.WalkToAsync(_orders, "o-8", "shipped", deliveredAt.AddDays(-2));
        var before = await _db.CountEventsAsync("order.status_changed");

        await Attempts.RunAsync(() => _orders.UpdateOrderStatusAsync(new UpdateOrderStatusInput("o-8", "delivered", deliveredAt)));
        await Attempts.RunAsync(() => _orders.UpdateOrderStatusAsync(new UpdateOrderStatusInput("o-8", "delivered", deliveredAt.AddHours(1))), attempt: 2);

        Assert.Equal(deliveredAt.UtcDateTime, await _db.ScalarAsync<DateTime>("SELECT delivered_at FROM orders WHERE id = 'o-8'"));
        Assert.Equal(before + 1, await _db.CountEventsAsync("order.status_changed"));
    }

    [Fact]
    public async Task UpdateStatus_RestartedRunRepeatsEarlierSteps_StatusNeverMovesBackAndEachTransitionHasOneEvent()
    {
        await Attempts.RunAsync(() => _orders.PlaceOrderAsync(new PlaceOrderInput("o-10", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], Toronto)));
        await OrderPath.WalkToAsync(_orders, "o-10", "captured", DateTimeOffset.UnixEpoch);

        // The run was lost after capture and started again: it repeats reserve and authorise.
        await OrderPath.WalkToAsync(_orders, "o-10", "captured", DateTimeOffset.UnixEpoch);

        Assert.Equal("captured", await _db.ScalarAsync<string>("SELECT status FROM orders WHERE id = 'o-10'"));
        var transitions = await _db.QueryAsync<string>(
            "SELECT payload->>'to' FROM outbox_events WHERE event_type = 'order.status_changed' AND aggregate_id = 'o-10' ORDER BY occurred_at");
        Assert.Equal(["reserved", "authorized", "captured"], transitions);
    }

    [Fact]
    public async Task UpdateStatus_EachTransitionsEvent_NamesTheStatusItCameFrom()
    {
        await Attempts.RunAsync(() => _orders.PlaceOrderAsync(new PlaceOrderInput("o-12", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], Toronto)));

        await OrderPath.WalkToAsync(_orders, "o-12", "delivered", DateTimeOffset.UnixEpoch);

        var moves = await _db.QueryAsync<string>(
            "SELECT (payload->>'from') || '>' || (payload->>'to') FROM outbox_events WHERE event_type = 'order.status_changed' AND aggregate_id = 'o-12' ORDER BY position");
        Assert.Equal(["pending>reserved", "reserved>authorized", "authorized>captured", "captured>shipped", "shipped>delivered"], moves);
        Assert.NotNull(await _db.ScalarAsync<DateTime?>("SELECT delivered_at FROM orders WHERE id = 'o-12'"));
    }

    [Theory]
    [InlineData("completed", "failed")]
    [InlineData("cancelled", "captured")]
    [InlineData("failed", "cancelled")]
    [InlineData("rejected", "approved")]
    [InlineData("pending", "shipped")]
    [InlineData("delivered", "shipped")]
    public async Task UpdateStatus_TransitionTheStateMachineDoesNotAllow_LeavesTheOrderAsItIs(string from, string to)
    {
        await Attempts.RunAsync(() => _orders.PlaceOrderAsync(new PlaceOrderInput("o-11", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], Toronto)));
        await _db.ExecuteAsync("UPDATE orders SET status = @from WHERE id = 'o-11'", new { from });
        var before = await _db.CountEventsAsync("order.status_changed");

        await Attempts.RunAsync(() => _orders.UpdateOrderStatusAsync(new UpdateOrderStatusInput("o-11", to, DateTimeOffset.UnixEpoch)));

        Assert.Equal(from, await _db.ScalarAsync<string>("SELECT status FROM orders WHERE id = 'o-11'"));
        Assert.Equal(before, await _db.CountEventsAsync("order.status_changed"));
    }

    [Fact]
    public async Task UpdateStatus_UnknownStatusOrOrder_IsRefused()
    {
        await Attempts.FailsAsync(
            () => _orders.UpdateOrderStatusAsync(new UpdateOrderStatusInput("o-9", "lost", DateTimeOffset.UnixEpoch)), CommerceErrorTypes.InvalidInput);
        await Attempts.FailsAsync(
            () => _orders.UpdateOrderStatusAsync(new UpdateOrderStatusInput("o-9", "shipped", DateTimeOffset.UnixEpoch)), CommerceErrorTypes.NotFound);
    }
}

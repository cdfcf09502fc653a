using Stateset.Activities.Shipments;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Shipments;

[Collection(PostgresCollection.Name)]
public sealed class ShipmentActivitiesTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly Address Toronto = new("Liam Tremblay", "290 Bremner Blvd", "Unit 4", "Toronto", "ON", "M5V 3L9", "CA");
    private CommerceDatabase _db = null!;
    private ShipmentActivities _shipments = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _shipments = new ShipmentActivities(_db.DataSource);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Prepare_Outbound_ShipsFromTheNamedWarehouse_WithAParcelSizedFromTheCatalogue()
    {
        var shipment = await Attempts.RunAsync(() => _shipments.PrepareShipmentAsync(new PrepareShipmentInput(
            "s-1", "o-1", "outbound", "wh-reno", Toronto, [new OrderLine("TENT-2P", 2), new OrderLine("HEADLAMP-400", 1)])));

        Assert.Equal("wh-reno", shipment.LocationId);
        Assert.Equal("Reno", shipment.From.City);
        Assert.Equal(Toronto, shipment.To);
        Assert.Equal(new Parcel((2100 * 2) + 90, 550, 180, (180 * 2) + 60), shipment.Parcel);
        Assert.Equal("ps-reno-1", shipment.DefaultStationId);
        Assert.Equal(2, await _db.ScalarAsync<long>("SELECT count(*) FROM shipment_items WHERE shipment_id = 's-1'"));
    }

    [Fact]
    public async Task Prepare_ReturnWithoutWarehouse_ReceivesInTheCustomersCountry()
    {
        var shipment = await Attempts.RunAsync(() => _shipments.PrepareShipmentAsync(new PrepareShipmentInput(
            "s-2", "o-2", "return", null, Toronto, [new OrderLine("PAD-INS", 1)], ReturnId: "ret-1")));

        Assert.Equal("wh-mississauga", shipment.LocationId);
        Assert.Equal(Toronto, shipment.From);
        Assert.Equal("Mississauga", shipment.To.City);
        Assert.Equal("return", await _db.ScalarAsync<string>("SELECT direction FROM shipments WHERE id = 's-2'"));
    }

    [Fact]
    public async Task Prepare_Retried_ReturnsWhatTheFirstAttemptStored()
    {
        var first = await Attempts.RunAsync(() => _shipments.PrepareShipmentAsync(new PrepareShipmentInput(
            "s-3", "o-3", "outbound", "wh-reno", Toronto, [new OrderLine("TENT-2P", 1)])));

        // A retry that (wrongly) asks for another warehouse still gets the shipment as first stored.
        var retry = await Attempts.RunAsync(
            () => _shipments.PrepareShipmentAsync(new PrepareShipmentInput("s-3", "o-3", "outbound", "wh-mississauga", Toronto, [new OrderLine("TENT-2P", 1)])),
            attempt: 2);

        Assert.Equal(first, retry);
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM shipments WHERE id = 's-3'"));
    }

    [Theory]
    [InlineData("NO-SUCH-SKU", 1, CommerceErrorTypes.UnknownSku, "NO-SUCH-SKU")]
    [InlineData("TENT-2P", 0, CommerceErrorTypes.InvalidQuantity, "must be positive")]
    public async Task Prepare_BadItems_FailsForGood_AndWritesNothing(string sku, int quantity, string errorType, string message)
    {
        var failure = await Attempts.FailsAsync(
            () => _shipments.PrepareShipmentAsync(new PrepareShipmentInput("s-4", "o-4", "outbound", "wh-reno", Toronto, [new OrderLine(sku, quantity)])),
            errorType);

        Assert.Contains(message, failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM shipments WHERE id = 's-4'"));
    }
}

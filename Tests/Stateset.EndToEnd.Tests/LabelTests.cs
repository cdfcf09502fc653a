using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Stateset.Sandboxes.Carriers;
using Stateset.Testing.EndToEnd;

namespace Stateset.EndToEnd.Tests;

/// <summary>
/// Every path of LabelPrinting started over HTTP: US and Canadian addresses, a postal code no carrier could use, and
/// carriers that fail (the carrier sandbox's faults hold for every run of this collection's system, so each test
/// clears them when it ends).
/// </summary>
[Collection(CarriersCollection.Name)]
public sealed class LabelTests(StatesetSystem system) : EndToEndTest(system), IDisposable
{
    private static readonly object Reno = new { name = "Reno Fulfillment Center", line1 = "1255 Gentry Way", city = "Reno", region = "NV", postalCode = "89502", country = "US" };
    private static readonly object Mississauga = new { name = "Mississauga Distribution Centre", line1 = "6300 Kennedy Rd", city = "Mississauga", region = "ON", postalCode = "L5T 2X5", country = "CA" };

    private CarrierSandboxState Carriers => System.Sandboxes.Services.GetRequiredService<CarrierSandboxState>();

    public void Dispose() => Carriers.Reset();

    [Fact]
    public async Task Label_UsAddresses_IsBoughtRenderedAndTracked()
    {
        var shipmentId = NewId("s");

        using var started = await PostAsync(Storefront, "/labels", LabelBody(shipmentId, Reno, UsAddress("940431351")), shipmentId);
        var done = await WaitClosedAsync($"/labels/{shipmentId}");

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("label_ready", StatusOf(done));
        var trackingNumber = done.GetProperty("status").GetProperty("details").GetProperty("trackingNumber").GetString();
        Assert.Equal(trackingNumber, await ScalarAsync<string>("SELECT tracking_number FROM labels WHERE shipment_id = @shipmentId AND NOT voided", new { shipmentId }));
        Assert.True(await ScalarAsync<bool>("SELECT zpl IS NOT NULL AND pdf IS NOT NULL FROM labels WHERE shipment_id = @shipmentId", new { shipmentId }));
        Assert.Equal("94043-1351", await ScalarAsync<string>("SELECT ship_to ->> 'postalCode' FROM shipments WHERE id = @shipmentId", new { shipmentId }));
    }

    [Fact]
    public async Task Label_CanadianAddresses_AreNormalisedAndBought()
    {
        var shipmentId = NewId("s");

        using var started = await PostAsync(Storefront, "/labels", LabelBody(shipmentId, Mississauga, CanadianAddress("m5v3l9")), shipmentId);
        var done = await WaitClosedAsync($"/labels/{shipmentId}");

        Assert.Equal("label_ready", StatusOf(done));
        Assert.Equal("M5V 3L9", await ScalarAsync<string>("SELECT ship_to ->> 'postalCode' FROM shipments WHERE id = @shipmentId", new { shipmentId }));
        Assert.Equal("CAD", await ScalarAsync<string>("SELECT currency FROM labels WHERE shipment_id = @shipmentId", new { shipmentId }));
    }

    [Theory]
    [InlineData("US", "9404", "'9404' is not a ZIP code")]
    [InlineData("CA", "V5K 0A1", "'V5K 0A1' does not belong to ON")]
    public async Task Label_InvalidPostalCode_FailsAtOnceNamingIt(string country, string postalCode, string reason)
    {
        var shipmentId = NewId("s");
        var to = country == "US" ? UsAddress(postalCode) : CanadianAddress(postalCode);

        using var started = await PostAsync(Storefront, "/labels", LabelBody(shipmentId, country == "US" ? Reno : Mississauga, to), shipmentId);

        // Ten attempts with backoff would take minutes: a wrong postal code is not worth a second attempt.
        var done = await WaitClosedAsync($"/labels/{shipmentId}", TimeSpan.FromSeconds(15));
        Assert.Equal("failed", StatusOf(done));
        Assert.Contains("to.postalCode", ReasonOf(done), StringComparison.Ordinal);
        Assert.Contains(reason, ReasonOf(done), StringComparison.Ordinal);
        var (activities, localActivities) = await TasksOfAsync($"label-{shipmentId}");
        var attempts = activities.Concat(localActivities).ToList();
        Assert.Contains(attempts, a => a.Type == "ValidateAddress");
        Assert.All(attempts, a => Assert.Equal(1, a.Attempt));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM labels WHERE shipment_id = @shipmentId", new { shipmentId }));
    }

    [Fact]
    public async Task Label_CarrierOutage_FallsBackToAnotherCarrier()
    {
        var first = NewId("s");
        using (await PostAsync(Storefront, "/labels", LabelBody(first, Reno, UsAddress()), first))
        {
        }

        var preferred = (await WaitClosedAsync($"/labels/{first}")).GetProperty("status").GetProperty("details").GetProperty("carrier").GetString()!;
        Carriers.SetFaults(preferred, new CarrierFaults { Down = true });
        var second = NewId("s");

        using var started = await PostAsync(Storefront, "/labels", LabelBody(second, Reno, UsAddress()), second);
        var done = await WaitClosedAsync($"/labels/{second}");

        Assert.Equal("label_ready", StatusOf(done));
        var fallback = done.GetProperty("status").GetProperty("details").GetProperty("carrier").GetString();
        Assert.NotEqual(preferred, fallback);
        Assert.Equal(fallback, await ScalarAsync<string>("SELECT carrier FROM labels WHERE shipment_id = @second AND NOT voided", new { second }));
    }

    private static object LabelBody(string shipmentId, object from, object to) => new
    {
        shipmentId,
        orderId = $"ord-{shipmentId}",
        from,
        to,
        parcel = new { weightGrams = 900, lengthMm = 300, widthMm = 200, heightMm = 100 },
        serviceLevel = "ground",
    };
}

using Microsoft.Extensions.DependencyInjection;
using Stateset.Activities.Shipping.Carriers;
using Stateset.Sandboxes.Carriers;
using Stateset.Workflows.Activities;

namespace Stateset.Shipping.Tests;

/// <summary>Rate shopping through the real HTTP clients and their resilience pipeline, against the sandbox.</summary>
public sealed class RateShoppingTests(SharedCarrierSandbox shared) : IClassFixture<SharedCarrierSandbox>, IAsyncLifetime
{
    private CarrierSandboxHost _sandbox = null!;
    private ServiceProvider _services = null!;

    private RateShopper Shopper => _services.GetRequiredService<RateShopper>();

    public Task InitializeAsync()
    {
        _sandbox = shared.Host;
        _sandbox.Reset();
        _services = _sandbox.CreateShippingServices();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _services.DisposeAsync();

    [Theory]
    [InlineData(ServiceLevel.Ground, "ridgeline", "GROUND_SAVER")]
    [InlineData(ServiceLevel.TwoDay, "swiftair", "TWO_DAY")]
    [InlineData(ServiceLevel.Overnight, "swiftair", "OVERNIGHT")]
    public async Task Shop_WithinTheUs_PicksTheCheapestRateThatMeetsTheServiceLevel(ServiceLevel level, string carrier, string service)
    {
        var result = await Shopper.ShopAsync(new CarrierRateRequest(Addresses.RenoWarehouse, Addresses.Seattle, Addresses.SmallBox), level, default);

        Assert.Equal((carrier, service), (result.Best!.Carrier, result.Best.Service));
        Assert.True(result.Best.Level >= level);
        Assert.Empty(result.UnavailableCarriers);
    }

    [Fact]
    public async Task Shop_WithinCanada_ComparesOnlyCadRatesAndPicksTheCanadianPost()
    {
        var result = await Shopper.ShopAsync(
            new CarrierRateRequest(Addresses.MississaugaWarehouse, Addresses.Vancouver, Addresses.SmallBox), ServiceLevel.Overnight, default);

        Assert.Equal(("maplepost", "PRIORITY", "CAD"), (result.Best!.Carrier, result.Best.Service, result.Best.Currency));
    }

    [Fact]
    public async Task Shop_CheapestCarrierDown_RetriesItThenTakesTheNextCarrier()
    {
        _sandbox.State.SetFaults("maplepost", new CarrierFaults { Down = true });

        var result = await Shopper.ShopAsync(
            new CarrierRateRequest(Addresses.MississaugaWarehouse, Addresses.Vancouver, Addresses.SmallBox), ServiceLevel.Overnight, default);

        Assert.Equal(("swiftair", "OVERNIGHT"), (result.Best!.Carrier, result.Best.Service));
        Assert.Equal(["maplepost"], result.UnavailableCarriers);
        // One attempt plus the two retries configured for the tests: the pipeline did retry before giving up.
        Assert.Equal(3, _sandbox.State.CallsTo("maplepost"));
        Assert.Equal(1, _sandbox.State.CallsTo("swiftair"));
    }

    [Fact]
    public async Task Shop_CarrierFailingBriefly_IsRecoveredByTheRetriesAndStillChosen()
    {
        using var http = _sandbox.CreateClient();
        using var outage = await http.PostAsync("/carriers/maplepost/sandbox/fail-next/2", content: null);
        outage.EnsureSuccessStatusCode();

        var result = await Shopper.ShopAsync(
            new CarrierRateRequest(Addresses.MississaugaWarehouse, Addresses.Vancouver, Addresses.SmallBox), ServiceLevel.Overnight, default);

        Assert.Equal(("maplepost", "PRIORITY"), (result.Best!.Carrier, result.Best.Service));
        Assert.Empty(result.UnavailableCarriers);
        Assert.Equal(3, _sandbox.State.CallsTo("maplepost"));
    }

    [Fact]
    public async Task Shop_CarrierSlowerThanTheAttemptTimeout_IsTimedOutRetriedAndSkipped()
    {
        await using var services = _sandbox.CreateShippingServices(new Dictionary<string, string?>
        {
            // Generous enough that the healthy carriers answer in time on a busy machine; one retry keeps it short.
            ["Shipping:Resilience:AttemptTimeout:Timeout"] = "00:00:01",
            ["Shipping:Resilience:Retry:MaxRetryAttempts"] = "1",
        });
        _sandbox.State.SetFaults("swiftair", new CarrierFaults { Latency = TimeSpan.FromMinutes(1) });

        var result = await services.GetRequiredService<RateShopper>().ShopAsync(
            new CarrierRateRequest(Addresses.RenoWarehouse, Addresses.Seattle, Addresses.SmallBox), ServiceLevel.Ground, default);

        // No call count here: an attempt cancelled by its timeout may not reach the server at all on a busy machine.
        Assert.Equal("ridgeline", result.Best!.Carrier);
        Assert.Equal(["swiftair"], result.UnavailableCarriers);
    }

    [Fact]
    public async Task Shop_AllCarriersDown_FindsNoRateAndNamesThemAllUnavailable()
    {
        foreach (var carrier in SandboxCarrier.All)
        {
            _sandbox.State.SetFaults(carrier.Code, new CarrierFaults { Down = true });
        }

        var result = await Shopper.ShopAsync(new CarrierRateRequest(Addresses.RenoWarehouse, Addresses.Seattle, Addresses.SmallBox), ServiceLevel.Ground, default);

        Assert.Null(result.Best);
        Assert.Equal(["maplepost", "ridgeline", "swiftair"], result.UnavailableCarriers.Order());
    }
}

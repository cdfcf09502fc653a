using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stateset.Sandboxes.Carriers;

namespace Stateset.Shipping.Tests;

public sealed class CarrierSandboxConfigurationTests
{
    [Fact]
    public void Configuration_FaultsLatencyAndWebhookSettings_AreBoundFromTheSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CarrierSandbox:WebhookUrl"] = "http://127.0.0.1:5080/callbacks/carriers",
            ["CarrierSandbox:WebhookSecret"] = "whsec_local",
            ["CarrierSandbox:Latency"] = "00:00:00.150",
            ["CarrierSandbox:Faults:ridgeline:Down"] = "true",
            ["CarrierSandbox:Faults:maplepost:FailPurchases"] = "true",
            ["CarrierSandbox:Faults:maplepost:Latency"] = "00:00:02",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddCarrierSandbox(configuration.GetSection(CarrierSandboxOptions.Section)).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<CarrierSandboxOptions>>().Value;
        var state = services.GetRequiredService<CarrierSandboxState>();

        Assert.Equal(new Uri("http://127.0.0.1:5080/callbacks/carriers"), options.WebhookUrl);
        Assert.Equal(("whsec_local", TimeSpan.FromMilliseconds(150)), (options.WebhookSecret, options.Latency));
        Assert.True(state.FaultsOf("ridgeline").Down);
        Assert.Equal(new CarrierFaults { FailPurchases = true, Latency = TimeSpan.FromSeconds(2) }, state.FaultsOf("maplepost"));
        Assert.Equal(new CarrierFaults(), state.FaultsOf("swiftair"));
    }

    [Fact]
    public async Task TrackingEvent_ReceiverUnreachable_IsReportedNotDelivered()
    {
        using var services = new ServiceCollection().AddLogging().AddCarrierSandbox().BuildServiceProvider();
        // Port 9 (discard) is closed on loopback: the connection is refused at once.
        services.GetRequiredService<IOptions<CarrierSandboxOptions>>().Value.WebhookUrl = new Uri("http://127.0.0.1:9/hooks");
        var webhook = new TrackingWebhookDto("evt_1", "tracking.updated", "ridgeline", "lbl_1", "1R0000000000000001", "delivered", null, DateTimeOffset.UtcNow);

        var result = await services.GetRequiredService<TrackingWebhookSender>().SendAsync(webhook, default);

        Assert.Equal((false, (int?)null), (result.Delivered, result.ReceiverStatus));
    }
}

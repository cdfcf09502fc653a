using Stateset.Sandboxes;

namespace Stateset.Shipping.Tests;

public sealed class SandboxOpenApiTests
{
    [Fact]
    public async Task SandboxHost_ServesAnOpenApiDocument_ListingTheCarrierControls()
    {
        await using var sandboxes = await SandboxHost.StartAsync();
        using var http = new HttpClient { BaseAddress = sandboxes.BaseAddress };

        var document = await http.GetStringAsync(new Uri("openapi/v1.json", UriKind.Relative));

        foreach (var expected in new[]
        {
            "\"CarrierSandboxGetFaults\"", "\"CarrierSandboxSetFaults\"", "\"CarrierSandboxFailNext\"", "\"CarrierSandboxSendTrackingEvent\"",
            "/carriers/{carrier}/sandbox/faults", "/carriers/{carrier}/sandbox/labels/{labelId}/events", "/psp/v1/payment_intents",
        })
        {
            Assert.Contains(expected, document, StringComparison.Ordinal);
        }
    }
}

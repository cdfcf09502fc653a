namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class ReadSideOpenApiTests(GatewayFixture gateway)
{
    [Fact]
    public async Task OpenApiDocument_DescribesTheReadSide()
    {
        using var anonymous = gateway.CreateClient(apiKey: null);

        var document = await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));

        foreach (var operation in new[] { "ListApprovals", "ListRuns", "CreateWebhookSubscription", "ListWebhookDeliveries", "StreamResourceEvents", "StreamApprovalEvents" })
        {
            Assert.Contains($"\"{operation}\"", document, StringComparison.Ordinal);
        }
    }
}

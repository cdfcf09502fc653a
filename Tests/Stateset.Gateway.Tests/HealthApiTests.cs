using System.Net;
using System.Text.Json;

namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class HealthApiTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Ready_WithPostgresAndTemporalUp_Is200WithEachCheckHealthy()
    {
        using var client = gateway.Factory.CreateClient();

        var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var report = JsonDocument.Parse(body);
        Assert.Equal("Healthy", report.RootElement.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal("Healthy", report.RootElement.GetProperty("checks").GetProperty("temporal").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Live_Is200()
    {
        using var client = gateway.Factory.CreateClient();

        var response = await client.GetAsync(new Uri("/health/live", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task OpenApiDocument_ListsApiEndpoints_AndDocsPageServes()
    {
        using var client = gateway.Factory.CreateClient();

        var document = await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        var docs = await client.GetAsync(new Uri("/docs/index.html", UriKind.Relative));

        Assert.Contains("/api-keys", document, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
    }

    [Fact]
    public async Task UnknownRoute_IsProblemJson404()
    {
        using var client = gateway.Factory.CreateClient();

        var response = await client.GetAsync(new Uri("/no-such-thing", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}

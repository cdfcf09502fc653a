using System.Net;

namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class MetricsApiTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Metrics_WithoutApiKey_IsPrometheusTextWithRequestAndRuntimeMetrics()
    {
        using var client = gateway.Factory.CreateClient();
        (await client.GetAsync(new Uri("/health/live", UriKind.Relative))).Dispose();

        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("http_server_request_duration_seconds", body, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_", body, StringComparison.Ordinal);
    }
}

using System.Net;

namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class ConsoleTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Console_IsServedWithoutAKey_AsHtmlWithTheApprovalsList()
    {
        using var anonymous = gateway.CreateClient(apiKey: null);

        var response = await anonymous.GetAsync(new Uri("/console", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("id=\"approvals\"", html, StringComparison.Ordinal);
        Assert.Contains("/events/approvals", html, StringComparison.Ordinal);
        Assert.Contains("sessionStorage", html, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }
}

using System.Net;

namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class ConsoleTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Console_IsServedWithoutAKey_AsHtmlThatLoadsOnlyItsOwnStylesheetAndScript()
    {
        using var anonymous = gateway.CreateClient(apiKey: null);

        var response = await anonymous.GetAsync(new Uri("/console", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.Contains("id=\"approvals\"", html, StringComparison.Ordinal);
        Assert.Contains("<script src=\"/console/console.js\"", html, StringComparison.Ordinal);
        Assert.Contains("<link rel=\"stylesheet\" href=\"/console/console.css\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("style=", html, StringComparison.Ordinal);
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Theory]
    [InlineData("/console/console.css", "text/css", ".topbar")]
    [InlineData("/console/console.js", "text/javascript", "sessionStorage")]
    public async Task ConsoleFiles_AreServedWithTheirContentTypes(string path, string mediaType, string content)
    {
        using var anonymous = gateway.CreateClient(apiKey: null);

        var response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains(content, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConsoleScript_UsesTheOneOperatorStream_WithTheKeyAsAQueryParameter()
    {
        using var anonymous = gateway.CreateClient(apiKey: null);

        var script = await anonymous.GetStringAsync(new Uri("/console/console.js", UriKind.Relative));

        Assert.Contains("const streamPath = \"/events\";", script, StringComparison.Ordinal);
        Assert.Contains("?api_key=", script, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/console/secrets.json")]
    [InlineData("/console/..%2Fappsettings.json")]
    [InlineData("/console/Console.js")]
    public async Task ConsoleFiles_OtherNames_Are404(string path)
    {
        using var anonymous = gateway.CreateClient(apiKey: null);

        var response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("received", """{"note":"box intact"}""")]
    [InlineData("inspected", """{"lines":[{"sku":"TENT-2P","condition":"new"}]}""")]
    public async Task ReturnsDesk_OperatorsRecordReceiptAndInspection_ClientsMayNot(string step, string body)
    {
        // The console's returns desk posts with the operator's key; the warehouse's systems use callback keys.
        using var operatorClient = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));
        using var callbackClient = gateway.CreateClient(await gateway.CreateKeyAsync("callback"));
        using var storefront = gateway.CreateClient(await gateway.CreateKeyAsync("client"));
        var path = new Uri($"/returns/ret-nosuch-{Guid.NewGuid():N}/{step}", UriKind.Relative);

        using var byOperator = await operatorClient.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        using var byCallback = await callbackClient.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        using var byClient = await storefront.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        // Past authorisation, an unknown return is 404 for both; a storefront's key is refused before that.
        Assert.Equal(HttpStatusCode.NotFound, byOperator.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, byCallback.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byClient.StatusCode);
    }
}

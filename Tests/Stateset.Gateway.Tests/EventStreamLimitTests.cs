using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Stateset.Gateway.Events;

namespace Stateset.Gateway.Tests;

/// <summary>
/// Caps on open event streams, each proven on its own gateway instance over the shared database, so the caps can
/// be small and no other test's streams count against them.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class EventStreamLimitTests(GatewayFixture gateway)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task KeyAtItsCap_Gets429NamingTheCap_UntilOneOfItsStreamsCloses()
    {
        await using var instance = gateway.Factory.WithWebHostBuilder(web => web.UseSetting("Gateway:Events:MaxStreamsPerKey", "2"));
        var hub = instance.Services.GetRequiredService<OutboxEventHub>();
        using var client = Client(instance, await gateway.CreateKeyAsync("client"));
        using var anotherKey = Client(instance, await gateway.CreateKeyAsync("client"));
        using var timeout = new CancellationTokenSource(Timeout);

        using var first = await OpenAsync(client, "/events/orders/o-1", timeout.Token);
        var second = await OpenAsync(client, "/events/orders/o-2", timeout.Token);
        using var refused = await OpenAsync(client, "/events/orders/o-3", timeout.Token);
        using var anotherKeysStream = await OpenAsync(anotherKey, "/events/orders/o-3", timeout.Token);
        var openBeforeClosing = hub.SubscriberCount;
        second.Dispose();
        while (hub.SubscriberCount >= openBeforeClosing)
        {
            await Task.Delay(20, timeout.Token);
        }

        using var reopened = await OpenAsync(client, "/events/orders/o-3", timeout.Token);

        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.OK, HttpStatusCode.OK],
            [first.StatusCode, second.StatusCode, refused.StatusCode, anotherKeysStream.StatusCode, reopened.StatusCode]);
        var problem = await ProblemAsync(refused);
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Contains("2 event streams open at once", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstanceAtItsCap_Gets429ForAnyKey()
    {
        await using var instance = gateway.Factory.WithWebHostBuilder(web => web.UseSetting("Gateway:Events:MaxStreams", "2"));
        using var first = Client(instance, await gateway.CreateKeyAsync("client"));
        using var second = Client(instance, await gateway.CreateKeyAsync("operator"));
        using var third = Client(instance, await gateway.CreateKeyAsync("client"));
        using var timeout = new CancellationTokenSource(Timeout);

        using var a = await OpenAsync(first, "/events/orders/o-1", timeout.Token);
        using var b = await OpenAsync(second, "/events/approvals", timeout.Token);
        using var refused = await OpenAsync(third, "/events/orders/o-1", timeout.Token);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], [a.StatusCode, b.StatusCode, refused.StatusCode]);
        Assert.Contains("at most 2 event streams", (await ProblemAsync(refused)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoppingTheGateway_EndsItsStreams_AndFreesTheirSlots()
    {
        var instance = gateway.Factory.WithWebHostBuilder(_ => { });
        var hub = instance.Services.GetRequiredService<OutboxEventHub>();
        using var client = Client(instance, await gateway.CreateKeyAsync("client"));
        using var timeout = new CancellationTokenSource(Timeout);
        using var stream = await OpenAsync(client, "/events/orders/o-1", timeout.Token);
        using var body = new StreamReader(await stream.Content.ReadAsStreamAsync(timeout.Token));
        await body.ReadLineAsync(timeout.Token);
        var openBeforeStopping = hub.SubscriberCount;

        await instance.DisposeAsync();
        await body.ReadToEndAsync(timeout.Token);
        while (hub.SubscriberCount > 0)
        {
            await Task.Delay(20, timeout.Token);
        }

        Assert.Equal(1, openBeforeStopping);
    }

    private static HttpClient Client(WebApplicationFactory<Program> instance, string apiKey)
    {
        var client = instance.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return client;
    }

    private static async Task<HttpResponseMessage> OpenAsync(HttpClient client, string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Stateset.Activities.Shipping;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The carrier callback over HTTP, on a shipment whose order has no running workflow (so the signal finds nobody).
/// <see cref="OrdersEndToEndTests"/> covers the callback driving a live order.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class CarrierCallbackTests(GatewayFixture gateway)
{
    // Reading the gateway's settings also starts it, so its migrations have run before a test writes rows.
    private readonly string _secret = gateway.Factory.Services.GetRequiredService<IOptions<TrackingWebhookOptions>>().Value.WebhookSecret;
    private readonly string _shipmentId = $"s-{Guid.NewGuid():N}";
    private readonly string _trackingNumber = $"1Z{Guid.NewGuid():N}";

    [Fact]
    public async Task SignedEvent_MovesTheShipmentWithItsOutboxEvent_AndARedeliveryIs200AndChangesNothing()
    {
        await CreateShipmentAsync();
        var body = Event("delivered");
        var signature = Sign(body, DateTimeOffset.UtcNow);

        using var first = await PostAsync(body, signature);
        using var again = await PostAsync(body, signature);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, again.StatusCode));
        Assert.Equal("delivered", await ScalarAsync<string>("SELECT status FROM shipments WHERE id = @ShipmentId"));
        Assert.Equal(1, await ScalarAsync<long>("SELECT count(*) FROM carrier_tracking_events WHERE shipment_id = @ShipmentId"));
        Assert.Equal(1, await ScalarAsync<long>("SELECT count(*) FROM outbox_events WHERE aggregate_id = @ShipmentId AND event_type = 'shipment.delivered'"));
    }

    [Theory]
    [InlineData("tampered", "signature mismatch")]
    [InlineData("stale", "signature stale")]
    [InlineData("unsigned", "signature malformed")]
    public async Task BadSignature_Is401ProblemNamingWhy_AndStoresNothing(string how, string why)
    {
        await CreateShipmentAsync();
        var body = Event("delivered");
        string? signature = how switch
        {
            "tampered" => Sign(body.Replace("delivered", "exception", StringComparison.Ordinal), DateTimeOffset.UtcNow),
            "stale" => Sign(body, DateTimeOffset.UtcNow - TimeSpan.FromMinutes(10)),
            _ => null,
        };

        using var response = await PostAsync(body, signature);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(why, (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await ScalarAsync<long>("SELECT count(*) FROM carrier_tracking_events WHERE tracking_number = @TrackingNumber"));
        Assert.Equal("label_purchased", await ScalarAsync<string>("SELECT status FROM shipments WHERE id = @ShipmentId"));
    }

    [Theory]
    [InlineData("{\"id\":")]
    [InlineData("{\"id\":\"evt-1\",\"carrier\":\"ridgeline\",\"trackingNumber\":\"1Z1\",\"status\":\"lost\",\"occurredAt\":\"2025-01-01T00:00:00Z\"}")]
    public async Task SignedBodyThatIsNotATrackingEvent_Is400Problem(string body)
    {
        using var response = await PostAsync(body, Sign(body, DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Unreadable webhook", (await ProblemAsync(response)).GetProperty("title").GetString());
    }

    private string Event(string status) => JsonSerializer.Serialize(new
    {
        id = $"evt_{Guid.NewGuid():N}",
        carrier = "ridgeline",
        trackingNumber = _trackingNumber,
        status,
        occurredAt = DateTimeOffset.UtcNow,
    });

    private string Sign(string body, DateTimeOffset at) => CarrierWebhookSignature.Sign(_secret, body, at);

    private async Task<HttpResponseMessage> PostAsync(string body, string? signature)
    {
        using var client = gateway.CreateClient(apiKey: null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/callbacks/carriers") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (signature is not null)
        {
            request.Headers.Add(CarrierWebhookSignature.HeaderName, signature);
        }

        return await client.SendAsync(request);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Task CreateShipmentAsync() => gateway.ExecuteSqlAsync(
        """
        INSERT INTO shipments (id, order_id, status, ship_from, ship_to, carrier, tracking_number)
        VALUES (@ShipmentId, @OrderId, 'label_purchased', '{}', '{}', 'ridgeline', @TrackingNumber)
        """,
        new { ShipmentId = _shipmentId, OrderId = $"o-{Guid.NewGuid():N}", TrackingNumber = _trackingNumber });

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(gateway.ConnectionString);
        return (await connection.ExecuteScalarAsync<T>(sql, new { ShipmentId = _shipmentId, TrackingNumber = _trackingNumber }))!;
    }
}

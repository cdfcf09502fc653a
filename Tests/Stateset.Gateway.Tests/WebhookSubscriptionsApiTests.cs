using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class WebhookSubscriptionsApiTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Create_ShowsSecretOnce_ListHidesIt_DeleteRemovesIt()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);

        var created = await admin.PostAsJsonAsync(
            new Uri("/webhook-subscriptions", UriKind.Relative), new { url = "https://erp.example.com/hooks/stateset", eventTypes = new[] { "order.placed", "payment.captured" } });
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(created.StatusCode == HttpStatusCode.Created, body.ToString());
        var id = body.GetProperty("id").GetString()!;
        var secret = body.GetProperty("secret").GetString()!;
        var listed = await admin.GetStringAsync(new Uri("/webhook-subscriptions", UriKind.Relative));
        var deleted = await admin.DeleteAsync(new Uri($"/webhook-subscriptions/{id}", UriKind.Relative));
        var deletedAgain = await admin.DeleteAsync(new Uri($"/webhook-subscriptions/{id}", UriKind.Relative));
        var listedAfter = await admin.GetStringAsync(new Uri("/webhook-subscriptions", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/webhook-subscriptions/{id}", created.Headers.Location?.OriginalString);
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal(["order.placed", "payment.captured"], body.GetProperty("eventTypes").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains(id, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", listed, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
        Assert.DoesNotContain(id, listedAfter, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"url\":\"ftp://example.com/x\"}", "url")]
    [InlineData("{\"url\":\"/relative/path\"}", "url")]
    [InlineData("{\"url\":\"not a url\"}", "url")]
    [InlineData("{\"url\":\"https://user:pw@example.com/\"}", "url")]
    [InlineData("{\"eventTypes\":[\"order.placed\"]}", "url")]
    [InlineData("{\"url\":\"https://example.com/\",\"eventTypes\":[\"order placed\"]}", "eventTypes")]
    [InlineData("{\"url\":\"https://example.com/\",\"eventTypes\":[\"rocket.launched\"]}", "eventTypes")]
    public async Task Create_Invalid_Is400NamingTheField(string json, string field)
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);

        var response = await admin.PostAsync(new Uri("/webhook-subscriptions", UriKind.Relative), new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Deliveries_ShowEachEventWithItsAttempts()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var eventType = "order.test_" + string.Concat(Guid.NewGuid().ToByteArray().Select(b => (char)('a' + (b % 26))));
        var created = await admin.PostAsJsonAsync(new Uri("/webhook-subscriptions", UriKind.Relative), new { url = "http://127.0.0.1:9/hook", eventTypes = new[] { eventType } });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        // The enqueue trigger creates the delivery; a dispatcher would record the attempt.
        await gateway.AppendOutboxEventAsync("order", "o-hook", eventType);
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO webhook_delivery_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms)
            SELECT id, 1, now(), 503, 'Service Unavailable', 42 FROM webhook_deliveries WHERE subscription_id = @id::uuid
            """,
            new { id });
        var deliveries = await admin.GetFromJsonAsync<JsonElement>(new Uri($"/webhook-subscriptions/{id}/deliveries", UriKind.Relative));

        var delivery = Assert.Single(deliveries.GetProperty("items").EnumerateArray());
        Assert.Equal(eventType, delivery.GetProperty("eventType").GetString());
        Assert.Equal("pending", delivery.GetProperty("status").GetString());
        var attempt = Assert.Single(delivery.GetProperty("attemptLog").EnumerateArray());
        Assert.Equal(503, attempt.GetProperty("statusCode").GetInt32());
        Assert.Equal(42, attempt.GetProperty("durationMs").GetInt32());
    }

    [Fact]
    public async Task Deliveries_OfUnknownSubscription_Is404()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);

        var response = await admin.GetAsync(new Uri($"/webhook-subscriptions/{Guid.NewGuid()}/deliveries", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task OperatorKey_IsForbidden()
    {
        using var operatorClient = gateway.CreateClient(await gateway.CreateKeyAsync("operator", "client"));

        var response = await operatorClient.GetAsync(new Uri("/webhook-subscriptions", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}

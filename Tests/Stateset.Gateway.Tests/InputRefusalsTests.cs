using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Stateset.Activities.Payments;
using Stateset.Activities.Shipping;
using Stateset.Activities.Webhooks;
using Temporalio.Exceptions;

namespace Stateset.Gateway.Tests;

/// <summary>
/// What the gateway can know is wrong it refuses before anything is written: SKUs it cannot sell, customers and
/// orders that do not exist, control characters anywhere in a request, charsets other than UTF-8, signed webhooks
/// it cannot read. Each refusal is problem+json naming the field, and the database is the same after it, row for row.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class InputRefusalsTests(GatewayFixture gateway)
{
    [Theory]
    [InlineData("NOPE-404", "USD", "NOPE-404 is not in the catalogue.")]
    [InlineData("RETIRED-1", "USD", "RETIRED-1 is no longer sold.")]
    [InlineData("USONLY-1", "CAD", "USONLY-1 is not sold in CAD.")]
    public async Task PlaceOrder_UnknownOrUnsellableSku_Is400NamingTheLine_AndWritesNothing(string sku, string currency, string problem)
    {
        await CatalogueWithUnsellableProductsAsync();
        var orderId = $"o-sku-{Guid.NewGuid():N}";
        var body = OrderBody(orderId, lines: [("TENT-2P", 1), (sku, 2)], currency: currency);

        var (response, errors) = await RefusedAsync(HttpMethod.Post, "/orders", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([problem], errors["lines[1].sku"].EnumerateArray().Select(e => e.GetString()));
        Assert.False(errors.ContainsKey("lines[0].sku"));
        await AssertNoWorkflowAsync($"order-{orderId}");
    }

    [Fact]
    public async Task PlaceOrder_UnknownCustomer_Is400NamingCustomerId_AndStartsNothing()
    {
        var orderId = $"o-cus-{Guid.NewGuid():N}";

        var (response, errors) = await RefusedAsync(HttpMethod.Post, "/orders", OrderBody(orderId, customerId: "cus-nobody"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("is not a known customer", errors["customerId"][0].GetString(), StringComparison.Ordinal);
        await AssertNoWorkflowAsync($"order-{orderId}");
    }

    [Fact]
    public async Task PlaceOrder_CustomerRefusedAsUnknown_CountsTheMomentItExists()
    {
        // What the reference checks passed they remember for a while; what they refused they never do.
        var customerId = $"cus-{Guid.NewGuid():N}";
        var (refused, errors) = await RefusedAsync(HttpMethod.Post, "/orders", OrderBody($"o-late-{Guid.NewGuid():N}", customerId: customerId));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.True(errors.ContainsKey("customerId"));
        await gateway.ExecuteSqlAsync(
            "INSERT INTO customers (id, email, name) SELECT @customerId, @customerId || '@example.com', name FROM customers WHERE id = 'cus-ava'", new { customerId });
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent(OrderBody($"o-late-{Guid.NewGuid():N}", customerId: customerId), System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());

        using var accepted = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
    }

    [Theory]
    [InlineData("/refunds", """{"refundId":"r-unknown-order","orderId":"o-never-placed","customerId":"cus-ava","amount":5,"currency":"USD","reason":"late"}""", "refund-r-unknown-order")]
    [InlineData("/returns", """{"returnId":"ret-unknown-order","orderId":"o-never-placed","customerId":"cus-ava","lines":[{"sku":"TENT-2P","quantity":1}]}""", "rma-ret-unknown-order")]
    public async Task RefundOrReturn_ForAnOrderThatDoesNotExist_Is400NamingOrderId(string path, string body, string workflowId)
    {
        var (response, errors) = await RefusedAsync(HttpMethod.Post, path, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("is not a known order (o-never-placed).", errors["orderId"][0].GetString());
        await AssertNoWorkflowAsync(workflowId);
    }

    public static TheoryData<string, string, string> ControlCharacterBodies() => new()
    {
        { "/orders", OrderBody("o-nul-name", name: "Ava\u0000Martin"), "shippingAddress.name" },
        { "/orders", OrderBody("o-nul-customer", customerId: "cus-ava\u0000"), "customerId" },
        { "/orders", OrderBody("o-nul-sku", lines: [("TENT-2P\u0001", 1)]), "lines[0].sku" },
        { "/orders", OrderBody("o-nul-card", paymentMethod: "4242424242424242\u001f"), "paymentMethod" },
        { "/orders", OrderBody("o-newline-city", city: "Mountain\nView"), "shippingAddress.city" },
        { "/api-keys", """{"name":"a\u0000b","scopes":["client"]}""", "name" },
        { "/webhook-subscriptions", """{"url":"https://hooks.example.com/\u0000","eventTypes":[]}""", "url" },
        { "/refunds", """{"orderId":"o-1","customerId":"cus-ava","amount":5,"currency":"USD","reason":"late\u0000"}""", "reason" },
        { "/returns", """{"orderId":"o-1","customerId":"cus-ava","lines":[{"sku":"TENT-2P","quantity":1,"reason":"torn\u0000"}]}""", "lines[0].reason" },
        { "/labels", """{"orderId":"o-1","from":{"name":"W","line1":"1 A","city":"Reno\u0000","region":"NV","postalCode":"89502","country":"US"}}""", "from.city" },
        { "/orders/o-1/cancel", """{"reason":"\u0007"}""", "reason" },
        { "/orders/o-1/approve", """{"reason":"ok\u0000"}""", "reason" },
        { "/returns/x/received", """{"note":"box\u0000"}""", "note" },
        { "/returns/x/inspected", """{"lines":[{"sku":"TENT-2P","condition":"new\u0000"}]}""", "lines[0].condition" },
        { "/print-jobs/pj-1/ack", """{"stationId":"ps\u0000"}""", "stationId" },
        { "/orders", """{"customerId\u0000":"cus-ava"}""", "body" },
        { "/orders", "{\"customerId\":\"cus-ava\u007f\"}", "customerId" },
        { "/orders", "{\"shippingAddress\":{\"na\u007fme\":\"Ava\"}}", "shippingAddress" },
        { "/orders", "{\"customerId\":\"" + new string('x', 2001) + "\"}", "customerId" },
        { "/callbacks/carriers", """{"id":"evt-1","carrier":"ridgeline","trackingNumber":"1R\u0000","status":"delivered","occurredAt":"2026-01-01T00:00:00Z"}""", "trackingNumber" },
        { "/callbacks/payments", """{"id":"evt_\u0000","type":"payment_intent.authorized","created":0,"data":{"object":{}}}""", "id" },
    };

    [Theory]
    [MemberData(nameof(ControlCharacterBodies))]
    public async Task ControlCharacter_InAnyBodyField_Is400NamingIt_AndWritesNothing(string path, string body, string field)
    {
        var (response, errors) = await RefusedAsync(HttpMethod.Post, path, body, sign: true);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(errors.ContainsKey(field), $"{field} not named; errors: {string.Join(", ", errors.Keys)}");
    }

    [Fact]
    public async Task LineBreaks_InAReason_AreText_NotControlCharacters()
    {
        var body = """{"orderId":"o-never-placed","customerId":"cus-ava","amount":5,"currency":"USD","reason":"Arrived late.\r\nBox\tcrushed."}""";

        var (response, errors) = await RefusedAsync(HttpMethod.Post, "/refunds", body);

        // Read as a refund (the unknown order is what is refused), not turned away for its reason.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["orderId"], errors.Keys);
    }

    [Theory]
    [InlineData("GET", "/runs?customerId=%00", "customerId")]
    [InlineData("GET", "/runs?status=%00", "status")]
    [InlineData("GET", "/runs?type=OrderFulfillment&customerId=cus%01ava", "customerId")]
    [InlineData("GET", "/approvals?page=1%0A", "page")]
    [InlineData("GET", "/orders/o-1%01", "path")]
    [InlineData("DELETE", "/api-keys/ss%1F", "path")]
    [InlineData("GET", "/runs?customerId=" + "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", "customerId")]
    public async Task ControlCharacter_OrOverlongValue_InQueryOrPath_Is400NamingIt(string method, string pathAndQuery, string field)
    {
        // (A NUL in the path never reaches the gateway: Kestrel answers 400 itself, and the in-memory client throws.)
        var (response, errors) = await RefusedAsync(new HttpMethod(method), pathAndQuery, body: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(errors.ContainsKey(field), $"{field} not named; errors: {string.Join(", ", errors.Keys)}");
    }

    [Theory]
    [InlineData("Idempotency-Key", "key\u0001")]
    [InlineData("X-Request-Note", "\u0000")]
    public async Task ControlCharacter_InAHeader_Is400NamingIt_AndStartsNothing(string header, string value)
    {
        var orderId = $"o-header-{Guid.NewGuid():N}";

        var (response, errors) = await RefusedAsync(HttpMethod.Post, "/orders", OrderBody(orderId), headers: [(header, value)]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(errors.ContainsKey(header), $"{header} not named; errors: {string.Join(", ", errors.Keys)}");
        await AssertNoWorkflowAsync($"order-{orderId}");
    }

    [Fact]
    public async Task ControlCharacter_InTheApiKey_Is400_NotALookup()
    {
        var (response, errors) = await RefusedAsync(HttpMethod.Get, "/runs", body: null, headers: [("X-Api-Key", "ss_abc\u0000_def")], apiKey: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(errors.ContainsKey("X-Api-Key"));
    }

    public static TheoryData<string> JsonEndpoints() => new()
    {
        "/orders", "/refunds", "/returns", "/labels", "/api-keys", "/webhook-subscriptions", "/orders/o-1/approve", "/orders/o-1/cancel",
        "/refunds/r-1/reject", "/returns/x/received", "/returns/x/inspected", "/print-jobs/pj-1/ack", "/callbacks/payments", "/callbacks/carriers",
    };

    [Theory]
    [MemberData(nameof(JsonEndpoints))]
    public async Task UnsupportedCharset_Is415Problem_OnEveryJsonEndpoint(string path)
    {
        foreach (var charset in new[] { "ebcdic", "utf-16", "\"iso-8859-1\"" })
        {
            var before = await DatabaseRows.ReadAsync(gateway.ConnectionString);
            using var client = gateway.CreateClient(GatewayFixture.AdminKey);
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent("{\"reason\":\"x\"}"u8.ToArray()) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", $"application/json; charset={charset}");
            request.Headers.Add("Idempotency-Key", $"charset-{Guid.NewGuid():N}");

            using var response = await client.SendAsync(request);

            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(0, (await DatabaseRows.ReadAsync(gateway.ConnectionString)).ChangesSince(before).Rows);
        }
    }

    [Fact]
    public async Task Utf8Charset_IsAccepted()
    {
        using var client = gateway.CreateClient(GatewayFixture.AdminKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/refunds")
        {
            Content = new StringContent("""{"orderId":"o-never-placed","customerId":"cus-ava","amount":5,"currency":"USD","reason":"x"}""", Encoding.UTF8, "application/json"),
        };
        request.Content.Headers.ContentType!.CharSet = "UTF-8";
        request.Headers.Add("Idempotency-Key", $"utf8-{Guid.NewGuid():N}");

        using var response = await client.SendAsync(request);

        // The body was read (the refusal is about the order it names), so the charset was accepted.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("orderId", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"id":"evt_str","type":"payment_intent.authorized","created":0,"data":{"object":"pi_123"}}""", null)]
    [InlineData("""{"id":"evt_nodata","type":"payment_intent.declined","created":0}""", null)]
    [InlineData("""{"id":"evt_badrefund","type":"refund.succeeded","created":0,"data":{"object":{"id":42}}}""", null)]
    [InlineData("""{"id":"evt_future","type":"payment_intent.authorized","created":0,"data":{"object":{}}}""", 253402300800L)]
    public async Task SignedButMalformedPaymentEvent_Is400_AndStoresNothing(string body, long? timestamp)
    {
        var secret = gateway.Factory.Services.GetRequiredService<IOptions<PaymentProviderOptions>>().Value.WebhookSecret;
        var signature = timestamp is { } t
            ? $"t={t.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{t}.{body}")))}"
            : WebhookSignature.Create(secret, body, DateTimeOffset.UtcNow);
        var before = await DatabaseRows.ReadAsync(gateway.ConnectionString);
        using var client = gateway.CreateClient(apiKey: null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/callbacks/payments") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(PaymentWebhookProcessor.SignatureHeader, signature);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((0, string.Empty), (await DatabaseRows.ReadAsync(gateway.ConnectionString)).ChangesSince(before));
    }

    [Theory]
    [InlineData("operator", HttpStatusCode.NotFound)]
    [InlineData("client", HttpStatusCode.NotFound)]
    [InlineData("callback", HttpStatusCode.Forbidden)]
    public async Task CancelOrder_IsAnOperatorDecision_AndStillTheClients(string scope, HttpStatusCode expected)
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = $"cancel-{scope}", scopes = new[] { scope } });
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        using var client = gateway.CreateClient(key);

        // No such order runs, so a caller allowed to cancel learns that (404); one who may not is refused first (403).
        using var response = await client.PostAsJsonAsync(new Uri($"/orders/o-cancel-{Guid.NewGuid():N}/cancel", UriKind.Relative), new { reason = "customer called" });

        Assert.Equal(expected, response.StatusCode);
    }

    internal static string OrderBody(
        string orderId,
        string customerId = "cus-ava",
        string currency = "USD",
        (string Sku, int Quantity)[]? lines = null,
        string name = "Ava Martin",
        string city = "Mountain View",
        string paymentMethod = "4242424242424242") => JsonSerializer.Serialize(new
        {
            orderId,
            customerId,
            currency,
            paymentMethod,
            lines = (lines ?? [("TENT-2P", 1)]).Select(l => new { sku = l.Sku, quantity = l.Quantity }),
            shippingAddress = new { name, line1 = "1600 Amphitheatre Pkwy", city, region = "CA", postalCode = "94043", country = "US" },
        });

    private async Task<(HttpResponseMessage Response, Dictionary<string, JsonElement> Errors)> RefusedAsync(
        HttpMethod method, string path, string? body, bool sign = false, (string Name, string Value)[]? headers = null, string? apiKey = GatewayFixture.AdminKey)
    {
        var before = await DatabaseRows.ReadAsync(gateway.ConnectionString);
        using var client = gateway.CreateClient(apiKey);
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            if (sign && path == "/callbacks/payments")
            {
                var secret = gateway.Factory.Services.GetRequiredService<IOptions<PaymentProviderOptions>>().Value.WebhookSecret;
                request.Headers.Add(PaymentWebhookProcessor.SignatureHeader, WebhookSignature.Create(secret, body, DateTimeOffset.UtcNow));
            }
            else if (sign && path == "/callbacks/carriers")
            {
                var secret = gateway.Factory.Services.GetRequiredService<IOptions<TrackingWebhookOptions>>().Value.WebhookSecret;
                request.Headers.Add(CarrierWebhookSignature.HeaderName, CarrierWebhookSignature.Sign(secret, body, DateTimeOffset.UtcNow));
            }
        }

        var idempotencyKey = $"refused-{Guid.NewGuid():N}";
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
            idempotencyKey = name == "Idempotency-Key" ? null : idempotencyKey;
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{(int)response.StatusCode}: {text}");
        var problem = JsonSerializer.Deserialize<JsonElement>(text);
        var errors = problem.TryGetProperty("errors", out var e)
            ? e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal)
            : [];
        Assert.Equal((0, string.Empty), (await DatabaseRows.ReadAsync(gateway.ConnectionString)).ChangesSince(before));
        return (response, errors);
    }

    private async Task AssertNoWorkflowAsync(string workflowId)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => gateway.Temporal.Client.GetWorkflowHandle(workflowId).DescribeAsync());
        Assert.Equal(RpcException.StatusCode.NotFound, error.Code);
    }

    private Task CatalogueWithUnsellableProductsAsync() => gateway.ExecuteSqlAsync(
        """
        INSERT INTO products (sku, name, weight_grams, length_mm, width_mm, height_mm, active)
        VALUES ('RETIRED-1', 'Retired tent', 2000, 500, 200, 200, false), ('USONLY-1', 'US-only stove', 300, 100, 100, 100, true)
        ON CONFLICT (sku) DO NOTHING;
        INSERT INTO product_prices (sku, currency, amount) VALUES ('RETIRED-1', 'USD', 99), ('USONLY-1', 'USD', 19)
        ON CONFLICT (sku, currency) DO NOTHING;
        """);
}

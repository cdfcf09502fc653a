using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Stateset.Activities.Payments;
using Stateset.Activities.Shipping;
using Stateset.Activities.Webhooks;
using Xunit.Abstractions;

namespace Stateset.Gateway.Tests;

/// <summary>
/// Over a thousand malformed or hostile requests: random JSON, wrong types, huge and deeply nested bodies, bad
/// ids and query strings, charsets other than UTF-8, control characters in every string field and query parameter,
/// signed webhooks that are not events, missing, forged and under-scoped keys; then the same kind of traffic while
/// PostgreSQL is stopped and started again. None may produce a 5xx other than an outage's 503, and none may change
/// a single row.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class HostileRequestsTests(GatewayFixture gateway, ITestOutputHelper output)
{
    private static readonly string[] ContentTypes =
    [
        "application/json", "text/plain", "application/json; charset=ebcdic", "application/json; charset=utf-16", "application/json; charset=utf-8",
    ];

    // A valid body for each JSON endpoint (valid in shape; the orders and subjects they name do not exist or are
    // not waiting), so that a control character put into any one of its strings is the only thing wrong with it.
    private static readonly (string Path, string Body)[] Templates =
    [
        ("/orders", InputRefusalsTests.OrderBody("o-hostile")),
        ("/refunds", """{"refundId":"r-hostile","orderId":"o-hostile","customerId":"cus-ava","amount":5,"currency":"USD","reason":"late"}"""),
        ("/returns", """{"returnId":"ret-hostile","orderId":"o-hostile","customerId":"cus-ava","reason":"too big","lines":[{"sku":"TENT-2P","quantity":1,"condition":"new","reason":"torn"}]}"""),
        ("/labels", """{"shipmentId":"s-hostile","orderId":"o-hostile","serviceLevel":"ground","stationId":"ps-reno-1","parcel":{"weightGrams":500,"lengthMm":100,"widthMm":100,"heightMm":100},"from":{"name":"Reno","line1":"1255 Gentry Way","city":"Reno","region":"NV","postalCode":"89502","country":"US"},"to":{"name":"Ava","line1":"1600 Amphitheatre Pkwy","line2":"Bldg 4","city":"Mountain View","region":"CA","postalCode":"94043","country":"US","phone":"+1 775 555 0101"}}"""),
        ("/api-keys", """{"name":"hostile","scopes":["client","operator"]}"""),
        ("/webhook-subscriptions", """{"url":"https://hooks.example.com/stateset","eventTypes":["order.placed"]}"""),
        ("/orders/o-hostile/approve", """{"reason":"fine"}"""),
        ("/orders/o-hostile/cancel", """{"reason":"changed mind"}"""),
        ("/refunds/r-hostile/reject", """{"reason":"no"}"""),
        ("/returns/ret-hostile/received", """{"note":"one box"}"""),
        ("/returns/ret-hostile/inspected", """{"lines":[{"sku":"TENT-2P","condition":"opened"}]}"""),
        ("/print-jobs/pj-hostile/ack", """{"stationId":"ps-reno-1"}"""),
        ("/callbacks/payments", """{"id":"evt_hostile","type":"payment_intent.authorized","created":0,"data":{"object":{"id":"pi_1","status":"requires_capture","currency":"usd","metadata":{"payment_id":"o-hostile:payment"}}}}"""),
        ("/callbacks/carriers", """{"id":"evt-hostile","carrier":"ridgeline","trackingNumber":"1R000","status":"delivered","description":"Left at door","occurredAt":"2026-01-01T00:00:00Z"}"""),
    ];

    // Every query parameter of every list endpoint.
    private static readonly (string Path, string[] Parameters)[] Lists =
    [
        ("/runs", ["type", "status", "customerId", "from", "to", "page", "pageSize"]),
        ("/approvals", ["status", "subjectType", "page", "pageSize"]),
        ("/webhook-subscriptions/00000000-0000-0000-0000-000000000001/deliveries", ["page", "pageSize"]),
        ("/orders/o-hostile", ["x"]),
    ];

    private static readonly string[] Posts =
    [
        "/orders", "/refunds", "/returns", "/labels", "/api-keys", "/webhook-subscriptions",
        "/orders/o-1/approve", "/orders/o-1/cancel", "/refunds/r-1/reject", "/returns/x/received", "/returns/x/inspected",
        "/print-jobs/pj-1/ack", "/callbacks/payments", "/callbacks/carriers",
    ];

    private static readonly string[] Gets =
    [
        "/orders/{0}", "/refunds/{0}", "/returns/{0}", "/labels/{0}", "/approvals?page={0}&pageSize={0}",
        "/runs?from={0}&to={0}&type={0}", "/runs?customerId={0}&status={0}", "/api-keys/{0}", "/webhook-subscriptions/{0}/deliveries",
    ];

    [Fact]
    public async Task ThousandsOfHostileRequests_NeverGive5xx_AndChangeNothing()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = "fuzz", scopes = new[] { "client", "operator", "callback" } });
        var validKey = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        var before = await DatabaseRows.ReadAsync(gateway.ConnectionString);
        var random = new Random(20261122);
        var keys = new[] { null, validKey, "ss_forged_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Bearer", new string('k', 5000), validKey + "x" };
        var failures = new List<string>();
        var sent = 0;

        for (var i = 0; i < 1200; i++)
        {
            var key = keys[random.Next(keys.Length)];
            using var client = gateway.CreateClient(null);
            using var request = random.Next(4) == 0 ? HostileGet(random) : random.Next(6) == 0 ? SignedNonsense(random) : HostilePost(random);
            if (key is not null)
            {
                request.Headers.TryAddWithoutValidation(random.Next(2) == 0 ? "X-Api-Key" : "Authorization", random.Next(2) == 0 ? key : $"Bearer {key}");
            }

            if (random.Next(3) > 0)
            {
                request.Headers.TryAddWithoutValidation("Idempotency-Key", random.Next(5) == 0 ? new string('i', 300) : $"fuzz-{i}");
            }

            using var response = await client.SendAsync(request);
            sent++;
            if ((int)response.StatusCode >= 500)
            {
                failures.Add($"{request.Method} {request.RequestUri} -> {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }

        var (changed, where) = (await DatabaseRows.ReadAsync(gateway.ConnectionString)).ChangesSince(before);
        output.WriteLine($"random hostile requests: {sent} sent, {failures.Count} answered 5xx, {changed} rows changed");
        Assert.True(sent >= 1000);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
        Assert.True(changed == 0, where);
    }

    [Fact]
    public async Task ControlCharacters_InEveryStringField_AndEveryQueryParameter_Are400NamingIt()
    {
        var before = await DatabaseRows.ReadAsync(gateway.ConnectionString);
        var wrong = new List<string>();
        var sent = 0;
        foreach (var (path, template) in Templates)
        {
            foreach (var (field, body) in Poisoned(template))
            {
                using var client = gateway.CreateClient(GatewayFixture.AdminKey);
                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Add("Idempotency-Key", $"nul-{sent}");
                Sign(request, path, body);
                using var response = await client.SendAsync(request);
                sent++;
                var answer = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.BadRequest || !answer.Contains($"\"{field}\"", StringComparison.Ordinal))
                {
                    wrong.Add($"POST {path} with NUL in {field} -> {(int)response.StatusCode}: {answer}");
                }
            }
        }

        foreach (var (path, parameters) in Lists)
        {
            foreach (var parameter in parameters)
            {
                foreach (var value in new[] { "%00", "a%00b", "%1F", "%0D%0A" })
                {
                    using var client = gateway.CreateClient(GatewayFixture.AdminKey);
                    using var response = await client.GetAsync(new Uri($"{path}?{parameter}={value}", UriKind.Relative));
                    sent++;
                    var answer = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode != HttpStatusCode.BadRequest || !answer.Contains($"\"{parameter}\"", StringComparison.Ordinal))
                    {
                        wrong.Add($"GET {path}?{parameter}={value} -> {(int)response.StatusCode}: {answer}");
                    }
                }
            }
        }

        var (changed, where) = (await DatabaseRows.ReadAsync(gateway.ConnectionString)).ChangesSince(before);
        output.WriteLine($"control characters: {sent} requests sent, {wrong.Count} not answered 400 naming the field, {changed} rows changed");
        Assert.True(sent >= 80, $"only {sent} requests");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong.Take(10)));
        Assert.True(changed == 0, where);
    }

    [Fact]
    public async Task PostgresStoppedMidRun_AnswersOnly503WithRetryAfter_ChangesNothing_AndRecoversByItself()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = "outage", scopes = new[] { "client", "operator", "callback" } });
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        var before = await DatabaseRows.ReadAsync(gateway.ConnectionString);
        var answers = new System.Collections.Concurrent.ConcurrentQueue<(string Request, int Status, bool RetryAfter, string? MediaType, bool Down, bool CachedKey)>();
        var down = false;
        using var stop = new CancellationTokenSource();

        // Traffic that must change nothing whether PostgreSQL is up or not: reads, refused starts, unreadable webhooks,
        // and keys never seen before (their lookup needs PostgreSQL; a known-unknown key is cached).
        var traffic = Enumerable.Range(0, 4).Select(async worker =>
        {
            var random = new Random(worker);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var useCachedKey = random.Next(4) > 0;
                using var client = gateway.CreateClient(useCachedKey ? key : $"ss_unknown{worker}x{i}_{new string('s', 43)}");
                using var request = OutageRequest(random, i);
                var downBefore = Volatile.Read(ref down);
                using var response = await client.SendAsync(request);

                // Down throughout: sent after PostgreSQL had stopped and answered before it was started again.
                var wasDown = downBefore && Volatile.Read(ref down);
                answers.Enqueue(($"{request.Method} {request.RequestUri}", (int)response.StatusCode, response.Headers.RetryAfter is not null, response.Content.Headers.ContentType?.MediaType, wasDown, useCachedKey));
            }
        }).ToList();

        await Task.Delay(TimeSpan.FromSeconds(1));
        await gateway.Postgres.StopAsync();
        Volatile.Write(ref down, true);
        await Task.Delay(TimeSpan.FromSeconds(4));
        Volatile.Write(ref down, false);
        await gateway.Postgres.StartAsync();

        // Recovery by itself: nothing is restarted or reset in the gateway; a plain read succeeds again.
        var recovered = TimeSpan.Zero;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var reader = gateway.CreateClient(key))
        {
            while ((await reader.GetAsync(new Uri("/runs", UriKind.Relative))).StatusCode != HttpStatusCode.OK)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "The gateway did not recover within 30 s of PostgreSQL coming back.");
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }

            recovered = clock.Elapsed;
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        await stop.CancelAsync();
        await Task.WhenAll(traffic);

        // Connections the test itself pooled before the restart are dead; the gateway's own pool heals on its own.
        NpgsqlConnection.ClearAllPools();
        var (changed, where) = (await DatabaseRows.ReadAsync(gateway.ConnectionString)).ChangesSince(before);
        var all = answers.ToList();
        var serverErrors = all.Where(a => a.Status >= 500 && a.Status != 503).ToList();
        var unavailable = all.Where(a => a.Status == 503).ToList();
        output.WriteLine(
            $"PostgreSQL stopped mid-run: {all.Count} requests sent ({all.Count(a => a.Down)} while down), {unavailable.Count} answered 503, "
            + $"{serverErrors.Count} other 5xx, recovered {recovered.TotalMilliseconds:F0} ms after restart, {changed} rows changed");
        foreach (var group in all.Where(a => a.Down).GroupBy(a => (Path: a.Request.Split('?')[0].Split("/o-")[0], a.Status)).OrderBy(g => g.Key.Path, StringComparer.Ordinal))
        {
            output.WriteLine($"  while down: {group.Key.Path} -> {group.Key.Status} x {group.Count()}");
        }

        Assert.True(serverErrors.Count == 0, string.Join("\n", serverErrors.Take(10)));
        Assert.NotEmpty(unavailable);

        // A key that could not be looked up is not a wrong key: while PostgreSQL is down that is a 503, never a 401.
        Assert.DoesNotContain(all, a => a.Down && !a.CachedKey && a.Status == 401);
        Assert.All(unavailable, a =>
        {
            Assert.True(a.RetryAfter, $"{a.Request}: 503 without Retry-After");
            Assert.True(a.MediaType is "application/problem+json" || a.Request.Contains("/health/", StringComparison.Ordinal), $"{a.Request}: 503 as {a.MediaType}");
        });
        Assert.True(changed == 0, where);
    }

    /// <summary>Each string of a JSON body (values and array items, at any depth) with a control character in it, in turn.</summary>
    private static IEnumerable<(string Field, string Body)> Poisoned(string template)
    {
        var fields = new List<string>();
        void Collect(JsonNode? node, string path)
        {
            switch (node)
            {
                case JsonObject obj:
                    foreach (var (name, child) in obj)
                    {
                        Collect(child, path.Length == 0 ? name : $"{path}.{name}");
                    }

                    break;
                case JsonArray array:
                    for (var i = 0; i < array.Count; i++)
                    {
                        Collect(array[i], $"{path}[{i}]");
                    }

                    break;
                case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                    fields.Add(path);
                    break;
            }
        }

        Collect(JsonNode.Parse(template), string.Empty);
        foreach (var field in fields)
        {
            var root = JsonNode.Parse(template)!;
            var node = root;
            foreach (var segment in System.Text.RegularExpressions.Regex.Split(field, @"\.|(?=\[)").Where(s => s.Length > 0))
            {
                node = segment.StartsWith('[') ? node![int.Parse(segment[1..^1], System.Globalization.CultureInfo.InvariantCulture)] : node![segment];
            }

            node!.ReplaceWith(JsonValue.Create(node.GetValue<string>() + "\u0000"));
            yield return (field, root.ToJsonString());
        }
    }

    private void Sign(HttpRequestMessage request, string path, string body)
    {
        if (path == "/callbacks/payments")
        {
            var secret = gateway.Factory.Services.GetRequiredService<IOptions<PaymentProviderOptions>>().Value.WebhookSecret;
            request.Headers.Add(PaymentWebhookProcessor.SignatureHeader, WebhookSignature.Create(secret, body, DateTimeOffset.UtcNow));
        }
        else if (path == "/callbacks/carriers")
        {
            var secret = gateway.Factory.Services.GetRequiredService<IOptions<TrackingWebhookOptions>>().Value.WebhookSecret;
            request.Headers.Add(CarrierWebhookSignature.HeaderName, CarrierWebhookSignature.Sign(secret, body, DateTimeOffset.UtcNow));
        }
    }

    /// <summary>A correctly signed callback whose body is random JSON, a string where an object belongs, or no data.</summary>
    private HttpRequestMessage SignedNonsense(Random random)
    {
        var path = random.Next(2) == 0 ? "/callbacks/payments" : "/callbacks/carriers";
        var body = random.Next(4) switch
        {
            0 => """{"id":"evt_s","type":"payment_intent.authorized","created":0,"data":{"object":"pi_1"}}""",
            1 => """{"id":"evt_d","type":"refund.failed","created":0}""",
            2 => """{"id":"evt-c","carrier":"ridgeline","trackingNumber":7,"status":"delivered","occurredAt":"yesterday"}""",
            _ => RandomJson(random, depth: 0),
        };
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        Sign(request, path, body);
        return request;
    }

    /// <summary>One request of the outage traffic: none of them changes a row when PostgreSQL is up.</summary>
    private HttpRequestMessage OutageRequest(Random random, int i)
    {
        var (method, path, body) = (i % 9) switch
        {
            0 => (HttpMethod.Get, "/runs?type=OrderFulfillment", null),
            1 => (HttpMethod.Get, "/approvals", null),
            2 => (HttpMethod.Get, $"/orders/o-outage-{random.Next(1000)}", null),
            3 => (HttpMethod.Post, "/orders", InputRefusalsTests.OrderBody($"o-outage-{i}", lines: [("NOPE-404", 1)])),
            4 => (HttpMethod.Post, "/refunds", """{"orderId":"o-outage","customerId":"cus-ava","amount":5,"currency":"USD","reason":"outage"}"""),
            5 => (HttpMethod.Post, "/print-jobs/pj-outage/ack", """{"stationId":"ps-reno-1"}"""),
            6 => (HttpMethod.Get, "/health/ready", null),
            7 => (HttpMethod.Post, "/orders", InputRefusalsTests.OrderBody($"o-outage-{i}", name: "Ava\u0000")),
            _ => (HttpMethod.Get, "/webhook-subscriptions", null),
        };
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            request.Headers.Add("Idempotency-Key", $"outage-{i}");
        }

        return request;
    }

    private static HttpRequestMessage HostilePost(Random random)
    {
        var path = Posts[random.Next(Posts.Length)];
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        byte[] body = random.Next(9) switch
        {
            0 => RandomBytes(random, random.Next(1, 512)),
            1 => Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200)),
            2 => Encoding.UTF8.GetBytes("{\"customerId\":\"" + new string('x', 300_000) + "\"}"),
            3 => Encoding.UTF8.GetBytes("{\"lines\":[{\"sku\":1,\"quantity\":\"many\"}],\"currency\":[],\"amount\":\"1e999\"}"),
            4 => Encoding.UTF8.GetBytes("{\"orderId\":\"../../etc/passwd\",\"customerId\":\"'; DROP TABLE orders;--\",\"currency\":\"USD\",\"lines\":[{\"sku\":\"TENT-2P\",\"quantity\":-5}]}"),
            5 => Encoding.UTF8.GetBytes("{\"name\":null,\"scopes\":[\"admin\",\"admin\",7],\"url\":\"javascript:alert(1)\",\"eventTypes\":{}}"),
            6 => Encoding.UTF8.GetBytes(RandomJson(random, depth: 0)),
            7 => [],
            _ => Encoding.UTF8.GetBytes("{\"amount\":-0.001,\"currency\":\"usd\",\"orderId\":\"\",\"lines\":null,\"stationId\":\"\\u0000\"}"),
        };
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.TryAddWithoutValidation("Content-Type", random.Next(3) == 0 ? ContentTypes[random.Next(ContentTypes.Length)] : "application/json");
        return request;
    }

    private static HttpRequestMessage HostileGet(Random random)
    {
        // SSE routes are left out: a well-formed one streams until the client leaves, which is their point, not a failure.
        string[] values = ["%00", "%01", "%0A", "-1", "0", "99999999999999999999", "%2e%2e%2f", new string('a', 2000), "o-1", "' OR 1=1 --", "2026-13-45", "<script>"];
        var template = Gets[random.Next(Gets.Length)];
        var value = values[random.Next(values.Length)];

        // A NUL in the path never reaches the gateway (Kestrel answers 400 itself; the in-memory client throws), so
        // there it is the next control character; in the query string it is sent as is.
        var query = template.IndexOf('?', StringComparison.Ordinal);
        if (value == "%00" && (query < 0 || template.IndexOf("{0}", StringComparison.Ordinal) < query))
        {
            value = "%01";
        }

        var path = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, value);
        return new HttpRequestMessage(HttpMethod.Get, path);
    }

    private static readonly string[] FieldNames = ["orderId", "customerId", "lines", "amount", "currency", "sku", "quantity", "scopes", "url", "x"];

    private static string RandomJson(Random random, int depth) => (depth > 4 ? random.Next(4) : random.Next(7)) switch
    {
        0 => random.Next(-1_000_000, 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        1 => JsonSerializer.Serialize(Encoding.Latin1.GetString(RandomBytes(random, random.Next(0, 40)))),
        2 => random.Next(2) == 0 ? "true" : "null",
        3 => "1.5e308",
        4 => "[" + string.Join(",", Enumerable.Range(0, random.Next(0, 4)).Select(_ => RandomJson(random, depth + 1))) + "]",
        _ => "{" + string.Join(",", Enumerable.Range(0, random.Next(0, 5)).Select(_ =>
            JsonSerializer.Serialize(FieldNames[random.Next(FieldNames.Length)]) + ":" + RandomJson(random, depth + 1))) + "}",
    };

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}

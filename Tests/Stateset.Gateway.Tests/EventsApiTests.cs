using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stateset.Gateway.Events;

namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class EventsApiTests(GatewayFixture gateway)
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task OrderStream_DeliversItsEventsInsertedAfterConnecting_AndNotOthers()
    {
        var orderId = $"o-{Guid.NewGuid():N}";
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));
        using var timeout = new CancellationTokenSource(ReadTimeout);
        using var response = await OpenAsync(client, $"/events/orders/{orderId}", lastEventId: null, timeout.Token);
        using var stream = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var other = await gateway.AppendOutboxEventAsync("workflow", $"order-o-someone-else-{Guid.NewGuid():N}", "workflow.updated");
        var status = await gateway.AppendOutboxEventAsync("workflow", $"order-{orderId}", "workflow.updated");
        var placed = await gateway.AppendOutboxEventAsync("order", orderId, "order.placed");
        var first = await stream.NextEventAsync(timeout.Token);
        var second = await stream.NextEventAsync(timeout.Token);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(status, first.Id);
        Assert.Equal("workflow.updated", first.Data.GetProperty("eventType").GetString());
        Assert.Equal($"order-{orderId}", first.Data.GetProperty("aggregateId").GetString());
        Assert.True(first.Data.GetProperty("payload").GetProperty("test").GetBoolean());
        Assert.Equal(placed, second.Id);
        Assert.NotEqual(other, first.Id);
    }

    [Fact]
    public async Task LastEventId_ReplaysMissedEventsFromTheTable_ThenGoesLive()
    {
        var orderId = $"o-{Guid.NewGuid():N}";
        var seen = await gateway.AppendOutboxEventAsync("workflow", $"order-{orderId}", "workflow.updated");
        var missed1 = await gateway.AppendOutboxEventAsync("order", orderId, "order.status_changed");
        await gateway.AppendOutboxEventAsync("order", $"{orderId}-not-this-one", "order.status_changed");
        var missed2 = await gateway.AppendOutboxEventAsync("payment", $"{orderId}:payment", "payment.authorized");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));
        using var timeout = new CancellationTokenSource(ReadTimeout);

        using var response = await OpenAsync(client, $"/events/orders/{orderId}", seen, timeout.Token);
        using var stream = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var replayed1 = await stream.NextEventAsync(timeout.Token);
        var replayed2 = await stream.NextEventAsync(timeout.Token);
        var live = await gateway.AppendOutboxEventAsync("workflow", $"order-{orderId}", "workflow.updated");
        var next = await stream.NextEventAsync(timeout.Token);

        Assert.Equal([missed1, missed2, live], [replayed1.Id, replayed2.Id, next.Id]);
    }

    [Fact]
    public async Task Reconnect_DoesNotResendTheEventsTheClientSaw_WhenTheirNoticesArriveLate()
    {
        // The stream subscribes before it replays, so the notice of an event committed just before a reconnect can
        // reach the live side afterwards. Announcing the client's Last-Event-ID event again stands for that notice.
        var orderId = $"o-{Guid.NewGuid():N}";
        var seen = await gateway.AppendOutboxEventAsync("workflow", $"order-{orderId}", "workflow.updated");
        var missed = await gateway.AppendOutboxEventAsync("order", orderId, "order.status_changed");
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));
        using var timeout = new CancellationTokenSource(ReadTimeout);

        using var response = await OpenAsync(client, $"/events/orders/{orderId}", seen, timeout.Token);
        using var stream = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var replayed = await stream.NextEventAsync(timeout.Token);
        await gateway.ExecuteSqlAsync(
            """
            SELECT pg_notify('outbox', json_build_object(
                'id', id, 'aggregateType', aggregate_type, 'aggregateId', aggregate_id, 'eventType', event_type)::text)
            FROM outbox_events WHERE position IN (@seen, @missed) ORDER BY position
            """,
            new { seen, missed });
        var live = await gateway.AppendOutboxEventAsync("order", orderId, "order.placed");
        var next = await stream.NextEventAsync(timeout.Token);

        Assert.Equal([missed, live], [replayed.Id, next.Id]);
    }

    [Fact]
    public async Task ApprovalsStream_DeliversApprovalEventsOfAnySubject()
    {
        using var operatorClient = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));
        using var timeout = new CancellationTokenSource(ReadTimeout);
        using var response = await OpenAsync(operatorClient, "/events/approvals", lastEventId: null, timeout.Token);
        using var stream = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        await gateway.AppendOutboxEventAsync("order", $"o-{Guid.NewGuid():N}", "order.placed");
        var requested = await gateway.AppendOutboxEventAsync("refund", $"r-{Guid.NewGuid():N}", "approval.requested");
        var received = await stream.NextEventAsync(timeout.Token);

        Assert.Equal(requested, received.Id);
    }

    [Fact]
    public async Task AllStream_IsForOperators_DeliversEveryEvent_AndReplaysWhatAReconnectMissed()
    {
        var orderId = $"o-{Guid.NewGuid():N}";
        var clientKey = await gateway.CreateKeyAsync("client");
        using var client = gateway.CreateClient(clientKey);
        using var operatorClient = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));
        using var timeout = new CancellationTokenSource(ReadTimeout);
        using var refused = await client.GetAsync(new Uri("/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var seen = await gateway.AppendOutboxEventAsync("workflow", $"order-{orderId}", "workflow.updated");
        var missed = await gateway.AppendOutboxEventAsync("inventory", $"sku-{orderId}", "inventory.reserved");

        using var response = await OpenAsync(operatorClient, "/events", seen, timeout.Token);
        using var stream = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        // The stream carries every event, also those of the tests running beside this one: read this test's own.
        var replayed = await NextOwnEventAsync(stream, orderId, timeout.Token);
        var placed = await gateway.AppendOutboxEventAsync("order", orderId, "order.placed");
        var queued = await gateway.AppendOutboxEventAsync("shipment", $"s-{orderId}", "print_job.queued");
        var first = await NextOwnEventAsync(stream, orderId, timeout.Token);
        var second = await NextOwnEventAsync(stream, orderId, timeout.Token);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(missed, replayed.Id);
        Assert.Equal("inventory.reserved", replayed.Data.GetProperty("eventType").GetString());
        Assert.Equal([placed, queued], [first.Id, second.Id]);
        Assert.Equal(orderId, first.Data.GetProperty("aggregateId").GetString());
    }

    [Fact]
    public async Task AnotherGatewayInstance_DeliversTheSameEvent_SendsHeartbeats_AndForgetsAClientThatLeft()
    {
        // A second app over the same database stands for a second gateway behind a load balancer.
        await using var secondInstance = gateway.Factory.WithWebHostBuilder(web => web.UseSetting("Gateway:Events:HeartbeatSeconds", "0.2"));
        var hub = secondInstance.Services.GetRequiredService<OutboxEventHub>();
        var orderId = $"o-{Guid.NewGuid():N}";
        var key = await gateway.CreateKeyAsync("client");
        using var firstClient = gateway.CreateClient(key);
        using var secondClient = secondInstance.CreateClient();
        secondClient.DefaultRequestHeaders.Add("X-Api-Key", key);
        using var timeout = new CancellationTokenSource(ReadTimeout);

        using var first = await OpenAsync(firstClient, $"/events/orders/{orderId}", lastEventId: null, timeout.Token);
        var second = await OpenAsync(secondClient, $"/events/orders/{orderId}", lastEventId: null, timeout.Token);
        using var firstStream = new SseReader(await first.Content.ReadAsStreamAsync(timeout.Token));
        var secondStream = new SseReader(await second.Content.ReadAsStreamAsync(timeout.Token));
        var subscribedWhileOpen = hub.SubscriberCount;
        var heartbeat = await secondStream.NextCommentAsync(timeout.Token);
        var position = await gateway.AppendOutboxEventAsync("workflow", $"order-{orderId}", "workflow.updated");
        var viaFirst = await firstStream.NextEventAsync(timeout.Token);
        var viaSecond = await secondStream.NextEventAsync(timeout.Token);
        secondStream.Dispose();
        second.Dispose();
        while (hub.SubscriberCount > 0)
        {
            await Task.Delay(20, timeout.Token);
        }

        Assert.Equal(1, subscribedWhileOpen);
        Assert.Equal(": heartbeat", heartbeat);
        Assert.Equal(position, viaFirst.Id);
        Assert.Equal(position, viaSecond.Id);
    }

    [Fact]
    public async Task Streams_NeedTheirScope()
    {
        using var anonymous = gateway.CreateClient(apiKey: null);
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));
        using var operatorOnly = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));

        using var noKey = await anonymous.GetAsync(new Uri("/events/orders/o-1", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        using var clientOnApprovals = await client.GetAsync(new Uri("/events/approvals", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        using var operatorOnOrders = await operatorOnly.GetAsync(new Uri("/events/orders/o-1", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, clientOnApprovals.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, operatorOnOrders.StatusCode);
    }

    [Fact]
    public async Task Refusals_AskedAsEventSourceAsks_AreTheirOwnStatus_NotAServerError()
    {
        // One request per key per second, so the second stream of a key is refused.
        await using var limited = gateway.Factory.WithWebHostBuilder(web => web
            .UseSetting("Gateway:RateLimit:PermitsPerSecond", "1")
            .UseSetting("Gateway:RateLimit:Burst", "1"));
        var operatorKey = Uri.EscapeDataString(await gateway.CreateKeyAsync("operator"));
        var clientKey = Uri.EscapeDataString(await gateway.CreateKeyAsync("client"));
        using var browser = limited.CreateClient();

        // A browser's EventSource accepts text/event-stream only: there is no problem+json it asked for, yet the
        // answer must still say what was wrong.
        async Task<HttpResponseMessage> AskAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            return await browser.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        }

        using var noKey = await AskAsync("/events/approvals");
        using var unknownKey = await AskAsync("/events/approvals?api_key=ss_nosuchkey_0123456789abcdefghijklmnopqrstuvwxyz");
        using var wrongScope = await AskAsync($"/events/approvals?api_key={clientKey}");
        var streams = new List<HttpResponseMessage>();
        try
        {
            // The first stream takes the key's one token; a refill can land between two asks, so ask until refused.
            while (streams.Count < 5 && streams.LastOrDefault()?.StatusCode is null or HttpStatusCode.OK)
            {
                streams.Add(await AskAsync($"/events/approvals?api_key={operatorKey}"));
            }

            Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, unknownKey.StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, wrongScope.StatusCode);
            Assert.Equal(HttpStatusCode.TooManyRequests, streams[^1].StatusCode);
            foreach (var refusal in new[] { noKey, unknownKey, wrongScope, streams[^1] })
            {
                Assert.Equal("application/problem+json", refusal.Content.Headers.ContentType?.MediaType);
                var problem = JsonDocument.Parse(await refusal.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal((int)refusal.StatusCode, problem.GetProperty("status").GetInt32());
            }
        }
        finally
        {
            streams.ForEach(stream => stream.Dispose());
        }
    }

    [Fact]
    public async Task ApiKeyQueryParameter_WorksOnEventStreamsOnly()
    {
        var operatorKey = await gateway.CreateKeyAsync("operator");
        using var anonymous = gateway.CreateClient(apiKey: null);
        using var timeout = new CancellationTokenSource(ReadTimeout);

        using var stream = await anonymous.GetAsync(
            new Uri($"/events/approvals?api_key={Uri.EscapeDataString(operatorKey)}", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var list = await anonymous.GetAsync(new Uri($"/approvals?api_key={Uri.EscapeDataString(operatorKey)}", UriKind.Relative), timeout.Token);

        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
    }

    [Theory]
    [InlineData("/events/customers/c-1", null, "resource")]
    [InlineData("/events/orders/o-1", "abc", "Last-Event-ID")]
    public async Task BadStreamRequest_Is400NamingTheField(string path, string? lastEventId, string field)
    {
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    private static async Task<SseEvent> NextOwnEventAsync(SseReader stream, string orderId, CancellationToken ct)
    {
        while (true)
        {
            var next = await stream.NextEventAsync(ct);
            if (next.Data.GetProperty("aggregateId").GetString()!.Contains(orderId, StringComparison.Ordinal))
            {
                return next;
            }
        }
    }

    private static async Task<HttpResponseMessage> OpenAsync(HttpClient client, string path, long? lastEventId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    private sealed record SseEvent(long Id, JsonElement Data);

    /// <summary>Reads an SSE stream event by event, skipping comments (heartbeats) and the retry field.</summary>
    private sealed class SseReader(Stream stream) : IDisposable
    {
        private readonly StreamReader _reader = new(stream);

        public async Task<SseEvent> NextEventAsync(CancellationToken ct)
        {
            long? id = null;
            string? data = null;
            while (true)
            {
                var line = await _reader.ReadLineAsync(ct) ?? throw new EndOfStreamException("The event stream ended.");
                if (line.Length == 0)
                {
                    if (id is not null && data is not null)
                    {
                        return new SseEvent(id.Value, JsonDocument.Parse(data).RootElement.Clone());
                    }

                    continue;
                }

                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line[6..];
                }
            }
        }

        public async Task<string> NextCommentAsync(CancellationToken ct)
        {
            while (true)
            {
                var line = await _reader.ReadLineAsync(ct) ?? throw new EndOfStreamException("The event stream ended.");
                if (line.StartsWith(':'))
                {
                    return line;
                }
            }
        }

        public void Dispose() => _reader.Dispose();
    }
}

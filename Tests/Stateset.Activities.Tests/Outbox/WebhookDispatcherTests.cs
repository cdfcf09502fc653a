using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Stateset.Activities.Outbox;
using Stateset.Activities.Webhooks;
using Stateset.Sandboxes;
using Stateset.Testing;

namespace Stateset.Activities.Tests.Outbox;

[Collection(PostgresCollection.Name)]
public sealed class WebhookDispatcherTests(PostgresFixture postgres) : IAsyncLifetime
{
    private const string Secret = "whsec_subscriber";
    private readonly ManualTime _time = new(DateTimeOffset.UtcNow.AddSeconds(5));
    private readonly ConcurrentQueue<(string EventId, string Body, string Signature)> _received = new();
    private readonly HttpClient _http = new();
    private int _failuresLeft;
    private CommerceDatabase _db = null!;
    private SandboxHost _subscriber = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        // Any loopback web server will do as the subscriber; the sandbox host lets a test add endpoints.
        _subscriber = await SandboxHost.StartAsync(configureApp: app => app.MapPost("/hooks", async (HttpRequest request) =>
        {
            if (Interlocked.Decrement(ref _failuresLeft) >= 0)
            {
                return Results.StatusCode(503);
            }

            using var reader = new StreamReader(request.Body);
            _received.Enqueue((request.Headers[WebhookDispatcher.EventIdHeader].ToString(), await reader.ReadToEndAsync(), request.Headers[WebhookDispatcher.SignatureHeader].ToString()));
            return Results.Ok();
        }));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _subscriber.DisposeAsync();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Dispatch_NewEvent_IsDeliveredOnceSignedWithTheSubscriptionSecret()
    {
        await SubscribeAsync("{order.placed}");
        var eventId = await AppendEventAsync("order.placed");
        await AppendEventAsync("payment.captured");

        var first = await Dispatcher().DispatchDueAsync(default);
        var second = await Dispatcher().DispatchDueAsync(default);

        Assert.Equal((1, 0), (first, second));
        var (receivedId, body, signature) = Assert.Single(_received);
        Assert.Equal(eventId.ToString(), receivedId);
        Assert.Contains($"\"id\":\"{eventId}\"", body, StringComparison.Ordinal);
        Assert.Contains("\"data\":{\"orderId\":\"o-1\"}", body, StringComparison.Ordinal);
        Assert.Equal(WebhookSignatureCheck.Valid, WebhookSignature.Verify(Secret, body, signature, _time.GetUtcNow(), WebhookSignature.DefaultTolerance));
        Assert.Equal("delivered", await _db.ScalarAsync<string>("SELECT status FROM webhook_deliveries"));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM webhook_delivery_attempts"));
    }

    [Fact]
    public async Task Dispatch_SubscriberFailing_RetriesAfterBackoffAndRecordsEveryAttempt()
    {
        await SubscribeAsync("{}");
        await AppendEventAsync("order.placed");
        _failuresLeft = 2;

        await Dispatcher().DispatchDueAsync(default);
        var notYetDue = await Dispatcher().DispatchDueAsync(default);
        var nextAttempt = await _db.ScalarAsync<DateTime>("SELECT next_attempt_at FROM webhook_deliveries");
        _time.Advance(TimeSpan.FromSeconds(13));
        await Dispatcher().DispatchDueAsync(default);
        _time.Advance(TimeSpan.FromSeconds(25));
        await Dispatcher().DispatchDueAsync(default);

        Assert.Equal(0, notYetDue);
        Assert.InRange(nextAttempt - _time.GetUtcNow().UtcDateTime.AddSeconds(-38), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(12));
        Assert.Single(_received);
        var attempts = await _db.QueryAsync<(int Attempt, int? StatusCode)>("SELECT attempt, status_code FROM webhook_delivery_attempts ORDER BY attempt");
        Assert.Equal([(1, 503), (2, 503), (3, 200)], attempts);
        Assert.Equal("delivered", await _db.ScalarAsync<string>("SELECT status FROM webhook_deliveries"));
    }

    [Fact]
    public async Task Dispatch_SubscriberDownForEveryAttempt_GivesUpAsDead()
    {
        await SubscribeAsync("{}");
        await AppendEventAsync("order.placed");
        _failuresLeft = int.MaxValue;

        for (var pass = 0; pass < 3; pass++)
        {
            await Dispatcher(maxAttempts: 3).DispatchDueAsync(default);
            _time.Advance(TimeSpan.FromMinutes(5));
        }

        Assert.Equal(0, await Dispatcher(maxAttempts: 3).DispatchDueAsync(default));
        Assert.Equal(("dead", 3), Assert.Single(await _db.QueryAsync<(string, int)>("SELECT status, attempts FROM webhook_deliveries")));
    }

    [Fact]
    public async Task Dispatch_TwoDispatchersAtOnce_DeliverEachEventOnce()
    {
        await SubscribeAsync("{}");
        var events = new List<Guid>();
        for (var i = 0; i < 20; i++)
        {
            events.Add(await AppendEventAsync("order.placed"));
        }

        var passes = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => Dispatcher(batch: 7).DispatchDueAsync(default))));
        while (await Dispatcher(batch: 7).DispatchDueAsync(default) > 0)
        {
        }

        Assert.Equal(events.Select(e => e.ToString()).Order(StringComparer.Ordinal), _received.Select(r => r.EventId).Order(StringComparer.Ordinal));
        Assert.Equal(14, passes.Sum());
    }

    private WebhookDispatcher Dispatcher(int maxAttempts = 10, int batch = 50) => new(
        _db.DataSource,
        _http,
        Options.Create(new WebhookDispatcherOptions { MaxAttempts = maxAttempts, BatchSize = batch, FirstRetryDelay = TimeSpan.FromSeconds(10) }),
        _time);

    private Task SubscribeAsync(string eventTypes) => _db.ExecuteAsync(
        "INSERT INTO webhook_subscriptions (url, secret, event_types) VALUES (@url, @secret, @eventTypes::text[])",
        new { url = new Uri(_subscriber.BaseAddress, "hooks").ToString(), secret = Secret, eventTypes });

    private async Task<Guid> AppendEventAsync(string eventType)
    {
        await using var connection = await _db.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var id = await OutboxWriter.AppendAsync(transaction, "order", "o-1", eventType, new { OrderId = "o-1" }, default);
        await transaction.CommitAsync();
        return id;
    }
}

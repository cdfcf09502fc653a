using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Stateset.Activities.Webhooks;
using Stateset.Database;

namespace Stateset.Activities.Outbox;

/// <summary>
/// Delivers outbox events to webhook subscribers, at least once. A pass claims due deliveries with
/// <c>FOR UPDATE SKIP LOCKED</c> and a lease (so several dispatchers share the work and a crashed one's claims come
/// back), POSTs each event signed with the subscription's secret (<c>Stateset-Signature: t=…,v1=…</c>), records the
/// attempt, and schedules a retry with exponential backoff and jitter or marks the delivery delivered or dead.
/// Consumers deduplicate on <c>Stateset-Event-Id</c>.
/// </summary>
/// <remarks>
/// The HttpClient deliberately has no resilience pipeline: retries are this class's schedule, so every attempt is
/// visible in <c>webhook_delivery_attempts</c> instead of hidden inside one.
/// </remarks>
public sealed class WebhookDispatcher(NpgsqlDataSource dataSource, HttpClient http, IOptions<WebhookDispatcherOptions> options, TimeProvider time)
{
    /// <summary>The signature header subscribers verify.</summary>
    public const string SignatureHeader = "Stateset-Signature";

    /// <summary>The header carrying the event id consumers deduplicate on.</summary>
    public const string EventIdHeader = "Stateset-Event-Id";

    /// <summary>The header carrying the event type.</summary>
    public const string EventTypeHeader = "Stateset-Event-Type";

    /// <summary>Delivers every due delivery once and returns how many were attempted.</summary>
    public async Task<int> DispatchDueAsync(CancellationToken ct)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        List<Claimed> claimed;

        // The claim runs every second whether or not anything is due; under an unsampled parent its statement makes
        // no span, so idle polls do not bury the traces people look for. What a claimed delivery does is traced.
        using (UntracedStatements.Begin())
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        {
            claimed = (await connection.QueryAsync<Claimed>(new CommandDefinition(
                """
                WITH due AS (
                    SELECT id FROM webhook_deliveries
                    WHERE status = 'pending' AND next_attempt_at <= @Now
                    ORDER BY next_attempt_at, id
                    LIMIT @Batch
                    FOR UPDATE SKIP LOCKED),
                claimed AS (
                    UPDATE webhook_deliveries d
                    SET attempts = d.attempts + 1, last_attempt_at = @Now, next_attempt_at = @Now + @Lease
                    FROM due WHERE d.id = due.id
                    RETURNING d.id, d.attempts, d.event_id, d.subscription_id)
                SELECT c.id AS DeliveryId, c.attempts AS Attempt, e.id AS EventId, e.event_type AS EventType,
                       e.aggregate_type AS AggregateType, e.aggregate_id AS AggregateId, e.payload::text AS Payload,
                       e.occurred_at AS OccurredAt, s.url, s.secret
                FROM claimed c
                JOIN outbox_events e ON e.id = c.event_id
                JOIN webhook_subscriptions s ON s.id = c.subscription_id
                ORDER BY e.position
                """,
                new { Now = now, Batch = settings.BatchSize, settings.Lease },
                cancellationToken: ct))).ToList();
        }

        foreach (var delivery in claimed)
        {
            await DeliverAsync(delivery, settings, ct);
        }

        return claimed.Count;
    }

    private async Task DeliverAsync(Claimed delivery, WebhookDispatcherOptions settings, CancellationToken ct)
    {
        using var payload = JsonDocument.Parse(delivery.Payload);
        var body = JsonSerializer.Serialize(
            new
            {
                id = delivery.EventId,
                type = delivery.EventType,
                aggregateType = delivery.AggregateType,
                aggregateId = delivery.AggregateId,
                occurredAt = new DateTimeOffset(delivery.OccurredAt, TimeSpan.Zero),
                data = payload.RootElement,
            });

        int? statusCode = null;
        string? error = null;
        var watch = Stopwatch.StartNew();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add(SignatureHeader, WebhookSignature.Create(delivery.Secret, body, time.GetUtcNow()));
            request.Headers.Add(EventIdHeader, delivery.EventId.ToString());
            request.Headers.Add(EventTypeHeader, delivery.EventType);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(settings.RequestTimeout);
            using var response = await http.SendAsync(request, timeout.Token);
            statusCode = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                error = $"HTTP {statusCode}";
            }
        }
        catch (HttpRequestException e)
        {
            error = e.Message;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            error = $"No answer within {settings.RequestTimeout.TotalSeconds:0.#} s";
        }

        var now = time.GetUtcNow();
        var dead = error is not null && delivery.Attempt >= settings.MaxAttempts;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO webhook_delivery_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms)
            VALUES (@DeliveryId, @Attempt, @Now, @StatusCode, @Error, @DurationMs)
            ON CONFLICT (delivery_id, attempt) DO NOTHING;
            UPDATE webhook_deliveries
            SET status = CASE WHEN @Error IS NULL THEN 'delivered' WHEN @Dead THEN 'dead' ELSE 'pending' END,
                delivered_at = CASE WHEN @Error IS NULL THEN @Now END,
                next_attempt_at = @NextAttemptAt,
                last_error = @Error
            WHERE id = @DeliveryId AND attempts = @Attempt
            """,
            new
            {
                delivery.DeliveryId,
                delivery.Attempt,
                Now = now,
                StatusCode = statusCode,
                Error = error,
                DurationMs = (int)watch.ElapsedMilliseconds,
                Dead = dead,
                NextAttemptAt = now + RetryDelay(delivery.Attempt, settings),
            },
            transaction,
            cancellationToken: ct));
        await transaction.CommitAsync(ct);
    }

    private static TimeSpan RetryDelay(int attempt, WebhookDispatcherOptions settings)
    {
        var exponential = settings.FirstRetryDelay * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = exponential < settings.MaxRetryDelay ? exponential : settings.MaxRetryDelay;
        // ±20% jitter spreads the retries of many deliveries that failed together (a subscriber outage).
        return capped * (RandomNumberGenerator.GetInt32(800, 1201) / 1000.0);
    }

    private sealed record Claimed(
        long DeliveryId, int Attempt, Guid EventId, string EventType, string AggregateType, string AggregateId, string Payload, DateTime OccurredAt, string Url, string Secret);
}

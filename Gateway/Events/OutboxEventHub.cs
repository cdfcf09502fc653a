using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using Stateset.Database;

namespace Stateset.Gateway.Events;

/// <summary>
/// The gateway instance's one <c>LISTEN outbox</c> connection, fanned out to its event-stream subscribers.
/// Every instance listens, so any instance can serve any stream. A subscriber that falls behind, or that was
/// connected while the listener was down, is ended rather than silently skipped: its client reconnects with
/// Last-Event-ID and catches up from the table. It also caps how many streams one key, and the instance, may hold.
/// </summary>
public sealed class OutboxEventHub(NpgsqlDataSource database, IOptions<EventStreamLimits> limits, ILogger<OutboxEventHub> logger) : BackgroundService
{
    /// <summary>The listener connection's <c>application_name</c> in PostgreSQL.</summary>
    public const string ListenerName = "stateset-gateway outbox listener";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan ListenerCheckInterval = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<EventSubscription, byte> _subscriptions = new();
    private readonly Lock _admission = new();
    private readonly Channel<string> _notifications = Channel.CreateUnbounded<string>(new() { SingleReader = true });
    private volatile TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Gets how many streams this instance is serving.</summary>
    public int SubscriberCount => _subscriptions.Count;

    /// <summary>Subscribes <paramref name="apiKey"/> to live events once the listener is up; dispose the subscription to leave.</summary>
    /// <exception cref="TimeoutException">The listener is not connected (PostgreSQL unreachable).</exception>
    /// <exception cref="EventStreamLimitException">The key, or this instance, already holds as many streams as allowed.</exception>
    public async Task<EventSubscription> SubscribeAsync(EventStreamFilter filter, string apiKey, CancellationToken ct)
    {
        await _listening.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
        var (perKey, total) = (limits.Value.MaxStreamsPerKey, limits.Value.MaxStreams);
        lock (_admission)
        {
            // The open subscriptions are the count, with no counter beside them to drift: however a stream ends
            // (client gone, listener lost, gateway stopping), disposing its subscription frees the slot.
            var open = _subscriptions.Keys;
            if (open.Count(s => s.ApiKey == apiKey) >= perKey)
            {
                throw new EventStreamLimitException($"This key may keep {perKey} event streams open at once; close one before opening another.");
            }

            if (open.Count >= total)
            {
                throw new EventStreamLimitException($"This gateway instance serves at most {total} event streams at once; retry shortly.");
            }

            var subscription = new EventSubscription(filter, apiKey, s => _subscriptions.TryRemove(s, out _));
            _subscriptions.TryAdd(subscription, 0);
            return subscription;
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var dispatching = DispatchAsync(stoppingToken);
        try
        {
            await ListenAsync(stoppingToken);
        }
        finally
        {
            _notifications.Writer.TryComplete();
            await dispatching;
            EndAll();
        }
    }

    // Pooled connections are not reset on return (see AddCommerceDatabase): one still listening would collect
    // every outbox notification for whoever borrows it next, under the listener's name. A broken connection is
    // discarded by the pool anyway.
    private static async Task UnlistenAsync(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var unlisten = new NpgsqlCommand("UNLISTEN *; RESET application_name", connection);
            await unlisten.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
        {
            // Broken mid-way: the pool will not hand it out again.
        }
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var retryDelay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => _notifications.Writer.TryWrite(e.Payload);
                try
                {
                    // Named so that whoever looks at pg_stat_activity can tell the listener from the pooled connections.
                    await using (var listen = new NpgsqlCommand($"SET application_name = '{ListenerName}'; LISTEN outbox", connection))
                    {
                        await listen.ExecuteNonQueryAsync(stoppingToken);
                    }

                    _listening.TrySetResult();
                    retryDelay = TimeSpan.FromSeconds(1);
                    while (true)
                    {
                        // A quiet connection may have died without telling us; asking it something proves it is alive.
                        if (!await connection.WaitAsync(ListenerCheckInterval, stoppingToken))
                        {
                            using var untraced = UntracedStatements.Begin();
                            await using var ping = new NpgsqlCommand("SELECT 1", connection);
                            await ping.ExecuteScalarAsync(stoppingToken);
                        }
                    }
                }
                finally
                {
                    await UnlistenAsync(connection);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                logger.LogWarning(e, "The outbox listener lost PostgreSQL; event streams end and resume from the table. Retrying in {Delay}.", retryDelay);
                if (_listening.Task.IsCompleted)
                {
                    _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                EndAll();
                try
                {
                    await Task.Delay(retryDelay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    private async Task DispatchAsync(CancellationToken stoppingToken)
    {
        var wanted = new List<Guid>();
        while (await _notifications.Reader.WaitToReadAsync(CancellationToken.None))
        {
            wanted.Clear();
            while (wanted.Count < 500 && _notifications.Reader.TryRead(out var raw))
            {
                if (Parse(raw) is { } notice && _subscriptions.Keys.Any(s => s.Filter.Matches(notice.AggregateType, notice.AggregateId, notice.EventType)))
                {
                    wanted.Add(notice.Id);
                }
            }

            if (wanted.Count == 0)
            {
                continue;
            }

            try
            {
                // One read per batch for all subscribers; the notification carries no position or payload.
                foreach (var outboxEvent in await OutboxEventReader.ByIdsAsync(database, [.. wanted], stoppingToken))
                {
                    foreach (var subscription in _subscriptions.Keys)
                    {
                        if (subscription.Filter.Matches(outboxEvent.AggregateType, outboxEvent.AggregateId, outboxEvent.EventType))
                        {
                            subscription.Offer(outboxEvent);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                logger.LogWarning(e, "Reading notified outbox events failed; event streams end and resume from the table.");
                EndAll();
            }
        }
    }

    private Notice? Parse(string raw)
    {
        try
        {
            return JsonSerializer.Deserialize<Notice>(raw, Json);
        }
        catch (JsonException e)
        {
            logger.LogWarning(e, "Ignoring an unreadable outbox notification.");
            return null;
        }
    }

    private void EndAll()
    {
        foreach (var subscription in _subscriptions.Keys)
        {
            subscription.End();
        }
    }

    private sealed record Notice(Guid Id, string AggregateType, string AggregateId, string EventType);
}

/// <summary>One stream's live events; ends when the stream must resume from the table instead.</summary>
public sealed class EventSubscription : IDisposable
{
    // Enough for bursts; a client slower than this is better served by a reconnect that replays from the table.
    private readonly Channel<OutboxEvent> _events = Channel.CreateBounded<OutboxEvent>(new BoundedChannelOptions(1000) { SingleReader = true });
    private readonly Action<EventSubscription> _remove;

    internal EventSubscription(EventStreamFilter filter, string apiKey, Action<EventSubscription> remove)
    {
        Filter = filter;
        ApiKey = apiKey;
        _remove = remove;
    }

    /// <summary>Gets what the stream wants.</summary>
    public EventStreamFilter Filter { get; }

    /// <summary>Gets the public prefix of the API key that opened the stream.</summary>
    public string ApiKey { get; }

    /// <summary>Gets the live events; completes when the stream should end.</summary>
    public ChannelReader<OutboxEvent> Events => _events.Reader;

    /// <inheritdoc />
    public void Dispose()
    {
        _remove(this);
        _events.Writer.TryComplete();
    }

    internal void Offer(OutboxEvent outboxEvent)
    {
        if (!_events.Writer.TryWrite(outboxEvent))
        {
            _events.Writer.TryComplete();
        }
    }

    internal void End() => _events.Writer.TryComplete();
}

/// <summary>Registers the outbox event hub.</summary>
public static class EventStreamExtensions
{
    /// <summary>Adds the hub that feeds the gateway's Server-Sent-Events streams from <c>LISTEN outbox</c>.</summary>
    public static IServiceCollection AddOutboxEventStreams(this IServiceCollection services)
    {
        services.AddOptions<EventStreamLimits>()
            .BindConfiguration(EventStreamLimits.Section)
            .Validate(l => l.MaxStreamsPerKey > 0 && l.MaxStreams > 0, $"{EventStreamLimits.Section}:MaxStreamsPerKey and MaxStreams must be positive.")
            .ValidateOnStart();
        services.AddSingleton<OutboxEventHub>();
        services.AddHostedService(provider => provider.GetRequiredService<OutboxEventHub>());
        return services;
    }
}

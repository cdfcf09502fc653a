using System.Text.Json;
using Dapper;
using Npgsql;

namespace Stateset.Activities.Outbox;

/// <summary>
/// Writes domain events into <c>outbox_events</c> inside the caller's transaction, so an event exists exactly
/// when the state change it describes committed. Delivery (webhooks, SSE) happens later from the table.
/// </summary>
public static class OutboxWriter
{
    /// <summary>Gets the JSON settings of event payloads (camelCase, as webhook consumers expect).</summary>
    public static JsonSerializerOptions PayloadJson { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>Appends one event and returns its id (consumers deduplicate on it).</summary>
    /// <param name="transaction">The transaction of the state change; the event commits or rolls back with it.</param>
    /// <param name="aggregateType">What kind of record changed: order, payment, refund, return, inventory, workflow.</param>
    /// <param name="aggregateId">Which one.</param>
    /// <param name="eventType">Dotted past-tense name, e.g. <c>payment.authorized</c>.</param>
    /// <param name="payload">Serialised as the event's JSON data.</param>
    /// <param name="ct">Cancels the insert.</param>
    public static async Task<Guid> AppendAsync(
        NpgsqlTransaction transaction,
        string aggregateType,
        string aggregateId,
        string eventType,
        object payload,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var id = Guid.CreateVersion7();
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload)
            VALUES (@Id, @AggregateType, @AggregateId, @EventType, @Payload::jsonb)
            """,
            new { Id = id, AggregateType = aggregateType, AggregateId = aggregateId, EventType = eventType, Payload = JsonSerializer.Serialize(payload, PayloadJson) },
            transaction,
            cancellationToken: ct));
        return id;
    }

    /// <summary>
    /// Runs <paramref name="change"/>, a data-modifying statement with a <c>RETURNING</c> clause, and appends the event
    /// only when it returned a row: one round trip instead of two for a change that may turn out to be a no-op (a
    /// retried or out-of-order write).
    /// </summary>
    /// <returns>Whether the change wrote a row (and so the event exists).</returns>
    public static async Task<bool> AppendIfChangedAsync(
        NpgsqlTransaction transaction,
        string change,
        object changeParameters,
        string aggregateType,
        string aggregateId,
        string eventType,
        object payload,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var parameters = new DynamicParameters(changeParameters);
        parameters.AddDynamicParams(new
        {
            OutboxId = Guid.CreateVersion7(),
            OutboxAggregateType = aggregateType,
            OutboxAggregateId = aggregateId,
            OutboxEventType = eventType,
            OutboxPayload = JsonSerializer.Serialize(payload, PayloadJson),
        });
        var appended = await transaction.Connection!.ExecuteAsync(new CommandDefinition(
            $"""
            WITH changed AS ({change})
            INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload)
            SELECT @OutboxId, @OutboxAggregateType, @OutboxAggregateId, @OutboxEventType, @OutboxPayload::jsonb FROM changed LIMIT 1
            """,
            parameters,
            transaction,
            cancellationToken: ct));
        return appended > 0;
    }
}

using Dapper;
using Npgsql;

namespace Stateset.Gateway.Events;

/// <summary>An outbox row as event streams send it; <see cref="Position"/> is the stream's resumable event id.</summary>
public sealed record OutboxEvent(Guid Id, long Position, string AggregateType, string AggregateId, string EventType, DateTime OccurredAt, string PayloadJson);

/// <summary>
/// Which outbox events a stream wants: events of the listed aggregates (types and ids pair up by index) and
/// events of the listed types whatever their aggregate; or, with <paramref name="Everything"/>, every event.
/// </summary>
public sealed record EventStreamFilter(string[] AggregateTypes, string[] AggregateIds, string[] EventTypes, bool Everything = false)
{
    /// <summary>Gets the filter of a resource's stream, or null for an unknown resource.</summary>
    /// <remarks>
    /// Status changes arrive as <c>workflow.updated</c> on the run's workflow id (order-…, refund-…, rma-…,
    /// label-…); the business records' own events use the business id (payments use <c>{orderId}:payment</c>).
    /// </remarks>
    public static EventStreamFilter? ForResource(string resource, string id) => resource switch
    {
        "orders" => new(["workflow", "order", "payment"], [$"order-{id}", id, $"{id}:payment"], []),
        "refunds" => new(["workflow", "refund"], [$"refund-{id}", id], []),
        "returns" => new(["workflow", "return"], [$"rma-{id}", id], []),
        "labels" => new(["workflow", "shipment", "label"], [$"label-{id}", id, id], []),
        _ => null,
    };

    /// <summary>Gets the filter of the operators' approvals stream.</summary>
    public static EventStreamFilter Approvals { get; } = new([], [], ["approval.requested", "approval.decided"]);

    /// <summary>Gets the filter of the operators' whole feed: every event of every aggregate.</summary>
    public static EventStreamFilter All { get; } = new([], [], [], Everything: true);

    /// <summary>Whether an event belongs to this stream.</summary>
    public bool Matches(string aggregateType, string aggregateId, string eventType)
    {
        if (Everything)
        {
            return true;
        }

        for (var i = 0; i < AggregateTypes.Length; i++)
        {
            if (AggregateTypes[i] == aggregateType && AggregateIds[i] == aggregateId)
            {
                return true;
            }
        }

        return EventTypes.Contains(eventType);
    }
}

/// <summary>Reads outbox rows for event streams.</summary>
internal static class OutboxEventReader
{
    private const string Columns =
        """
        SELECT id AS Id, position AS Position, aggregate_type AS AggregateType, aggregate_id AS AggregateId,
               event_type AS EventType, occurred_at AS OccurredAt, payload::text AS PayloadJson
        FROM outbox_events
        """;

    /// <summary>The events with these ids, in position order.</summary>
    public static async Task<List<OutboxEvent>> ByIdsAsync(NpgsqlDataSource database, Guid[] ids, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var events = await connection.QueryAsync<OutboxEvent>(new CommandDefinition(
            $"{Columns} WHERE id = ANY (@ids) ORDER BY position", new { ids }, cancellationToken: ct));
        return events.AsList();
    }

    /// <summary>A stream's events after a position, in position order: what a reconnecting client missed.</summary>
    public static async Task<List<OutboxEvent>> AfterAsync(NpgsqlDataSource database, EventStreamFilter filter, long after, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var events = await connection.QueryAsync<OutboxEvent>(new CommandDefinition(
            $"""
            {Columns}
            WHERE position > @after
              AND (@everything
                   OR (aggregate_type, aggregate_id) IN (SELECT t, i FROM unnest(@types::text[], @ids::text[]) AS a (t, i))
                   OR event_type = ANY (@eventTypes))
            ORDER BY position
            LIMIT @limit
            """,
            new { after, everything = filter.Everything, types = filter.AggregateTypes, ids = filter.AggregateIds, eventTypes = filter.EventTypes, limit },
            cancellationToken: ct));
        return events.AsList();
    }
}

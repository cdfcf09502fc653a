using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Gateway.Security;

namespace Stateset.Gateway.Apis;

/// <summary>Subscribe a URL to outbox events; no event types means every event.</summary>
public sealed record CreateWebhookSubscriptionRequest(string? Url, IReadOnlyList<string>? EventTypes);

/// <summary>A webhook subscription, without its signing secret.</summary>
public sealed record WebhookSubscription(Guid Id, string Url, string[] EventTypes, bool Active, DateTime CreatedAt);

/// <summary>A new subscription; <see cref="Secret"/> signs its deliveries and is shown only in this response.</summary>
public sealed record CreatedWebhookSubscription(Guid Id, string Url, string[] EventTypes, bool Active, DateTime CreatedAt, string Secret);

/// <summary>One HTTP attempt to deliver an event.</summary>
public sealed record WebhookDeliveryAttempt(int Attempt, DateTime AttemptedAt, int? StatusCode, string? Error, int DurationMs);

/// <summary>One event's delivery to a subscription, with every attempt made so far.</summary>
public sealed record WebhookDelivery(
    long Id,
    Guid EventId,
    string EventType,
    string Status,
    int Attempts,
    DateTime NextAttemptAt,
    DateTime? LastAttemptAt,
    DateTime? DeliveredAt,
    string? LastError,
    IReadOnlyList<WebhookDeliveryAttempt> AttemptLog);

/// <summary>Webhook subscriptions to the outbox and their delivery log (admin scope).</summary>
public static partial class WebhookSubscriptionsApi
{
    /// <summary>Event families the outbox writes; a subscription naming anything else would never fire.</summary>
    private static readonly string[] EventFamilies = ["approval", "inventory", "label", "notification", "order", "payment", "refund", "return", "shipment", "workflow"];

    /// <summary>Maps <c>/webhook-subscriptions</c>.</summary>
    public static RouteGroupBuilder MapWebhookSubscriptionsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/webhook-subscriptions")
            .WithTags("Webhook subscriptions")
            .RequireAuthorization(ApiScopes.Admin)
            .RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        group.MapPost("/", CreateAsync)
            .WithName("CreateWebhookSubscription")
            .WithSummary("Subscribes a URL to outbox events; the response is the only time the signing secret is shown.");
        group.MapGet("/", ListAsync)
            .WithName("ListWebhookSubscriptions")
            .WithSummary("Lists active subscriptions (never their secrets).");
        group.MapDelete("/{id:guid}", DeleteAsync)
            .WithName("DeleteWebhookSubscription")
            .WithSummary("Stops a subscription; its delivery log stays readable.");
        group.MapGet("/{id:guid}/deliveries", DeliveriesAsync)
            .WithName("ListWebhookDeliveries")
            .WithSummary("Lists a subscription's deliveries, newest first, each with its HTTP attempts.");
        return group;
    }

    private static async Task<Results<Created<CreatedWebhookSubscription>, ValidationProblem>> CreateAsync(
        CreateWebhookSubscriptionRequest request, NpgsqlDataSource database, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Url is not { Length: <= 2000 }
            || !Uri.TryCreate(request.Url, UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(url.UserInfo))
        {
            errors["url"] = ["url must be an absolute http or https URL of at most 2000 characters, without credentials."];
        }

        var eventTypes = request.EventTypes?.Distinct(StringComparer.Ordinal).ToArray() ?? [];
        var unknown = eventTypes.Where(t => !IsEventType(t)).ToList();
        if (eventTypes.Length > 50 || unknown.Count > 0)
        {
            errors["eventTypes"] =
            [
                $"eventTypes holds at most 50 names like order.placed or payment.captured, of the families {string.Join(", ", EventFamilies)}"
                + (unknown.Count > 0 ? $"; not event types: {string.Join(", ", unknown.Take(5))}." : "."),
            ];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await using var connection = await database.OpenConnectionAsync(ct);
        var created = await connection.QuerySingleAsync<SubscriptionRow>(new CommandDefinition(
            """
            INSERT INTO webhook_subscriptions (url, secret, event_types)
            VALUES (@Url, @Secret, @EventTypes)
            RETURNING id AS Id, url AS Url, event_types AS EventTypes, active AS Active, created_at AS CreatedAt
            """,
            new { request.Url, Secret = secret, EventTypes = eventTypes },
            cancellationToken: ct));
        return TypedResults.Created(
            $"/webhook-subscriptions/{created.Id}",
            new CreatedWebhookSubscription(created.Id, created.Url, created.EventTypes, created.Active, created.CreatedAt, secret));
    }

    private static async Task<Ok<List<WebhookSubscription>>> ListAsync(NpgsqlDataSource database, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var subscriptions = await connection.QueryAsync<SubscriptionRow>(new CommandDefinition(
            """
            SELECT id AS Id, url AS Url, event_types AS EventTypes, active AS Active, created_at AS CreatedAt
            FROM webhook_subscriptions WHERE active ORDER BY created_at DESC, id
            """,
            cancellationToken: ct));
        return TypedResults.Ok(subscriptions.Select(s => new WebhookSubscription(s.Id, s.Url, s.EventTypes, s.Active, s.CreatedAt)).ToList());
    }

    // Deliveries reference their subscription, and operators need the log after a subscriber is gone, so a
    // delete deactivates: the enqueue trigger skips inactive subscriptions.
    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, NpgsqlDataSource database, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var found = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE webhook_subscriptions SET active = false WHERE id = @id AND active", new { id }, cancellationToken: ct));
        return found > 0 ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    private static async Task<Results<Ok<PagedList<WebhookDelivery>>, NotFound, ValidationProblem>> DeliveriesAsync(
        Guid id, string? page, string? pageSize, NpgsqlDataSource database, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var (pageNumber, size) = QueryParameters.Paging(page, pageSize, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = @id)", new { id }, cancellationToken: ct));
        if (!exists)
        {
            return TypedResults.NotFound();
        }

        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = @id", new { id }, cancellationToken: ct));
        var deliveries = (await connection.QueryAsync<DeliveryRow>(new CommandDefinition(
            """
            SELECT d.id AS Id, d.event_id AS EventId, e.event_type AS EventType, d.status AS Status, d.attempts AS Attempts,
                   d.next_attempt_at AS NextAttemptAt, d.last_attempt_at AS LastAttemptAt, d.delivered_at AS DeliveredAt,
                   d.last_error AS LastError
            FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id
            WHERE d.subscription_id = @id
            ORDER BY d.id DESC
            LIMIT @Limit OFFSET @Offset
            """,
            new { id, Limit = size, Offset = (pageNumber - 1) * size },
            cancellationToken: ct))).AsList();
        var attempts = (await connection.QueryAsync<AttemptRow>(new CommandDefinition(
            """
            SELECT delivery_id AS DeliveryId, attempt AS Attempt, attempted_at AS AttemptedAt, status_code AS StatusCode,
                   error AS Error, duration_ms AS DurationMs
            FROM webhook_delivery_attempts WHERE delivery_id = ANY (@ids) ORDER BY delivery_id, attempt
            """,
            new { ids = deliveries.Select(d => d.Id).ToArray() },
            cancellationToken: ct))).ToLookup(a => a.DeliveryId);
        var items = deliveries.Select(d => new WebhookDelivery(
            d.Id,
            d.EventId,
            d.EventType,
            d.Status,
            d.Attempts,
            d.NextAttemptAt,
            d.LastAttemptAt,
            d.DeliveredAt,
            d.LastError,
            attempts[d.Id].Select(a => new WebhookDeliveryAttempt(a.Attempt, a.AttemptedAt, a.StatusCode, a.Error, a.DurationMs)).ToList())).ToList();
        return TypedResults.Ok(new PagedList<WebhookDelivery>(items, pageNumber, size, total));
    }

    private static bool IsEventType(string name)
    {
        var match = EventTypeShape().Match(name);
        return match.Success && EventFamilies.Contains(match.Groups[1].Value);
    }

    [GeneratedRegex("^([a-z]+)\\.[a-z_]{1,60}$")]
    private static partial Regex EventTypeShape();

    // Npgsql reports array columns as System.Array, which Dapper cannot match to a record constructor's string[].
    private sealed class SubscriptionRow
    {
        public Guid Id { get; init; }

        public string Url { get; init; } = string.Empty;

        public string[] EventTypes { get; init; } = [];

        public bool Active { get; init; }

        public DateTime CreatedAt { get; init; }
    }

    private sealed record DeliveryRow(
        long Id, Guid EventId, string EventType, string Status, int Attempts, DateTime NextAttemptAt, DateTime? LastAttemptAt, DateTime? DeliveredAt, string? LastError);

    private sealed record AttemptRow(long DeliveryId, int Attempt, DateTime AttemptedAt, int? StatusCode, string? Error, int DurationMs);
}

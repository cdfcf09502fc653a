using System.Globalization;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;
using Stateset.Activities.Outbox;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Activities.Notifications;

/// <summary>
/// Customer emails as records: rendered from a template, stored once per idempotency key, and announced with a
/// <c>notification.email_requested</c> outbox event that a mail relay (or a webhook subscriber) would deliver.
/// The workflow passes ids; the facts an email quotes (order total, carrier and tracking number, RMA number,
/// refund amount) are read here from the records, so every workflow's emails say the same thing the database does.
/// </summary>
public sealed partial class NotificationActivities(NpgsqlDataSource dataSource) : INotificationActivities
{
    /// <summary>
    /// The templates. <c>{key}</c> is filled from the notification's data and the looked-up facts; a <c>[clause]</c>
    /// is written only when every key inside it is known, so a missing fact drops a phrase instead of leaving a hole.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (string Subject, string Body)> Templates = new Dictionary<string, (string, string)>(StringComparer.Ordinal)
    {
        ["order_confirmed"] = ("Order {orderId} confirmed", "Hi {name},\n\nThanks for your order {orderId}[ of {orderTotal}]. We will tell you when it ships."),
        ["order_shipped"] = ("Order {orderId} has shipped", "Hi {name},\n\nYour order {orderId} is on its way[ with {carrier}][, tracking number {trackingNumber}]."),
        ["order_cancelled"] = ("Order {orderId} cancelled", "Hi {name},\n\nYour order {orderId} was cancelled[: {reason}]. Any payment hold has been released."),
        ["refund_issued"] = ("Your refund[ of {amount}] is on its way", "Hi {name},\n\nWe refunded[ {amount}][ for order {orderId}]. It can take 5-10 days to appear on your statement."),
        ["return_approved"] = ("Your return[ {rmaNumber}] is approved", "Hi {name},\n\nYour return[ {rmaNumber}][ for order {orderId}] is approved. Use the enclosed label to send it back."),
        ["return_rejected"] = ("Your return[ for order {orderId}] was not accepted", "Hi {name},\n\nWe could not accept your return[ {rmaNumber}][: {reason}]."),
        ["approval_needed"] = ("Your order[ {orderId}] is being reviewed", "Hi {name},\n\nYour order[ {orderId}] needs a quick review before we ship it. No action is needed."),
    };

    /// <inheritdoc />
    [Activity]
    public async Task<bool> NotifyCustomerAsync(CustomerNotification notification)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var inserted = await WriteAsync(transaction, notification, ct);
        await transaction.CommitAsync(ct);
        return inserted;
    }

    /// <summary>
    /// Renders and records the email inside the caller's transaction, once per idempotency key, with its
    /// <c>notification.email_requested</c> event; the facts it quotes are read in the same transaction.
    /// </summary>
    /// <returns>True when this call recorded it, false when it was already recorded.</returns>
    internal static async Task<bool> WriteAsync(NpgsqlTransaction transaction, CustomerNotification notification, CancellationToken ct)
    {
        BusinessFailure.RequireId(notification.IdempotencyKey, "Idempotency key");
        BusinessFailure.RequireId(notification.CustomerId, "Customer id");
        if (!Templates.TryGetValue(notification.Template, out var template))
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"Unknown notification template '{notification.Template}'; expected one of {string.Join(", ", Templates.Keys)}.");
        }

        var connection = transaction.Connection!;
        var customer = await connection.QueryFirstOrDefaultAsync<(string Email, string Name)>(new CommandDefinition(
            "SELECT email, name FROM customers WHERE id = @CustomerId", new { notification.CustomerId }, transaction, cancellationToken: ct));
        if (customer.Email is null)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Customer {notification.CustomerId} does not exist.");
        }

        var data = (notification.Data ?? new Dictionary<string, string>())
            .Where(field => !string.IsNullOrWhiteSpace(field.Value))
            .ToDictionary(field => field.Key, field => field.Value, StringComparer.Ordinal);
        data["name"] = customer.Name;
        await AddFactsAsync(transaction, data, ct);

        var email = new
        {
            Id = Guid.CreateVersion7(),
            notification.IdempotencyKey,
            notification.CustomerId,
            Recipient = customer.Email,
            notification.Template,
            Subject = Render(template.Subject, data),
            Body = Render(template.Body, data),
        };
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO notifications (id, idempotency_key, customer_id, recipient, template, subject, body)
            VALUES (@Id, @IdempotencyKey, @CustomerId, @Recipient, @Template, @Subject, @Body)
            ON CONFLICT (idempotency_key) DO NOTHING
            """,
            email,
            transaction,
            cancellationToken: ct));
        if (inserted == 1)
        {
            await OutboxWriter.AppendAsync(transaction, "customer", notification.CustomerId, "notification.email_requested", email, ct);
        }

        return inserted == 1;
    }

    /// <summary>Fills a template: clauses whose keys are all known are kept, the others dropped, then keys replaced.</summary>
    public static string Render(string text, IReadOnlyDictionary<string, string> data)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(data);
        var clauses = Clause().Replace(text, clause =>
            Placeholder().Matches(clause.Groups[1].Value).All(key => data.ContainsKey(key.Groups[1].Value)) ? clause.Groups[1].Value : string.Empty);
        return Placeholder().Replace(clauses, key => data.GetValueOrDefault(key.Groups[1].Value, string.Empty));
    }

    private static string Format(decimal amount, string currency) =>
        $"{Money.Round(amount, currency).ToString("F" + Money.MinorDigits(currency), CultureInfo.InvariantCulture)} {currency}";

    private static async Task AddFactsAsync(NpgsqlTransaction transaction, Dictionary<string, string> data, CancellationToken ct)
    {
        var connection = transaction.Connection!;
        if (data.TryGetValue("returnId", out var returnId))
        {
            var found = await connection.QueryFirstOrDefaultAsync<(string OrderId, string RmaNumber)>(new CommandDefinition(
                "SELECT order_id, rma_number FROM returns WHERE id = @ReturnId", new { ReturnId = returnId }, transaction, cancellationToken: ct));
            if (found.OrderId is not null)
            {
                data.TryAdd("orderId", found.OrderId);
                data.TryAdd("rmaNumber", found.RmaNumber);
            }
        }

        if (data.TryGetValue("refundId", out var refundId))
        {
            var refund = await connection.QueryFirstOrDefaultAsync<(string OrderId, decimal Amount, string Currency)>(new CommandDefinition(
                "SELECT order_id, amount, currency FROM refunds WHERE id = @RefundId", new { RefundId = refundId }, transaction, cancellationToken: ct));
            if (refund.OrderId is not null)
            {
                data.TryAdd("orderId", refund.OrderId);
                data["amount"] = Format(refund.Amount, refund.Currency);
            }
        }

        if (data.TryGetValue("orderId", out var orderId))
        {
            var order = await connection.QueryFirstOrDefaultAsync<(decimal Total, string Currency)>(new CommandDefinition(
                "SELECT total, currency FROM orders WHERE id = @OrderId", new { OrderId = orderId }, transaction, cancellationToken: ct));
            if (order.Currency is not null)
            {
                data.TryAdd("orderTotal", Format(order.Total, order.Currency));
            }

            var label = await connection.QueryFirstOrDefaultAsync<(string Carrier, string TrackingNumber)>(new CommandDefinition(
                """
                SELECT l.carrier, l.tracking_number FROM labels l JOIN shipments s ON s.id = l.shipment_id
                WHERE s.order_id = @OrderId AND s.direction = 'outbound' AND NOT l.voided
                ORDER BY l.created_at DESC LIMIT 1
                """,
                new { OrderId = orderId },
                transaction,
                cancellationToken: ct));
            if (label.Carrier is not null)
            {
                data.TryAdd("carrier", label.Carrier);
                data.TryAdd("trackingNumber", label.TrackingNumber);
            }
        }
    }

    [GeneratedRegex(@"\[([^\[\]]*)\]")]
    private static partial Regex Clause();

    [GeneratedRegex(@"\{([A-Za-z0-9_]+)\}")]
    private static partial Regex Placeholder();
}

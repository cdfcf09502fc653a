using Dapper;
using Npgsql;
using Stateset.Activities.Outbox;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Activities.Notifications;

/// <summary>
/// Customer emails as records: rendered from a template, stored once per idempotency key, and announced with a
/// <c>notification.email_requested</c> outbox event that a mail relay (or a webhook subscriber) would deliver.
/// </summary>
public sealed class NotificationActivities(NpgsqlDataSource dataSource) : INotificationActivities
{
    /// <summary>The templates: subject and body with <c>{placeholders}</c> filled from the notification's data and the customer.</summary>
    public static readonly IReadOnlyDictionary<string, (string Subject, string Body)> Templates = new Dictionary<string, (string, string)>(StringComparer.Ordinal)
    {
        ["order_confirmed"] = ("Order {orderId} confirmed", "Hi {name},\n\nThanks for your order {orderId} of {amount} {currency}. We will tell you when it ships."),
        ["order_shipped"] = ("Order {orderId} has shipped", "Hi {name},\n\nYour order {orderId} is on its way with {carrier}, tracking number {trackingNumber}."),
        ["order_cancelled"] = ("Order {orderId} cancelled", "Hi {name},\n\nYour order {orderId} was cancelled: {reason}. Any payment hold has been released."),
        ["refund_issued"] = ("Refund of {amount} {currency} issued", "Hi {name},\n\nWe refunded {amount} {currency} for order {orderId}. It can take 5-10 days to appear."),
        ["return_approved"] = ("Return {rmaNumber} approved", "Hi {name},\n\nYour return {rmaNumber} for order {orderId} is approved. Use the enclosed label to send it back."),
        ["return_rejected"] = ("Return for order {orderId} not accepted", "Hi {name},\n\nWe could not accept your return for order {orderId}: {reason}."),
        ["approval_needed"] = ("Order {orderId} is being reviewed", "Hi {name},\n\nYour order {orderId} needs a quick review before we ship it. No action is needed."),
    };

    /// <inheritdoc />
    [Activity]
    public async Task<bool> NotifyCustomerAsync(CustomerNotification notification)
    {
        ArgumentNullException.ThrowIfNull(notification);
        BusinessFailure.RequireId(notification.IdempotencyKey, "Idempotency key");
        BusinessFailure.RequireId(notification.CustomerId, "Customer id");
        if (!Templates.TryGetValue(notification.Template, out var template))
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"Unknown notification template '{notification.Template}'; expected one of {string.Join(", ", Templates.Keys)}.");
        }

        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var customer = await connection.QueryFirstOrDefaultAsync<(string Email, string Name)>(new CommandDefinition(
            "SELECT email, name FROM customers WHERE id = @CustomerId", new { notification.CustomerId }, transaction, cancellationToken: ct));
        if (customer.Email is null)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Customer {notification.CustomerId} does not exist.");
        }

        var data = new Dictionary<string, string>(notification.Data ?? new Dictionary<string, string>(), StringComparer.Ordinal) { ["name"] = customer.Name };
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

        await transaction.CommitAsync(ct);
        return inserted == 1;
    }

    private static string Render(string text, IReadOnlyDictionary<string, string> data) =>
        data.Aggregate(text, (rendered, field) => rendered.Replace("{" + field.Key + "}", field.Value, StringComparison.Ordinal));
}

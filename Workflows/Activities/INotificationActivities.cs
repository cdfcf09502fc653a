using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>
/// An email to a customer, rendered from a template. <paramref name="IdempotencyKey"/> (e.g. <c>order-1:shipped</c>)
/// makes a retried notification a no-op.
/// </summary>
/// <remarks>
/// <para><c>Template</c>: order_confirmed, order_shipped, order_cancelled, refund_issued, return_approved, return_rejected, approval_needed.</para>
/// </remarks>
public sealed record CustomerNotification(string IdempotencyKey, string CustomerId, string Template, IReadOnlyDictionary<string, string> Data);

/// <summary>Customer notifications, written as email-shaped records with an outbox event (no SMTP here).</summary>
public interface INotificationActivities
{
    /// <summary>Renders and records the email once per key and writes <c>notification.email_requested</c>.</summary>
    /// <returns>True when this call recorded it, false when it was already recorded.</returns>
    [Activity]
    Task<bool> NotifyCustomerAsync(CustomerNotification notification);
}

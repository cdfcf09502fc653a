using Npgsql;
using Stateset.Activities.Notifications;
using Stateset.Activities.Orders;
using Stateset.Activities.ReadModels;
using Stateset.Activities.Returns;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Steps;

/// <summary>
/// Writes a step's <see cref="StepRecord"/> inside the transaction of the step's own rows, after them: the order's
/// status moves (each with its <c>order.status_changed</c>), the return's (each with its <c>return.status_changed</c>),
/// the customer email (with <c>notification.email_requested</c>, rendered from the rows the step just wrote) and last
/// the run's read-model row (with <c>workflow.updated</c>). Every part guards itself, so writing a record twice (a
/// retried attempt) writes nothing the second time.
/// </summary>
public static class StepRecordWriter
{
    /// <summary>Writes <paramref name="record"/> (nothing when null) in <paramref name="transaction"/>; the caller commits.</summary>
    public static async Task ApplyAsync(NpgsqlTransaction transaction, StepRecord? record, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (record is null)
        {
            return;
        }

        foreach (var status in record.OrderStatuses ?? [])
        {
            await OrderActivities.MoveStatusAsync(transaction, status, ct);
        }

        foreach (var status in record.ReturnStatuses ?? [])
        {
            await ReturnActivities.MoveStatusAsync(transaction, status, ct);
        }

        if (record.Notification is { } notification)
        {
            await NotificationActivities.WriteAsync(transaction, notification, ct);
        }

        if (record.Run is { } run)
        {
            await ReadModelActivities.UpsertRunAsync(transaction, run, ct);
        }
    }
}

namespace Stateset.Workflows.Activities;

/// <summary>
/// What a business step records besides its own rows, written by the step's activity in the same PostgreSQL
/// transaction as those rows (a transactional outbox): the order's or the return's status moves, a customer email, and the run's
/// read-model row with its status view. Each part, like its events, exists exactly when the step's change does, and
/// each is idempotent on its own (a status names the statuses it may come from, the email its key, the row its
/// version), so an attempt retried after the commit doubles nothing.
/// </summary>
/// <remarks>
/// <para><c>Run</c>: The read-model write the run's recorder would otherwise have made as an activity of its own.</para>
/// <para><c>OrderStatuses</c>: Status moves of the order, applied in turn (delivered then completed).</para>
/// <para><c>ReturnStatuses</c>: Status moves of the return, applied in turn (refunded then closed).</para>
/// <para><c>Notification</c>: The customer email the step announces, rendered from the rows as they stand after it.</para>
/// </remarks>
public sealed record StepRecord(
    WorkflowRunUpdate? Run = null,
    IReadOnlyList<UpdateOrderStatusInput>? OrderStatuses = null,
    CustomerNotification? Notification = null,
    IReadOnlyList<UpdateReturnStatusInput>? ReturnStatuses = null);

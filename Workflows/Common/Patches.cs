namespace Stateset.Workflows.Common;

/// <summary>
/// Ids of <c>Workflow.Patched</c> markers. A run that started before a change replays its old path (its history
/// has no marker); new runs take the new one. A patch is removed only once no run that predates it can still be
/// open, with its stored histories re-recorded.
/// </summary>
public static class Patches
{
    /// <summary>Authorisation as two steps: a short "create at the provider" activity, then the wait for settlement.</summary>
    public const string AuthorizeThenAwaitSettlement = "authorize-then-await-settlement";

    /// <summary>Provider refunds as two steps: a short "create at the provider" activity, then the wait for settlement.</summary>
    public const string RefundThenAwaitSettlement = "refund-then-await-settlement";

    /// <summary>An unwind whose closing writes fail (no order row, a data error) still closes the run and its read model.</summary>
    public const string UnwindClosesDespiteFailedSteps = "unwind-closes-despite-failed-steps";

    /// <summary>A cancel while the label is being bought or printed cancels the label run instead of waiting for it.</summary>
    public const string CancelInterruptsLabel = "cancel-interrupts-label";

    /// <summary>A failed or cancelled label run closes its shipment row as failed or cancelled.</summary>
    public const string LabelClosesFailedShipment = "label-closes-failed-shipment";

    /// <summary>A refund, return or label run that fails for any reason closes its read-model row (creating it if need be) before it ends.</summary>
    public const string FailedRunClosesItsRow = "failed-run-closes-its-row";

    /// <summary>The run writes its status view again where it starts to wait (approval, print station, carrier scans), so SQL readers see what it waits for.</summary>
    public const string StatusViewTracksWaits = "status-view-tracks-waits";

    /// <summary>
    /// A print station's acknowledgement that arrives before the run learned its print job (the station saw the job
    /// in SQL the moment the job's transaction committed) is kept and honoured once the job is known, rather than ignored.
    /// </summary>
    public const string EarlyPrintAcknowledgement = "early-print-acknowledgement";

    /// <summary>
    /// Each business step is one activity whose one transaction also writes what the run used to write with activities
    /// of its own around it: the order's status, the customer email, the read-model row (a transactional outbox, and
    /// about half the Temporal tasks per order). Writes with no business step of their own (the view where a wait
    /// starts) run as local activities. Checked once at the start of a run, so a run takes one path from end to end.
    /// </summary>
    public const string OneTransactionPerStep = "one-transaction-per-step";

    /// <summary>
    /// On the <see cref="OneTransactionPerStep"/> path, the steps that are short transactions on our own PostgreSQL and
    /// call no outside provider (place, reserve, risk, approvals, prepare shipment, commit, record step; the label's
    /// address checks, rendering and print job) run as local activities, so consecutive ones share one workflow task
    /// and each leaves one marker event. Calls to the payment provider and the carriers stay activities: they need
    /// their own timeouts, async completion and retry boundary. Checked once at the start of a run, like
    /// <see cref="OneTransactionPerStep"/>, so a run takes one path from end to end.
    /// </summary>
    public const string DatabaseStepsAsLocalActivities = "database-steps-as-local-activities";
}

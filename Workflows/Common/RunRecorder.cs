using Microsoft.Extensions.Logging;
using Stateset.Workflows.Activities;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Stateset.Workflows.Common;

/// <summary>
/// Keeps the run's outside views current as its status changes: the search attributes the Temporal UI filters
/// on and the run's read-model row in PostgreSQL. The workflow owns the row (not the gateway), so a crash
/// between "start" and "insert" cannot leave the two out of step; the sequence number lets the row ignore a
/// late retry of an older write. Every write carries the run's whole status view (what its <c>Status</c> query
/// answers), so the gateway reads a run from SQL alone, live or closed.
/// </summary>
/// <param name="view">The workflow's status query, snapshotted at each write; null writes the row's facts only.</param>
public sealed class RunRecorder(string workflowType, string businessId, string orderId, string? customerId, Func<object>? view = null)
{
    private long _sequence;
    private decimal? _amount;
    private string? _currency;

    /// <summary>Gets the current business status.</summary>
    public string Status { get; private set; } = "started";

    /// <summary>Gets the current stage.</summary>
    public string Stage { get; private set; } = "starting";

    /// <summary>Carries the sequence across continue-as-new so the row keeps accepting this run's writes.</summary>
    public void ContinueFrom(long sequence, string status, string stage)
    {
        _sequence = sequence;
        Status = status;
        Stage = stage;
    }

    /// <summary>Gets the sequence of the last write.</summary>
    public long Sequence => _sequence;

    /// <summary>Gets a value indicating whether a closing write has been recorded.</summary>
    public bool Closed { get; private set; }

    /// <summary>
    /// Gets or sets a value indicating whether the run's writes ride in its business steps (<see cref="Patches.OneTransactionPerStep"/>):
    /// then the writes this recorder still makes itself, where no step changes anything (a wait starts), are local
    /// activities, which cost the run no activity task of its own.
    /// </summary>
    public bool InSteps { get; set; }

    /// <summary>
    /// Gets or sets how <see cref="RecordStepAsync"/> runs: as a local activity on the
    /// <see cref="Patches.DatabaseStepsAsLocalActivities"/> path, else as an activity.
    /// </summary>
    public DatabaseSteps Steps { get; set; } = new(local: false);

    /// <summary>
    /// Runs a workflow's steps so that whatever failure ends the run (a step failing for good, the first write of the
    /// row failing, a cancellation) first closes the read-model row, as failed or cancelled with the reason, creating
    /// the row if it was never written. The run still ends with the original failure: should the closing write fail
    /// too, that is logged and the original failure is rethrown.
    /// </summary>
    /// <typeparam name="T">The workflow's result.</typeparam>
    /// <param name="run">The workflow's steps.</param>
    /// <param name="noted">Told the reason before the row is closed (for the workflow's status query).</param>
    /// <returns>The steps' result.</returns>
    public async Task<T> ClosesOnFailureAsync<T>(Func<Task<T>> run, Action<string>? noted = null)
    {
        try
        {
            return await run();
        }
        catch (Exception e) when (EndsRun(e) && !Closed && Workflow.Patched(Patches.FailedRunClosesItsRow))
        {
            var reason = Failures.Describe(e);
            noted?.Invoke(reason);
            const string status = "failed";
            try
            {
                await RecordAsync(status, "done", closed: true, details: new Dictionary<string, string> { ["reason"] = reason });
            }
            catch (Exception written) when (Failures.IsActivityFailure(written))
            {
                Workflow.Logger.LogWarning(
                    "Could not close the read-model row of {WorkflowId} as {Status}: {Failure}", Workflow.Info.WorkflowId, status, Failures.Describe(written));
            }

            throw;
        }
    }

    /// <summary>Moves the run to a status and stage and records it everywhere.</summary>
    public async Task RecordAsync(
        string status,
        string stage,
        decimal? amount = null,
        string? currency = null,
        bool closed = false,
        IReadOnlyDictionary<string, string>? details = null)
    {
        Move(status, stage, amount, currency);
        await WriteAsync(closed, details);
    }

    /// <summary>
    /// Moves the run to a status and stage like <see cref="RecordAsync"/>, but returns the read-model write instead of
    /// making it: the step the run is about to take carries it and writes it in its own transaction. Call it right
    /// before scheduling that step (the view is a snapshot of now), and <see cref="Written"/> once the step succeeded.
    /// </summary>
    public WorkflowRunUpdate Prepare(
        string status,
        string stage,
        decimal? amount = null,
        string? currency = null,
        bool closed = false,
        IReadOnlyDictionary<string, string>? details = null)
    {
        Move(status, stage, amount, currency);
        return NextUpdate(closed, details);
    }

    /// <summary>Returns the view again, unchanged status and stage, for the step about to run (see <see cref="RefreshAsync"/>).</summary>
    public WorkflowRunUpdate PrepareRefresh() => NextUpdate(closed: false, details: null);

    /// <summary>Notes that a step carrying <paramref name="update"/> committed it.</summary>
    public void Written(WorkflowRunUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        Closed |= update.Closed;
    }

    /// <summary>
    /// Writes a step that changes no rows of its own beyond statuses (a delivery, the end of an unwind, a return
    /// moving on): the record's status moves, email and read-model row in one <c>RecordStep</c> activity. A closing
    /// write outlives a cancellation, so the row cannot stay open.
    /// </summary>
    public async Task RecordStepAsync(StepRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        await Steps.BookkeepingAsync((IReadModelActivities a) => a.RecordStepAsync(record), detached: record.Run is { Closed: true });
        if (record.Run is { } run)
        {
            Written(run);
        }
    }

    /// <summary>
    /// Writes the status view again, unchanged status and stage, where the run starts to wait for someone (an
    /// operator, a print station, a carrier) after changing what the view shows: a reader then sees what the run
    /// waits for. Runs that predate the patch replay without these writes.
    /// </summary>
    public async Task RefreshAsync()
    {
        if (Closed || view is null || !Workflow.Patched(Patches.StatusViewTracksWaits))
        {
            return;
        }

        await WriteAsync(closed: false, details: null);
    }

    private void Move(string status, string stage, decimal? amount, string? currency)
    {
        Status = status;
        Stage = stage;
        var attributes = new List<SearchAttributeUpdate>
        {
            StatesetSearchAttributes.OrderId.ValueSet(orderId),
            StatesetSearchAttributes.BusinessStatus.ValueSet(status),
        };
        if (customerId is not null)
        {
            attributes.Add(StatesetSearchAttributes.CustomerId.ValueSet(customerId));
        }

        if (amount is { } value)
        {
            attributes.Add(StatesetSearchAttributes.Amount.ValueSet((double)value));
        }

        Workflow.UpsertTypedSearchAttributes(attributes.ToArray());
        _amount = amount ?? _amount;
        _currency = currency ?? _currency;
    }

    private async Task WriteAsync(bool closed, IReadOnlyDictionary<string, string>? details)
    {
        var update = NextUpdate(closed, details);

        // The closing write happens even when the run is being cancelled: the row must not stay open.
        if (InSteps)
        {
            await Calls.LocalActivityAsync(
                (IReadModelActivities a) => a.UpsertWorkflowRunAsync(update), closed ? ActivityProfiles.DetachedLocalBookkeeping : ActivityProfiles.LocalBookkeeping);
        }
        else
        {
            await Calls.ActivityAsync(
                (IReadModelActivities a) => a.UpsertWorkflowRunAsync(update), closed ? ActivityProfiles.DetachedBookkeeping : ActivityProfiles.Bookkeeping);
        }

        Closed |= closed;
    }

    private WorkflowRunUpdate NextUpdate(bool closed, IReadOnlyDictionary<string, string>? details) =>
        new(
            Workflow.Info.WorkflowId,
            workflowType,
            businessId,
            customerId,
            Status,
            Stage,
            ++_sequence,
            Workflow.UtcNow,
            _amount,
            _currency,
            closed,
            details)
        {
            // Snapshotted after Status and Stage moved, so the stored view says what the row says.
            View = view is null ? null : StatusViewJson.Serialize(view()),
            RunId = Workflow.Info.RunId,
        };

    /// <summary>Whether a failure ends the run (a bug in the workflow's code instead fails the task, which is retried).</summary>
    // A cancelled run is left to its own cancel path (the label run voids and closes itself, detached from the
    // cancellation); acting here too wrote a patch marker that a replay of the cancelled run did not reproduce.
    private static bool EndsRun(Exception e) => e is FailureException && !TemporalException.IsCanceledException(e);
}

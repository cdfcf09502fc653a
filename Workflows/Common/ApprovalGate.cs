using Temporalio.Workflows;

namespace Stateset.Workflows.Common;

/// <summary>
/// A wait for a human decision. Signals only record facts here; the run method decides what they mean. A
/// decision that arrives while nobody is waiting, or after one was already made, changes nothing and shows in
/// the timeline as ignored.
/// </summary>
/// <param name="waiting">Told each time what the gate shows changes (asked, reminded, decided), so the run can publish it.</param>
public sealed class ApprovalGate(Timeline timeline, Func<ApprovalMoment, Task>? waiting = null)
{
    /// <summary>Gets what the run waits for, while it waits.</summary>
    public PendingApproval? Pending { get; private set; }

    /// <summary>Gets the decision once made.</summary>
    public DecisionRecord? Decision { get; private set; }

    /// <summary>Records an approval from a signal, if a decision is awaited.</summary>
    public void Approve(OperatorDecision decision) => Decide(DecisionOutcome.Approved, decision, "approve");

    /// <summary>Records a rejection from a signal, if a decision is awaited.</summary>
    public void Reject(OperatorDecision decision) => Decide(DecisionOutcome.Rejected, decision, "reject");

    /// <summary>
    /// Waits for a decision: reminds once after <paramref name="remindAfter"/>, gives up at
    /// <paramref name="expireAfter"/> (an Expired decision), and stops early when <paramref name="cancelled"/> turns true.
    /// </summary>
    public async Task<DecisionRecord> WaitAsync(
        string reason, TimeSpan remindAfter, TimeSpan expireAfter, Func<bool> cancelled, Func<Task> remindAsync)
    {
        var requestedAt = Workflow.UtcNow;
        Pending = new PendingApproval(reason, requestedAt, requestedAt + expireAfter, Reminded: false);
        timeline.Add("approval", StepOutcome.Started, reason);
        await PublishAsync(ApprovalMoment.Asked);

        var settled = remindAfter < expireAfter &&
            await Workflow.WaitConditionAsync(() => Decision is not null || cancelled(), remindAfter);
        if (!settled && remindAfter < expireAfter)
        {
            await remindAsync();
            Pending = Pending with { Reminded = true };
            timeline.Add("approval reminder", StepOutcome.Noted);
            await PublishAsync(ApprovalMoment.Reminded);
        }

        var remaining = requestedAt + expireAfter - Workflow.UtcNow;
        if (!settled && remaining > TimeSpan.Zero)
        {
            settled = await Workflow.WaitConditionAsync(() => Decision is not null || cancelled(), remaining);
        }

        if (Decision is null)
        {
            Decision = cancelled()
                ? new DecisionRecord(DecisionOutcome.Cancelled, "customer", Workflow.UtcNow, "cancelled while awaiting approval")
                : new DecisionRecord(DecisionOutcome.Expired, "system", Workflow.UtcNow, $"no decision within {expireAfter}");
        }

        Pending = null;
        var outcome = Decision.Outcome == DecisionOutcome.Approved ? StepOutcome.Completed : StepOutcome.Failed;
        timeline.Add("approval", outcome, $"{Decision.Outcome} by {Decision.DecidedBy}" + (Decision.Reason is null ? string.Empty : $": {Decision.Reason}"));

        // Published before the decision is recorded (and its approval.decided event written): whoever reacts to the
        // event and reads the run sees the decision, not the approval still pending.
        await PublishAsync(ApprovalMoment.Decided);
        return Decision;
    }

    private Task PublishAsync(ApprovalMoment moment) => waiting?.Invoke(moment) ?? Task.CompletedTask;

    private void Decide(DecisionOutcome outcome, OperatorDecision decision, string signal)
    {
        if (Pending is null || Decision is not null)
        {
            var why = Decision is not null ? $"already {Decision.Outcome}" : "no decision awaited";
            timeline.Add(signal, StepOutcome.Ignored, $"from {decision.DecidedBy}: {why}");
            return;
        }

        Decision = new DecisionRecord(outcome, decision.DecidedBy, Workflow.UtcNow, decision.Reason);
    }
}

/// <summary>What changed at an approval gate, so the run knows what to record with it.</summary>
public enum ApprovalMoment
{
    /// <summary>The decision is asked for: the approval is pending.</summary>
    Asked,

    /// <summary>The reminder went out: the pending approval shows it.</summary>
    Reminded,

    /// <summary>The decision is made (or expired, or the wait was cancelled).</summary>
    Decided,
}

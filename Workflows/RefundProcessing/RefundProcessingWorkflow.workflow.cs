using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Stateset.Workflows.RefundProcessing;

/// <summary>
/// <c>refund-{refundId}</c>: validate against captured minus already refunded (never over-refund) → approve
/// automatically under the policy threshold, else wait for an operator (reminder, escalation, expiry) → refund
/// at the provider with the refund id as idempotency key, settled by the provider's callback → ledger entry →
/// notify. The provider refund is the pivot: nothing before it needs undoing, and every step after it retries
/// until done.
/// </summary>
[Workflow]
public sealed class RefundProcessingWorkflow
{
    private readonly Timeline _timeline = new();
    private readonly ApprovalGate _approval;
    private readonly ApprovalGate _escalation;
    private RefundRequest? _request;
    private RunRecorder? _recorder;
    private decimal? _refundable;
    private bool _escalated;
    private string? _providerRefundId;
    private string? _failure;

    /// <summary>Initializes a new instance of the <see cref="RefundProcessingWorkflow"/> class.</summary>
    public RefundProcessingWorkflow()
    {
        _approval = new ApprovalGate(_timeline, _ => _recorder!.RefreshAsync());
        _escalation = new ApprovalGate(_timeline, _ => _recorder!.RefreshAsync());
    }

    /// <summary>Gets the refund's status.</summary>
    [WorkflowQuery]
    public RefundStatus Status => new(
        _request?.RefundId ?? string.Empty,
        _request?.OrderId ?? string.Empty,
        _recorder?.Status ?? "started",
        _recorder?.Stage ?? "starting",
        _request?.Amount ?? 0,
        _request?.Currency ?? string.Empty,
        _refundable,
        _escalated,
        _timeline.Entries,
        _escalated ? _escalation.Pending : _approval.Pending,
        _escalated ? _escalation.Decision ?? _approval.Decision : _approval.Decision,
        _providerRefundId,
        _failure);

    private RefundPolicy Policy => _request?.Policy ?? RefundPolicy.Default;

    private ApprovalGate CurrentGate => _escalated ? _escalation : _approval;

    /// <summary>Runs the refund.</summary>
    [WorkflowRun]
    public Task<RefundResult> RunAsync(RefundRequest request)
    {
        _request = request;
        _recorder = new RunRecorder("RefundProcessing", request.RefundId, request.OrderId, request.CustomerId, () => Status);

        // Patches.OneTransactionPerStep: the provider refund and its closing step write the view in their transactions;
        // the writes around the read-only validation and the approval waits are local activities.
        _recorder.InSteps = Workflow.Patched(Patches.OneTransactionPerStep);
        return _recorder.ClosesOnFailureAsync(() => RefundAsync(request), reason => _failure ??= reason);
    }

    /// <summary>An operator approves the refund.</summary>
    [WorkflowSignal]
    public Task ApproveAsync(OperatorDecision decision)
    {
        CurrentGate.Approve(decision);
        return Task.CompletedTask;
    }

    /// <summary>An operator rejects the refund.</summary>
    [WorkflowSignal]
    public Task RejectAsync(OperatorDecision decision)
    {
        CurrentGate.Reject(decision);
        return Task.CompletedTask;
    }

    private async Task<RefundResult> RefundAsync(RefundRequest request)
    {
        await _recorder!.RecordAsync("validating", "validating", request.Amount, request.Currency);
        var paymentId = PaymentIds.ForOrder(request.OrderId);
        try
        {
            await ValidateAsync(paymentId, request);
        }
        catch (Exception e) when (e is ActivityFailureException or ApplicationFailureException)
        {
            _failure = Failures.Describe(e);
            await CloseAsync("refused", _failure);
            throw Failures.AsBusinessFailure(e, $"Refund {request.RefundId} refused", CommerceErrorTypes.InvalidInput);
        }

        if (await DecideAsync(request) is { } refusal)
        {
            _failure = refusal.Reason;
            await CloseAsync(refusal.Status, refusal.Reason);
            return new RefundResult(request.RefundId, refusal.Status, request.Amount, request.Currency, null, refusal.Reason);
        }

        // The pivot. The provider call keeps its idempotency key across attempts, so retrying cannot pay twice.
        var refund = new RefundPaymentInput(request.RefundId, paymentId, request.Amount, request.Currency, request.Reason, request.ReturnId);
        if (_recorder.InSteps)
        {
            refund = refund with { Record = new StepRecord(_recorder.Prepare("refunding", "provider refund", request.Amount, request.Currency)) };
        }
        else
        {
            await _recorder.RecordAsync("refunding", "provider refund", request.Amount, request.Currency);
        }

        RefundSettlement settlement;
        try
        {
            if (_recorder.InSteps || Workflow.Patched(Patches.RefundThenAwaitSettlement))
            {
                // A short request a lost worker cannot hold up for long, then the wait for the provider's verdict.
                var awaited = request.RefundId;
                await _timeline.RunAsync("create provider refund", () => Calls.ActivityAsync(
                    (IPaymentActivities a) => a.CreateRefundAsync(refund), ActivityProfiles.ProviderRequest(Policy.ProviderCallback)));
                settlement = await _timeline.RunAsync("provider refund", () => Calls.ActivityAsync(
                    (IPaymentActivities a) => a.AwaitRefundSettlementAsync(awaited), ActivityProfiles.AwaitingSettlement(Policy.ProviderCallback)));
            }
            else
            {
                settlement = await _timeline.RunAsync("provider refund", () => Calls.ActivityAsync(
                    (IPaymentActivities a) => a.RefundPaymentAsync(refund), ActivityProfiles.AwaitingCallback(Policy.ProviderCallback)));
            }
        }
        catch (ActivityFailureException e)
        {
            _failure = Failures.Describe(e);
            await CloseAsync("failed", _failure);
            throw Failures.AsBusinessFailure(e, $"Refund {request.RefundId} failed at the provider", CommerceErrorTypes.RefundFailed);
        }

        _providerRefundId = settlement.ProviderRefundId;
        var refundId = request.RefundId;
        var amount = $"{settlement.Amount} {settlement.Currency}";
        var facts = new Dictionary<string, string> { ["providerRefundId"] = settlement.ProviderRefundId };
        if (_recorder.InSteps)
        {
            // The ledger entry, the customer's email and the closed row: one step.
            var run = _recorder.Prepare("refunded", "done", settlement.Amount, settlement.Currency, closed: true, details: facts);
            var closing = new CloseRefundInput(refundId) { Record = new StepRecord(run, Notification: Notification(request, "refund_issued", "refund-issued", ("amount", amount))) };
            await _timeline.RunAsync("ledger entry", () => Calls.ActivityAsync(
                (IPaymentActivities a) => a.CloseRefundAsync(closing), ActivityProfiles.Bookkeeping));
            _recorder.Written(run);
            return new RefundResult(request.RefundId, "refunded", settlement.Amount, settlement.Currency, settlement.ProviderRefundId, null);
        }

        await _timeline.RunAsync("ledger entry", () => Calls.ActivityAsync(
            (IPaymentActivities a) => a.RecordRefundLedgerEntryAsync(refundId), ActivityProfiles.Bookkeeping));
        await _timeline.RunAsync("notify customer", () => NotifyAsync(request, "refund_issued", "refund-issued", ("amount", amount)));
        await _recorder.RecordAsync("refunded", "done", settlement.Amount, settlement.Currency, closed: true, details: facts);
        return new RefundResult(request.RefundId, "refunded", settlement.Amount, settlement.Currency, settlement.ProviderRefundId, null);
    }

    private async Task ValidateAsync(string paymentId, RefundRequest request)
    {
        if (request.Amount <= 0)
        {
            throw new ApplicationFailureException($"Refund amount must be positive, was {request.Amount}.", CommerceErrorTypes.InvalidAmount, nonRetryable: true);
        }

        var refundable = await _timeline.RunAsync("validate against captured", () => Calls.ActivityAsync(
            (IPaymentActivities a) => a.GetRefundableAmountAsync(paymentId), ActivityProfiles.BusinessStep));
        _refundable = refundable.Refundable;
        if (!string.Equals(refundable.Currency.Trim(), request.Currency, StringComparison.OrdinalIgnoreCase))
        {
            throw new ApplicationFailureException(
                $"Refund currency {request.Currency} differs from the payment's {refundable.Currency}.", CommerceErrorTypes.CurrencyMismatch, nonRetryable: true);
        }

        if (request.Amount > refundable.Refundable)
        {
            throw new ApplicationFailureException(
                $"Refund of {request.Amount} {request.Currency} exceeds the refundable {refundable.Refundable} (captured {refundable.Captured}, refunded {refundable.Refunded}).",
                CommerceErrorTypes.RefundExceedsCaptured,
                nonRetryable: true);
        }
    }

    /// <summary>Null when the refund may go ahead; else how it ends (rejected or expired) and why.</summary>
    private async Task<(string Status, string Reason)?> DecideAsync(RefundRequest request)
    {
        if (request.Amount <= Policy.AutoApproveUpTo)
        {
            _timeline.Add("approval", StepOutcome.Completed, $"automatic: {request.Amount} {request.Currency} is within {Policy.AutoApproveUpTo}");
            return null;
        }

        var reason = $"refund of {request.Amount} {request.Currency} exceeds the automatic limit of {Policy.AutoApproveUpTo}";
        var decision = await WaitForOperatorAsync(request, _approval, reason, Policy.ApprovalReminder, Policy.ApprovalExpiry);
        if (decision.Outcome == DecisionOutcome.Expired)
        {
            // Nobody decided in time: hand it to a wider group rather than dropping a customer's money.
            _escalated = true;
            await _recorder!.RecordAsync("escalated", "awaiting escalated approval", request.Amount, request.Currency);
            await NotifyAsync(request, "approval_needed", "approval-escalated");
            decision = await WaitForOperatorAsync(request, _escalation, "escalated: " + reason, Policy.EscalationExpiry, Policy.EscalationExpiry);
        }

        var decided = new ApprovalDecision(
            Workflow.Info.WorkflowId, "refund", request.RefundId, decision.Outcome.ToString().ToLowerInvariant(), decision.DecidedBy, decision.DecidedAt, decision.Reason);
        await Calls.ActivityAsync((IReadModelActivities a) => a.RecordApprovalDecisionAsync(decided), ActivityProfiles.Bookkeeping);
        return decision.Outcome switch
        {
            DecisionOutcome.Approved => null,
            DecisionOutcome.Rejected => ("rejected", $"rejected by {decision.DecidedBy}" + (decision.Reason is null ? string.Empty : $": {decision.Reason}")),
            _ => ("expired", "no decision after escalation"),
        };
    }

    private async Task<DecisionRecord> WaitForOperatorAsync(RefundRequest request, ApprovalGate gate, string reason, TimeSpan remindAfter, TimeSpan expireAfter)
    {
        var requestedAt = Workflow.UtcNow;
        if (!_escalated)
        {
            var approvalRequest = new ApprovalRequest(Workflow.Info.WorkflowId, "refund", request.RefundId, reason, requestedAt, requestedAt + expireAfter);
            if (_recorder!.InSteps)
            {
                approvalRequest = approvalRequest with { Record = new StepRecord(_recorder.Prepare("awaiting_approval", "awaiting approval", request.Amount, request.Currency)) };
            }
            else
            {
                await _recorder.RecordAsync("awaiting_approval", "awaiting approval", request.Amount, request.Currency);
            }

            await Calls.ActivityAsync((IReadModelActivities a) => a.RequestApprovalAsync(approvalRequest), ActivityProfiles.Bookkeeping);
        }

        return await gate.WaitAsync(reason, remindAfter, expireAfter, () => false, () => NotifyAsync(request, "approval_needed", "approval-reminder"));
    }

    /// <summary>Writes a notification once per refund and event (the key makes retries and replays harmless).</summary>
    private static Task NotifyAsync(RefundRequest request, string template, string what, params (string Key, string Value)[] extra)
    {
        var notification = Notification(request, template, what, extra);
        return Calls.ActivityAsync((INotificationActivities a) => a.NotifyCustomerAsync(notification), ActivityProfiles.Bookkeeping);
    }

    /// <summary>A customer email keyed once per refund and event, for a step to write or <see cref="NotifyAsync"/> to send.</summary>
    private static CustomerNotification Notification(RefundRequest request, string template, string what, params (string Key, string Value)[] extra)
    {
        var data = new Dictionary<string, string> { ["refundId"] = request.RefundId, ["orderId"] = request.OrderId };
        foreach (var (key, value) in extra)
        {
            data[key] = value;
        }

        return new CustomerNotification($"{request.RefundId}:{what}", request.CustomerId, template, data);
    }

    private Task CloseAsync(string status, string reason)
    {
        var facts = new Dictionary<string, string> { ["reason"] = reason };
        return _recorder!.RecordAsync(status, "done", _request!.Amount, _request.Currency, closed: true, details: facts);
    }
}

using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.LabelPrinting;
using Stateset.Workflows.RefundProcessing;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Stateset.Workflows.ReturnAuthorization;

/// <summary>
/// <c>rma-{returnId}</c>: eligibility (delivered, inside the return window, returnable, quantities not yet
/// returned) → open the RMA → approve automatically or wait for an operator → return label (LabelPrinting child)
/// [void return label] → wait for the warehouse's receipt (expiry closes the RMA and voids the label) →
/// inspection (restocking fee for damaged items) → restock → RefundProcessing child → close.
/// </summary>
[Workflow]
public sealed class ReturnAuthorizationWorkflow
{
    private readonly Timeline _timeline = new();
    private readonly Saga _saga;
    private readonly ApprovalGate _approval;
    private AuthorizeReturnInput? _input;
    private RunRecorder? _recorder;
    private OpenedReturn? _opened;
    private ReturnEligibility? _eligibility;
    private string? _trackingNumber;
    private string? _receivingLocationId;
    private ReturnReceipt? _receipt;
    private InspectionReport? _inspection;
    private bool _awaitingReceipt;
    private bool _awaitingInspection;
    private string? _failure;

    /// <summary>Initializes a new instance of the <see cref="ReturnAuthorizationWorkflow"/> class.</summary>
    public ReturnAuthorizationWorkflow()
    {
        _saga = new Saga(_timeline);
        _approval = new ApprovalGate(_timeline, _ => _recorder!.RefreshAsync());
    }

    /// <summary>Gets the return's status.</summary>
    [WorkflowQuery]
    public ReturnStatus Status => new(
        _input?.ReturnId ?? string.Empty,
        _input?.OrderId ?? string.Empty,
        _opened?.RmaNumber,
        _recorder?.Status ?? "started",
        _recorder?.Stage ?? "starting",
        _timeline.Entries,
        _approval.Pending,
        _approval.Decision,
        _eligibility,
        _trackingNumber,
        _receipt,
        _inspection,
        _eligibility?.RefundAmount,
        _saga.Ran,
        _failure);

    private ReturnPolicy Policy => _input?.Policy ?? ReturnPolicy.Default;

    /// <summary>Runs the return.</summary>
    [WorkflowRun]
    public Task<AuthorizeReturnResult> RunAsync(AuthorizeReturnInput input)
    {
        _input = input;
        _recorder = new RunRecorder("ReturnAuthorization", input.ReturnId, input.OrderId, input.CustomerId, () => Status);

        // Patches.OneTransactionPerStep: the return's status moves, its emails and its view ride in the business steps
        // (or one RecordStep where the run moves on without one); the writes where a wait starts are local activities.
        _recorder.InSteps = Workflow.Patched(Patches.OneTransactionPerStep);
        return _recorder.ClosesOnFailureAsync(() => AuthorizeAsync(input), reason => _failure ??= reason);
    }

    /// <summary>An operator approves the return.</summary>
    [WorkflowSignal]
    public Task ApproveAsync(OperatorDecision decision)
    {
        _approval.Approve(decision);
        return Task.CompletedTask;
    }

    /// <summary>An operator rejects the return.</summary>
    [WorkflowSignal]
    public Task RejectAsync(OperatorDecision decision)
    {
        _approval.Reject(decision);
        return Task.CompletedTask;
    }

    /// <summary>The warehouse received the parcel.</summary>
    [WorkflowSignal]
    public Task ReceivedAsync(ReturnReceipt receipt)
    {
        if (!_awaitingReceipt || _receipt is not null)
        {
            _timeline.Add("receipt", StepOutcome.Ignored, $"from {receipt.ReceivedBy}: " + (_receipt is not null ? "already received" : "not awaiting the parcel"));
            return Task.CompletedTask;
        }

        _receipt = receipt;
        return Task.CompletedTask;
    }

    /// <summary>The warehouse reports the inspection of the received items.</summary>
    [WorkflowSignal]
    public Task InspectedAsync(InspectionReport report)
    {
        if (!_awaitingInspection || _inspection is not null)
        {
            _timeline.Add("inspection", StepOutcome.Ignored, $"from {report.InspectedBy}: " + (_inspection is not null ? "already inspected" : "not awaiting an inspection"));
            return Task.CompletedTask;
        }

        _inspection = report;
        return Task.CompletedTask;
    }

    private async Task<AuthorizeReturnResult> AuthorizeAsync(AuthorizeReturnInput input)
    {
        await _recorder!.RecordAsync("requested", "checking eligibility");
        var request = new ReturnRequest(input.ReturnId, input.OrderId, input.Lines, input.Reason);
        try
        {
            _eligibility = await _timeline.RunAsync("eligibility", () => Calls.ActivityAsync(
                (IReturnActivities a) => a.CheckReturnEligibilityAsync(request), ActivityProfiles.BusinessStep));
            if (!_eligibility.Eligible)
            {
                var why = string.Join("; ", _eligibility.Lines.Where(l => !l.Eligible).Select(l => $"{l.Sku}: {l.IneligibleReason}"));
                throw new ApplicationFailureException($"Return {input.ReturnId} is not eligible: {why}", CommerceErrorTypes.ReturnNotEligible, nonRetryable: true);
            }

            _opened = await _timeline.RunAsync("open RMA", () => Calls.ActivityAsync(
                (IReturnActivities a) => a.OpenReturnAsync(request), ActivityProfiles.BusinessStep));
            _eligibility = _opened.Eligibility;
        }
        catch (Exception e) when (e is ActivityFailureException or ApplicationFailureException)
        {
            _failure = Failures.Describe(e);
            await _recorder.RecordAsync("refused", "done", closed: true, details: new Dictionary<string, string> { ["reason"] = _failure });
            throw Failures.AsBusinessFailure(e, $"Return {input.ReturnId} refused", CommerceErrorTypes.ReturnNotEligible);
        }

        if (!_recorder.InSteps)
        {
            await RecordAsync("requested", "awaiting decision", RmaFacts());
        }

        if (await DecideAsync(input) is { } refusal)
        {
            return await CloseAsync(refusal.Status, refusal.Reason);
        }

        try
        {
            await IssueReturnLabelAsync(input);
            if (!await AwaitReceiptAsync())
            {
                return await CloseAsync("expired", $"parcel not received within {Policy.ReceiptExpiry}");
            }

            await InspectAsync(input);
            await RestockAsync(input);
            var refund = await RefundAsync(input);
            var reason = refund.Status == "refunded" ? null : $"refund {refund.Status}: {refund.Reason}";
            if (_recorder.InSteps)
            {
                return await CloseAsync("closed", reason, before: "refunded");
            }

            await SetReturnStatusAsync("refunded");
            return await CloseAsync("closed", reason);
        }
        catch (Exception e) when (e is ActivityFailureException or ChildWorkflowFailureException or ApplicationFailureException)
        {
            _failure = Failures.Describe(e);
            await _saga.CompensateAsync();
            await _recorder.RecordAsync("failed", "done", closed: true, details: new Dictionary<string, string> { ["reason"] = _failure });
            throw Failures.AsBusinessFailure(e, $"Return {input.ReturnId} failed", "ReturnFailed");
        }
    }

    /// <summary>Null when the return may go ahead; else how it ends and why.</summary>
    private async Task<(string Status, string Reason)?> DecideAsync(AuthorizeReturnInput input)
    {
        if (_eligibility!.RefundAmount <= Policy.AutoApproveUpTo)
        {
            _timeline.Add("approval", StepOutcome.Completed, $"automatic: refund {_eligibility.RefundAmount} {_eligibility.Currency} is within {Policy.AutoApproveUpTo}");
            await ApprovedAsync();
            return null;
        }

        var reason = $"refund of {_eligibility.RefundAmount} {_eligibility.Currency} exceeds the automatic limit of {Policy.AutoApproveUpTo}";
        var requestedAt = Workflow.UtcNow;
        var approvalRequest = new ApprovalRequest(Workflow.Info.WorkflowId, "return", input.ReturnId, reason, requestedAt, requestedAt + Policy.ApprovalExpiry);
        if (_recorder!.InSteps)
        {
            approvalRequest = approvalRequest with { Record = new StepRecord(Prepare("awaiting_approval", "awaiting approval", RmaFacts())) };
        }
        else
        {
            await RecordAsync("awaiting_approval", "awaiting approval");
        }

        await Calls.ActivityAsync((IReadModelActivities a) => a.RequestApprovalAsync(approvalRequest), ActivityProfiles.Bookkeeping);
        var decision = await _approval.WaitAsync(reason, Policy.ApprovalReminder, Policy.ApprovalExpiry, () => false, () => NotifyAsync("approval_needed", "approval-reminder"));
        var decided = new ApprovalDecision(
            Workflow.Info.WorkflowId, "return", input.ReturnId, decision.Outcome.ToString().ToLowerInvariant(), decision.DecidedBy, decision.DecidedAt, decision.Reason);
        await Calls.ActivityAsync((IReadModelActivities a) => a.RecordApprovalDecisionAsync(decided), ActivityProfiles.Bookkeeping);
        switch (decision.Outcome)
        {
            case DecisionOutcome.Approved:
                await ApprovedAsync();
                return null;
            case DecisionOutcome.Rejected:
                if (!_recorder.InSteps)
                {
                    // In steps, the email rides in the closing step (see CloseAsync).
                    await NotifyAsync("return_rejected", "rejected");
                }

                return ("rejected", $"rejected by {decision.DecidedBy}" + (decision.Reason is null ? string.Empty : $": {decision.Reason}"));
            default:
                return ("expired", "no decision before the approval expired");
        }
    }

    private async Task IssueReturnLabelAsync(AuthorizeReturnInput input)
    {
        var shipmentId = $"{input.ReturnId}-return";
        var items = input.Lines.Select(l => new OrderLine(l.Sku, l.Quantity)).ToList();
        var prepare = new PrepareShipmentInput(shipmentId, input.OrderId, "return", LocationId: null, Customer: null, items, input.ReturnId);
        if (_recorder!.InSteps)
        {
            // The approval (automatic or an operator's) is written with the shipment it starts.
            var run = Prepare("approved", "issuing return label", RmaFacts());
            prepare = prepare with { Record = new StepRecord(run, ReturnStatuses: [ReturnStatusNow("approved")]) };
        }
        else
        {
            await RecordAsync("approved", "issuing return label");
        }

        var shipment = await _timeline.RunAsync("prepare return shipment", () => Calls.ActivityAsync(
            (IShipmentActivities a) => a.PrepareShipmentAsync(prepare), ActivityProfiles.BusinessStep));

        var voiding = new VoidLabelInput(shipmentId);
        _saga.Register("void return label", () => Calls.ActivityAsync((ILabelActivities a) => a.VoidLabelAsync(voiding), ActivityProfiles.Provider));

        // The customer prints the return label at home: it is emailed, not sent to a warehouse printer.
        var printing = new PrintLabelInput(
            shipmentId, input.OrderId, shipment.From, shipment.To, shipment.Parcel, ServiceLevel.Ground, StationId: null, ReturnId: input.ReturnId);
        var label = await _timeline.RunAsync("return label", () => Calls.ChildWorkflowAsync(
            (LabelPrintingWorkflow wf) => wf.RunAsync(printing), new ChildWorkflowOptions { Id = WorkflowIds.Label(shipmentId) }));
        _trackingNumber = label.TrackingNumber;
        _receivingLocationId = shipment.LocationId;
        if (!_recorder.InSteps)
        {
            // In steps, the status and the email ride in the step that opens the wait for the parcel.
            await SetReturnStatusAsync("label_issued");
            await NotifyAsync("return_approved", "approved");
        }
    }

    private async Task<bool> AwaitReceiptAsync()
    {
        // Open before the stage is published: the gateway accepts a receipt as soon as it reads "awaiting receipt",
        // and a signal that arrived while the read model was being written would otherwise be ignored.
        _awaitingReceipt = true;
        var tracking = new Dictionary<string, string> { ["trackingNumber"] = _trackingNumber! };
        if (_recorder!.InSteps)
        {
            await _recorder.RecordStepAsync(new StepRecord(
                Prepare("label_issued", "awaiting receipt", tracking), Notification: Notification("return_approved", "approved"), ReturnStatuses: [ReturnStatusNow("label_issued")]));
        }
        else
        {
            await RecordAsync("label_issued", "awaiting receipt", tracking);
        }

        var received = await Workflow.WaitConditionAsync(() => _receipt is not null, Policy.ReceiptExpiry);
        _awaitingReceipt = false;
        if (!received)
        {
            _timeline.Add("receipt", StepOutcome.Failed, $"not received within {Policy.ReceiptExpiry}");
            return false;
        }

        _timeline.Add("receipt", StepOutcome.Completed, $"by {_receipt!.ReceivedBy}");
        _saga.Discard("void return label");
        if (!_recorder.InSteps)
        {
            // In steps, the status rides in the step that opens the wait for the inspection.
            await SetReturnStatusAsync("received");
        }

        return true;
    }

    private async Task InspectAsync(AuthorizeReturnInput input)
    {
        // As for the receipt: the inspection is accepted from the moment the stage says so.
        _awaitingInspection = true;
        if (_recorder!.InSteps)
        {
            await _recorder.RecordStepAsync(new StepRecord(Prepare("received", "awaiting inspection"), ReturnStatuses: [ReturnStatusNow("received")]));
        }
        else
        {
            await RecordAsync("received", "awaiting inspection");
        }

        if (!await Workflow.WaitConditionAsync(() => _inspection is not null, Policy.InspectionExpiry))
        {
            _timeline.Add("inspection", StepOutcome.Noted, $"no report within {Policy.InspectionExpiry}: the declared conditions stand");
            _inspection = new InspectionReport("system", input.Lines.Select(l => new InspectedLine(l.Sku, l.Condition)).ToList());
        }

        _awaitingInspection = false;
        var inspection = _inspection!;
        var record = new RecordInspectionInput(input.ReturnId, inspection.InspectedBy, inspection.Lines.Select(l => new InspectedCondition(l.Sku, l.Condition)).ToList());
        if (_recorder.InSteps)
        {
            // The view waits for the next step: the inspection re-prices the refund it shows.
            record = record with { Record = new StepRecord(ReturnStatuses: [ReturnStatusNow("inspected")]) };
        }

        _eligibility = await _timeline.RunAsync("record inspection", () => Calls.ActivityAsync(
            (IReturnActivities a) => a.RecordInspectionAsync(record), ActivityProfiles.BusinessStep));
        if (!_recorder.InSteps)
        {
            await SetReturnStatusAsync("inspected");
        }
    }

    private async Task RestockAsync(AuthorizeReturnInput input)
    {
        var resellable = input.Lines
            .Where(line => _inspection!.Lines.FirstOrDefault(l => l.Sku == line.Sku)?.Condition is not "damaged")
            .Select(line => new OrderLine(line.Sku, line.Quantity))
            .ToList();
        if (resellable.Count == 0)
        {
            _timeline.Add("restock", StepOutcome.Noted, "nothing resellable");
            if (_recorder!.InSteps)
            {
                await RecordAsync("inspected", "refunding");
            }

            return;
        }

        var restock = new RestockInput(input.ReturnId, _receivingLocationId!, resellable);
        WorkflowRunUpdate? refunding = null;
        if (_recorder!.InSteps)
        {
            // The refund comes next: the restock carries the view that says so.
            refunding = Prepare("inspected", "refunding");
            restock = restock with { Record = new StepRecord(refunding) };
        }

        await _timeline.RunAsync("restock", () => Calls.ActivityAsync(
            (IInventoryActivities a) => a.RestockReturnAsync(restock), ActivityProfiles.Bookkeeping));
        if (refunding is not null)
        {
            _recorder.Written(refunding);
        }
    }

    private async Task<RefundResult> RefundAsync(AuthorizeReturnInput input)
    {
        var amount = _eligibility!.RefundAmount;
        if (!_recorder!.InSteps)
        {
            await RecordAsync("inspected", "refunding");
        }

        if (amount <= 0)
        {
            _timeline.Add("refund", StepOutcome.Noted, "nothing to refund after fees");
            return new RefundResult(input.ReturnId, "refunded", 0, _eligibility.Currency, null, null);
        }

        // The return was already approved, so its refund needs no second approval.
        var policy = RefundPolicy.Default with { AutoApproveUpTo = amount };
        var refund = new RefundRequest(
            input.ReturnId, input.OrderId, input.CustomerId, amount, _eligibility.Currency, $"return {_opened!.RmaNumber}", "returns", input.ReturnId, policy);
        return await _timeline.RunAsync("refund", () => Calls.ChildWorkflowAsync(
            (RefundProcessingWorkflow wf) => wf.RunAsync(refund), new ChildWorkflowOptions { Id = WorkflowIds.Refund(input.ReturnId) }));
    }

    /// <summary>Ends the return as <paramref name="status"/>: compensations first, then the return's status and the closed row.</summary>
    /// <param name="before">A status the return passes through on the way (refunded, before closed).</param>
    private async Task<AuthorizeReturnResult> CloseAsync(string status, string? reason, string? before = null)
    {
        _failure = reason;
        await _saga.CompensateAsync();
        var facts = reason is null ? null : new Dictionary<string, string> { ["reason"] = reason };
        if (_recorder!.InSteps)
        {
            // One step: the status moves, the rejection's email, and the closed row.
            UpdateReturnStatusInput[] statuses = before is null ? [ReturnStatusNow(status, reason)] : [ReturnStatusNow(before), ReturnStatusNow(status, reason)];
            var run = _recorder.Prepare(status, "done", _eligibility?.RefundAmount, _eligibility?.Currency, closed: true, details: facts);
            var email = status == "rejected" ? Notification("return_rejected", "rejected") : null;
            await _recorder.RecordStepAsync(new StepRecord(run, Notification: email, ReturnStatuses: statuses));
        }
        else
        {
            await SetReturnStatusAsync(status == "closed" ? "closed" : status, reason);
            await _recorder.RecordAsync(status, "done", _eligibility?.RefundAmount, _eligibility?.Currency, closed: true, details: facts);
        }

        return new AuthorizeReturnResult(
            _input!.ReturnId,
            _opened?.RmaNumber,
            status,
            status == "closed" ? _eligibility!.RefundAmount : 0,
            _eligibility?.RestockingFee ?? 0,
            _eligibility?.Currency ?? string.Empty,
            reason);
    }

    /// <summary>The return is approved; in steps, the status rides in the step that prepares its shipment.</summary>
    private Task ApprovedAsync() => _recorder!.InSteps ? Task.CompletedTask : SetReturnStatusAsync("approved");

    private Dictionary<string, string> RmaFacts() => new() { ["rmaNumber"] = _opened!.RmaNumber };

    private Task RecordAsync(string status, string stage, Dictionary<string, string>? details = null) =>
        _recorder!.RecordAsync(status, stage, _eligibility?.RefundAmount, _eligibility?.Currency, details: details);

    /// <summary>Like <see cref="RecordAsync"/>, for the step about to run to write (see <see cref="RunRecorder.Prepare"/>).</summary>
    private WorkflowRunUpdate Prepare(string status, string stage, Dictionary<string, string>? details = null) =>
        _recorder!.Prepare(status, stage, _eligibility?.RefundAmount, _eligibility?.Currency, details: details);

    private UpdateReturnStatusInput ReturnStatusNow(string status, string? reason = null) => new(_input!.ReturnId, status, Workflow.UtcNow, reason);

    private Task SetReturnStatusAsync(string status, string? reason = null)
    {
        var update = ReturnStatusNow(status, reason);
        return Calls.ActivityAsync((IReturnActivities a) => a.UpdateReturnStatusAsync(update), ActivityProfiles.Bookkeeping);
    }

    /// <summary>Writes a customer email once per return and event (the key makes retries and replays harmless).</summary>
    private Task NotifyAsync(string template, string what)
    {
        var notification = Notification(template, what);
        return Calls.ActivityAsync((INotificationActivities a) => a.NotifyCustomerAsync(notification), ActivityProfiles.Bookkeeping);
    }

    /// <summary>A customer email keyed once per return and event, for a step to write or <see cref="NotifyAsync"/> to send.</summary>
    private CustomerNotification Notification(string template, string what)
    {
        var data = new Dictionary<string, string> { ["returnId"] = _input!.ReturnId, ["rmaNumber"] = _opened?.RmaNumber ?? string.Empty };
        return new CustomerNotification($"{_input.ReturnId}:{what}", _input.CustomerId, template, data);
    }
}

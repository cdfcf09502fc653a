using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.LabelPrinting;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Stateset.Workflows.OrderFulfillment;

/// <summary>
/// <c>order-{orderId}</c>: validate → reserve inventory [release] → authorise payment, settled by the provider's
/// callback [void, or refund once captured] → risk check → operator approval when required (reminder, expiry) →
/// capture → LabelPrinting child [void label] → carrier signals (shipped, delivered) with deadlines → commit
/// inventory → complete. A customer's cancel before shipping unwinds the compensations in reverse order.
/// </summary>
[Workflow]
public sealed class OrderFulfillmentWorkflow
{
    // Past this many events the run continues as new while it waits for the carrier, carrying its state.
    private const int HistoryEventLimit = 2_000;
    private const int SeenCarrierEventLimit = 200;

    private readonly Timeline _timeline;
    private readonly Saga _saga;
    private readonly ApprovalGate _approval;
    private readonly List<string> _seenCarrierEvents = [];
    private readonly Queue<CarrierEvent> _carrierEvents = new();
    private FulfillOrderInput? _input;
    private RunRecorder? _recorder;
    private OrderMoney? _money;
    private OrderShipment? _shipment;
    private CancelRequest? _cancel;
    private string? _failure;

    // Patches.OneTransactionPerStep: each step's activity writes the status, email and read model with its own rows.
    private bool _inSteps;

    // Patches.DatabaseStepsAsLocalActivities (only with _inSteps): the steps on our own database are local activities.
    private DatabaseSteps _steps = new(local: false);
    private ApprovalRequest? _approvalRequest;

    /// <summary>Initializes a new instance of the <see cref="OrderFulfillmentWorkflow"/> class.</summary>
    [WorkflowInit]
    public OrderFulfillmentWorkflow(FulfillOrderInput input)
    {
        _timeline = new Timeline(input.Resume?.Timeline);
        _saga = new Saga(_timeline);
        _approval = new ApprovalGate(_timeline, PublishApprovalAsync);
    }

    /// <summary>Gets the order's status: stage, timeline, pending approval, money, shipment, compensations.</summary>
    [WorkflowQuery]
    public OrderStatus Status => new(
        _input?.OrderId ?? string.Empty,
        _input?.CustomerId ?? string.Empty,
        _recorder?.Status ?? "started",
        _recorder?.Stage ?? "starting",
        _timeline.Entries,
        _approval.Pending,
        _approval.Decision,
        _money ?? new OrderMoney(_input?.Currency ?? string.Empty, 0, null, 0, 0, 0),
        _shipment,
        _saga.Ran,
        _failure);

    private OrderDeadlines Deadlines => _input?.Deadlines ?? OrderDeadlines.Default;

    private bool ShippingStarted => _shipment?.ShippedAt is not null;

    /// <summary>Runs the order to delivery, or unwinds it.</summary>
    [WorkflowRun]
    public async Task<FulfillOrderResult> RunAsync(FulfillOrderInput input)
    {
        _input = input;
        _recorder = new RunRecorder("OrderFulfillment", input.OrderId, input.OrderId, input.CustomerId, () => Status);
        _inSteps = Workflow.Patched(Patches.OneTransactionPerStep);
        _recorder.InSteps = _inSteps;
        _steps = new DatabaseSteps(_inSteps && Workflow.Patched(Patches.DatabaseStepsAsLocalActivities));
        _recorder.Steps = _steps;
        if (input.Resume is { } resume)
        {
            return await ResumeAwaitingDeliveryAsync(resume);
        }

        try
        {
            await PlaceAsync(input);
            var reservation = await ReserveAsync(input);
            await AuthorizeAsync(input);
            if (await SeekApprovalAsync(input) is { } refusal)
            {
                return await UnwindAsync(refusal.Status, refusal.Reason);
            }

            await CaptureAsync();
            if (_cancel is not null)
            {
                return await UnwindAsync("cancelled", $"cancelled by {_cancel.RequestedBy}");
            }

            await PrintLabelAsync(input, reservation);
            if (_cancel is not null && _shipment?.TrackingNumber is null)
            {
                // The cancel interrupted the label run, which voided what it had bought.
                return await UnwindAsync("cancelled", $"cancelled by {_cancel.RequestedBy}");
            }

            if (!await AwaitShipmentAsync())
            {
                return await UnwindAsync("cancelled", _cancel is not null ? $"cancelled by {_cancel.RequestedBy}" : "not shipped by the deadline");
            }

            return await AwaitDeliveryAsync(Workflow.UtcNow + Deadlines.DeliverBy, recorded: _inSteps);
        }
        catch (Exception e) when (e is ActivityFailureException or ChildWorkflowFailureException or ApplicationFailureException)
        {
            var status = Failures.ErrorType(e) == CommerceErrorTypes.PaymentDeclined ? "payment_declined" : "failed";
            await UnwindAsync(status, Failures.Describe(e));
            throw Failures.AsBusinessFailure(e, $"Order {input.OrderId} failed", "OrderFailed");
        }
    }

    /// <summary>An operator approves the order.</summary>
    [WorkflowSignal]
    public Task ApproveAsync(OperatorDecision decision)
    {
        _approval.Approve(decision);
        return Task.CompletedTask;
    }

    /// <summary>An operator rejects the order.</summary>
    [WorkflowSignal]
    public Task RejectAsync(OperatorDecision decision)
    {
        _approval.Reject(decision);
        return Task.CompletedTask;
    }

    /// <summary>The customer (or an operator) cancels the order; honoured until the parcel ships.</summary>
    [WorkflowSignal]
    public Task CancelAsync(CancelRequest request)
    {
        if (_cancel is not null || ShippingStarted || _recorder?.Stage == "done")
        {
            var why = _cancel is not null ? "already cancelled" : "the order has shipped";
            _timeline.Add("cancel", StepOutcome.Ignored, $"from {request.RequestedBy}: {why}");
        }
        else
        {
            _cancel = request;
            _timeline.Add("cancel", StepOutcome.Noted, $"requested by {request.RequestedBy}" + (request.Reason is null ? string.Empty : $": {request.Reason}"));
        }

        return Task.CompletedTask;
    }

    /// <summary>A carrier tracking event for the order's parcel.</summary>
    [WorkflowSignal]
    public Task CarrierEventAsync(CarrierEvent carrierEvent)
    {
        if (_seenCarrierEvents.Contains(carrierEvent.EventId))
        {
            _timeline.Add($"carrier {carrierEvent.Kind}", StepOutcome.Ignored, $"duplicate event {carrierEvent.EventId}");
            return Task.CompletedTask;
        }

        _seenCarrierEvents.Add(carrierEvent.EventId);
        if (_seenCarrierEvents.Count > SeenCarrierEventLimit)
        {
            _seenCarrierEvents.RemoveAt(0);
        }

        _carrierEvents.Enqueue(carrierEvent);
        return Task.CompletedTask;
    }

    private async Task PlaceAsync(FulfillOrderInput input)
    {
        var order = new PlaceOrderInput(input.OrderId, input.CustomerId, input.Currency, input.Lines, ToPostal(input.ShippingAddress)!, ToPostal(input.BillingAddress));
        if (_inSteps)
        {
            // The row is first written with the order it describes: an order that fails validation has no row until the unwind closes it.
            order = order with { Record = new StepRecord(_recorder!.Prepare("pending", "validating")) };
        }
        else
        {
            await _recorder!.RecordAsync("pending", "validating");
        }

        var placed = await _timeline.RunAsync("validate order", () => _steps.BusinessStepAsync(
            (IOrderActivities a) => a.PlaceOrderAsync(order)));
        _money = new OrderMoney(placed.Currency, placed.Total, null, 0, 0, 0);
    }

    private async Task<InventoryReservation> ReserveAsync(FulfillOrderInput input)
    {
        // Registered before the step: a reservation that committed but whose answer was lost is still released.
        _saga.Register("release inventory", () => Calls.ActivityAsync(
            (IInventoryActivities a) => a.ReleaseInventoryAsync(input.OrderId), ActivityProfiles.Bookkeeping));
        var reserve = new ReserveInventoryInput(input.OrderId, input.Lines, input.ShippingAddress.Country);
        if (_inSteps)
        {
            reserve = reserve with { Record = new StepRecord(_recorder!.Prepare("pending", "reserving inventory", _money!.Total, _money.Currency), [OrderStatusNow("reserved")]) };
            return await _timeline.RunAsync("reserve inventory", () => _steps.BusinessStepAsync(
                (IInventoryActivities a) => a.ReserveInventoryAsync(reserve)));
        }

        await _recorder!.RecordAsync("pending", "reserving inventory", _money!.Total, _money.Currency);
        var reservation = await _timeline.RunAsync("reserve inventory", () => _steps.BusinessStepAsync(
            (IInventoryActivities a) => a.ReserveInventoryAsync(reserve)));
        await SetOrderStatusAsync("reserved");
        return reservation;
    }

    private async Task AuthorizeAsync(FulfillOrderInput input)
    {
        var paymentId = PaymentIds.ForOrder(input.OrderId);
        _saga.Register("void or refund payment", ReversePaymentAsync);
        var authorize = new AuthorizePaymentInput(input.OrderId, input.CustomerId, _money!.Total, _money.Currency, input.PaymentMethod);
        if (_inSteps)
        {
            // The payment row and the view that says the run waits for it commit together. The order becomes
            // authorized with the next step (the risk check): the provider's settlement is written by its webhook,
            // which has no step record to carry.
            authorize = authorize with { Record = new StepRecord(_recorder!.Prepare("reserved", "authorizing payment", _money.Total, _money.Currency)) };
        }
        else
        {
            await _recorder!.RecordAsync("reserved", "authorizing payment", _money.Total, _money.Currency);
        }

        PaymentAuthorization authorization;
        if (_inSteps || Workflow.Patched(Patches.AuthorizeThenAwaitSettlement))
        {
            // A short request a lost worker cannot hold up for long, then the wait for the provider's verdict,
            // completed by its webhook or, when that is late, read from the provider.
            await _timeline.RunAsync("create authorization", () => Calls.ActivityAsync(
                (IPaymentActivities a) => a.CreatePaymentAuthorizationAsync(authorize), ActivityProfiles.ProviderRequest(Deadlines.PaymentCallback)));
            authorization = await _timeline.RunAsync("authorize payment", () => Calls.ActivityAsync(
                (IPaymentActivities a) => a.AwaitPaymentAuthorizationAsync(paymentId), ActivityProfiles.AwaitingSettlement(Deadlines.PaymentCallback)));
        }
        else
        {
            // Completed asynchronously by the gateway when the provider's callback arrives.
            authorization = await _timeline.RunAsync("authorize payment", () => Calls.ActivityAsync(
                (IPaymentActivities a) => a.AuthorizePaymentAsync(authorize), ActivityProfiles.AwaitingCallback(Deadlines.PaymentCallback)));
        }

        _money = _money with { PaymentId = authorization.PaymentId ?? paymentId, Authorized = authorization.Amount };
        if (!_inSteps)
        {
            await SetOrderStatusAsync("authorized");
        }
    }

    /// <summary>Returns null when the order may proceed, else how it ends (rejected, expired, cancelled) and why.</summary>
    private async Task<(string Status, string Reason)?> SeekApprovalAsync(FulfillOrderInput input)
    {
        var check = new RiskCheckInput(input.OrderId, input.CustomerId, _money!.Total, _money.Currency, ToPostal(input.ShippingAddress)!, ToPostal(input.BillingAddress));
        if (_inSteps)
        {
            check = check with { Record = new StepRecord(_recorder!.Prepare("authorized", "risk check", _money.Total, _money.Currency), [OrderStatusNow("authorized")]) };
        }
        else
        {
            await _recorder!.RecordAsync("authorized", "risk check", _money.Total, _money.Currency);
        }

        var risk = await _timeline.RunAsync("risk check", () => _steps.BusinessStepAsync(
            (IRiskActivities a) => a.AssessOrderRiskAsync(check)));
        if (_cancel is not null)
        {
            return ("cancelled", $"cancelled by {_cancel.RequestedBy}");
        }

        if (!risk.RequiresApproval)
        {
            _timeline.Add("approval", StepOutcome.Completed, $"not required (risk score {risk.Score})");
            return null;
        }

        var reason = $"risk score {risk.Score}: {string.Join(", ", risk.Reasons)}";
        var requestedAt = Workflow.UtcNow;
        var approvalRequest = new ApprovalRequest(Workflow.Info.WorkflowId, "order", input.OrderId, reason, requestedAt, requestedAt + Deadlines.ApprovalExpiry);
        if (_inSteps)
        {
            // Requested when the gate opens (PublishApprovalAsync), so the request, the order's status and a view that
            // shows the pending approval commit together; the reminder email goes with the view that shows it.
            _approvalRequest = approvalRequest;
        }
        else
        {
            await SetOrderStatusAsync("awaiting_approval");
            await _recorder!.RecordAsync("awaiting_approval", "awaiting approval", _money.Total, _money.Currency);
            await Calls.ActivityAsync((IReadModelActivities a) => a.RequestApprovalAsync(approvalRequest), ActivityProfiles.Bookkeeping);
        }

        var decision = await _approval.WaitAsync(
            reason,
            Deadlines.ApprovalReminder,
            Deadlines.ApprovalExpiry,
            () => _cancel is not null,
            () => _inSteps ? Task.CompletedTask : NotifyAsync("approval_needed", "approval-reminder", ("reason", reason)));

        var recorded = decision.Outcome switch
        {
            DecisionOutcome.Approved => "approved",
            DecisionOutcome.Rejected => "rejected",
            _ => "expired",
        };
        var decided = new ApprovalDecision(Workflow.Info.WorkflowId, "order", input.OrderId, recorded, decision.DecidedBy, decision.DecidedAt, decision.Reason);
        if (_inSteps)
        {
            // The decision, the order's move to approved and the view showing the decision commit together.
            var approved = decision.Outcome == DecisionOutcome.Approved ? new[] { OrderStatusNow("approved") } : null;
            decided = decided with { Record = new StepRecord(_recorder!.PrepareRefresh(), approved) };
        }

        await _steps.BookkeepingAsync((IReadModelActivities a) => a.RecordApprovalDecisionAsync(decided));
        var because = $"{decision.Outcome} by {decision.DecidedBy}" + (decision.Reason is null ? string.Empty : $": {decision.Reason}");
        switch (decision.Outcome)
        {
            case DecisionOutcome.Approved:
                if (!_inSteps)
                {
                    await SetOrderStatusAsync("approved");
                }

                return null;
            case DecisionOutcome.Rejected:
                return ("rejected", because);
            case DecisionOutcome.Expired:
                return ("expired", because);
            default:
                return ("cancelled", because);
        }
    }

    private async Task CaptureAsync()
    {
        var captureInput = new CapturePaymentInput(_money!.PaymentId!);
        if (_inSteps)
        {
            var run = _recorder!.Prepare("approved", "capturing payment", _money.Total, _money.Currency);
            captureInput = captureInput with { Record = new StepRecord(run, [OrderStatusNow("captured")], Notification("order_confirmed", "confirmed")) };
        }
        else
        {
            await _recorder!.RecordAsync("approved", "capturing payment", _money.Total, _money.Currency);
        }

        var capture = await _timeline.RunAsync("capture payment", () => Calls.ActivityAsync(
            (IPaymentActivities a) => a.CapturePaymentAsync(captureInput), ActivityProfiles.Provider));
        _money = _money with { Captured = capture.CapturedAmount };
        if (!_inSteps)
        {
            await SetOrderStatusAsync("captured");
            await NotifyAsync("order_confirmed", "confirmed");
        }
    }

    private async Task PrintLabelAsync(FulfillOrderInput input, InventoryReservation reservation)
    {
        var shipmentId = $"{input.OrderId}-1";
        var locationId = reservation.Lines[0].LocationId;
        var prepare = new PrepareShipmentInput(shipmentId, input.OrderId, "outbound", locationId, input.ShippingAddress, input.Lines);
        if (_inSteps)
        {
            prepare = prepare with { Record = new StepRecord(_recorder!.Prepare("captured", "printing label", _money!.Total, _money.Currency)) };
        }
        else
        {
            await _recorder!.RecordAsync("captured", "printing label", _money!.Total, _money.Currency);
        }

        var shipment = await _timeline.RunAsync("prepare shipment", () => _steps.BusinessStepAsync(
            (IShipmentActivities a) => a.PrepareShipmentAsync(prepare)));
        _shipment = new OrderShipment(shipmentId, null, null, null, null, null, null);

        var voiding = new VoidLabelInput(shipmentId);
        _saga.Register("void label", () => Calls.ActivityAsync((ILabelActivities a) => a.VoidLabelAsync(voiding), ActivityProfiles.Compensation));
        var printing = new PrintLabelInput(
            shipmentId, input.OrderId, shipment.From, shipment.To, shipment.Parcel, input.ServiceLevel, input.PrintStationId ?? shipment.DefaultStationId);
        if (!Workflow.Patched(Patches.CancelInterruptsLabel))
        {
            var printed = await _timeline.RunAsync("label printing", () => Calls.ChildWorkflowAsync(
                (LabelPrintingWorkflow wf) => wf.RunAsync(printing), new ChildWorkflowOptions { Id = WorkflowIds.Label(shipmentId) }));
            _shipment = _shipment with { Carrier = printed.Carrier, Service = printed.Service, TrackingNumber = printed.TrackingNumber };
            return;
        }

        // A cancel must not wait for the print station's acknowledgement (or its 30-minute timeout): it cancels the
        // label run, which voids what it bought and waits for nothing more, and the order unwinds.
        using var interrupt = new CancellationTokenSource();
        var child = _timeline.RunAsync("label printing", () => Calls.ChildWorkflowAsync(
            (LabelPrintingWorkflow wf) => wf.RunAsync(printing), new ChildWorkflowOptions { Id = WorkflowIds.Label(shipmentId), CancellationToken = interrupt.Token }));
        var cancelled = Workflow.WaitConditionAsync(() => _cancel is not null);
        if (await Workflow.WhenAnyAsync(child, cancelled) == cancelled)
        {
            interrupt.Cancel();
            try
            {
                await child;
            }
            catch (ChildWorkflowFailureException e) when (TemporalException.IsCanceledException(e))
            {
                _timeline.Add("label printing", StepOutcome.Compensated, $"cancelled by {_cancel!.RequestedBy} before the label was printed");
                return;
            }
        }

        var label = await child;
        _shipment = _shipment with { Carrier = label.Carrier, Service = label.Service, TrackingNumber = label.TrackingNumber };
    }

    private async Task<bool> AwaitShipmentAsync()
    {
        var tracking = new Dictionary<string, string> { ["trackingNumber"] = _shipment!.TrackingNumber! };
        await _recorder!.RecordAsync("label_printed", "awaiting shipment", _money!.Total, _money.Currency, details: tracking);
        var deadline = Workflow.UtcNow + Deadlines.ShipBy;
        while (!ShippingStarted)
        {
            var remaining = deadline - Workflow.UtcNow;
            if (remaining <= TimeSpan.Zero ||
                !await Workflow.WaitConditionAsync(() => _carrierEvents.Count > 0 || _cancel is not null, remaining))
            {
                _timeline.Add("shipment", StepOutcome.Failed, $"not shipped within {Deadlines.ShipBy}");
                return false;
            }

            if (_cancel is not null)
            {
                return false;
            }

            ApplyCarrierEvents();
            if (!ShippingStarted)
            {
                await _recorder.RefreshAsync();
            }
        }

        var orderId = _input!.OrderId;
        if (_inSteps)
        {
            // The stock leaves the books, the order ships, the customer's email and the view awaiting delivery: one transaction.
            var run = _recorder.Prepare("shipped", "awaiting delivery", _money.Total, _money.Currency);
            var commit = new CommitOrderInventoryInput(orderId) { Record = new StepRecord(run, [OrderStatusNow("shipped")], Notification("order_shipped", "shipped")) };
            await _timeline.RunAsync("commit inventory", () => _steps.BookkeepingAsync(
                (IInventoryActivities a) => a.CommitOrderInventoryAsync(commit)));
        }
        else
        {
            await _timeline.RunAsync("commit inventory", () => Calls.ActivityAsync(
                (IInventoryActivities a) => a.CommitInventoryAsync(orderId), ActivityProfiles.Bookkeeping));
        }

        // Shipped goods stay shipped: nothing after this point is undone by the saga.
        _saga.Discard("release inventory");
        _saga.Discard("void label");
        _saga.Discard("void or refund payment");
        if (!_inSteps)
        {
            await SetOrderStatusAsync("shipped");
            await NotifyAsync("order_shipped", "shipped");
        }

        return true;
    }

    /// <param name="recorded">Whether the step that shipped the order already wrote the view awaiting delivery.</param>
    private async Task<FulfillOrderResult> AwaitDeliveryAsync(DateTime deliverBy, bool recorded = false)
    {
        var recorder = _recorder!;
        var money = _money!;
        if (!recorded)
        {
            await recorder.RecordAsync("shipped", "awaiting delivery", money.Total, money.Currency);
        }

        while (_shipment!.DeliveredAt is null)
        {
            if (Workflow.CurrentHistoryLength > HistoryEventLimit || Workflow.ContinueAsNewSuggested)
            {
                var carryOver = new OrderCarryOver(
                    recorder.Status, recorder.Sequence, _timeline.Entries, _approval.Decision, _money ?? money, _shipment, _seenCarrierEvents, deliverBy);
                var next = _input! with { Resume = carryOver };
                throw Workflow.CreateContinueAsNewException((OrderFulfillmentWorkflow wf) => wf.RunAsync(next));
            }

            var remaining = deliverBy - Workflow.UtcNow;
            if (remaining <= TimeSpan.Zero || !await Workflow.WaitConditionAsync(() => _carrierEvents.Count > 0, remaining))
            {
                // Money is captured and goods are gone: flag for people (a claim with the carrier), do not wait forever.
                _timeline.Add("delivery", StepOutcome.Failed, $"not delivered by {deliverBy:u}");
                if (_inSteps)
                {
                    await RecordStepAsync(new StepRecord(
                        _recorder!.Prepare("delivery_exception", "done", _money!.Total, _money.Currency, closed: true), [OrderStatusNow("failed", "delivery deadline passed")]));
                    return Result("delivery_exception");
                }

                await SetOrderStatusAsync("failed", "delivery deadline passed");
                await _recorder!.RecordAsync("delivery_exception", "done", _money!.Total, _money.Currency, closed: true);
                return Result("delivery_exception");
            }

            ApplyCarrierEvents();
            if (_shipment.DeliveredAt is null)
            {
                await recorder.RefreshAsync();
            }
        }

        if (_inSteps)
        {
            await RecordStepAsync(new StepRecord(
                _recorder!.Prepare("completed", "done", _money!.Total, _money.Currency, closed: true), [OrderStatusNow("delivered"), OrderStatusNow("completed")]));
            return Result("completed");
        }

        await SetOrderStatusAsync("delivered");
        await SetOrderStatusAsync("completed");
        await _recorder!.RecordAsync("completed", "done", _money!.Total, _money.Currency, closed: true);
        return Result("completed");
    }

    private async Task<FulfillOrderResult> ResumeAwaitingDeliveryAsync(OrderCarryOver resume)
    {
        _recorder!.ContinueFrom(resume.RecorderSequence, resume.Status, "awaiting delivery");
        _money = resume.Money;
        _shipment = resume.Shipment;
        _seenCarrierEvents.AddRange(resume.SeenCarrierEvents);
        _timeline.Add("continued as new", StepOutcome.Noted, $"history reached {HistoryEventLimit} events");
        return await AwaitDeliveryAsync(resume.DeliverByUtc);
    }

    private void ApplyCarrierEvents()
    {
        while (_carrierEvents.TryDequeue(out var e))
        {
            var at = e.OccurredAt ?? Workflow.UtcNow;
            var detail = string.Join(" ", new[] { e.TrackingNumber, e.Description }.Where(s => s is not null));
            switch (e.Kind)
            {
                case CarrierEventKind.Shipped when !ShippingStarted:
                    _shipment = _shipment! with { ShippedAt = at, LastCarrierEvent = "shipped" };
                    _timeline.Add("carrier shipped", StepOutcome.Noted, detail);
                    break;
                case CarrierEventKind.Delivered when ShippingStarted || _recorder!.Stage == "awaiting shipment":
                    // A delivery scan implies pickup, even if the pickup scan never arrived.
                    _shipment = _shipment! with { ShippedAt = _shipment.ShippedAt ?? at, DeliveredAt = at, LastCarrierEvent = "delivered" };
                    _timeline.Add("carrier delivered", StepOutcome.Noted, detail);
                    break;
                case CarrierEventKind.InTransit when !ShippingStarted:
                    // Carriers often send no pickup event: the first scan in transit means the parcel left.
                    _shipment = _shipment! with { ShippedAt = at, LastCarrierEvent = "in_transit" };
                    _timeline.Add("carrier shipped", StepOutcome.Noted, detail);
                    break;
                case CarrierEventKind.InTransit:
                case CarrierEventKind.Exception:
                    _shipment = _shipment! with { LastCarrierEvent = e.Kind.ToString().ToLowerInvariant() };
                    _timeline.Add($"carrier {e.Kind}", StepOutcome.Noted, detail);
                    break;
                default:
                    _timeline.Add($"carrier {e.Kind}", StepOutcome.Ignored, "already recorded");
                    break;
            }
        }
    }

    /// <summary>Ends the order without shipping it: compensations in reverse, then the final status everywhere.</summary>
    private async Task<FulfillOrderResult> UnwindAsync(string status, string reason)
    {
        _failure = reason;
        await ClosingStepAsync("record unwinding", () => _recorder!.RecordAsync(status, "compensating", _money?.Total, _money?.Currency));
        await _saga.CompensateAsync();
        var orderStatus = status switch
        {
            "rejected" => "rejected",
            "cancelled" or "expired" => "cancelled",
            _ => "failed",
        };

        var facts = new Dictionary<string, string> { ["reason"] = reason };
        var tellCustomer = status is "cancelled" or "rejected" or "expired";
        if (_inSteps)
        {
            // The order's final status, the customer's email and the closed row in one step. An order that failed
            // validation has no row to move; should the step fail anyway (a data error), the row still closes alone.
            var closing = new StepRecord(
                _recorder!.Prepare(status, "done", _money?.Total, _money?.Currency, closed: true, details: facts),
                _money is null ? null : [OrderStatusNow(orderStatus, reason)],
                tellCustomer && _money is not null ? Notification("order_cancelled", "cancelled") : null);
            try
            {
                await RecordStepAsync(closing);
            }
            catch (Exception e) when (Failures.IsActivityFailure(e))
            {
                // A local activity's failure arrives unwrapped (Failures.IsActivityFailure), an activity's wrapped.
                _timeline.Add("order status", StepOutcome.Failed, Failures.Describe(e));
                await _recorder.RecordAsync(status, "done", _money?.Total, _money?.Currency, closed: true, details: facts);
            }

            return Result(status);
        }

        // The order row may not exist (it failed validation) or refuse the write: the run still closes, with the reason.
        await ClosingStepAsync("order status", () => SetOrderStatusAsync(orderStatus, reason));
        if (tellCustomer)
        {
            await ClosingStepAsync("notify customer", () => NotifyAsync("order_cancelled", "cancelled"));
        }

        await _recorder!.RecordAsync(status, "done", _money?.Total, _money?.Currency, closed: true, details: facts);
        return Result(status);
    }

    /// <summary>A step of the unwind that must not keep the run from closing: a failure is noted on the timeline.</summary>
    private async Task ClosingStepAsync(string step, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e) when (Failures.IsActivityFailure(e) && Workflow.Patched(Patches.UnwindClosesDespiteFailedSteps))
        {
            _timeline.Add(step, StepOutcome.Failed, Failures.Describe(e));
        }
    }

    private async Task ReversePaymentAsync()
    {
        var paymentId = _money?.PaymentId ?? PaymentIds.ForOrder(_input!.OrderId);
        if (_money is { Captured: > 0 } captured)
        {
            var refundId = $"{_input!.OrderId}-reversal";
            var refund = new RefundPaymentInput(refundId, paymentId, captured.Captured - captured.Refunded, captured.Currency, "order unwound");
            RefundSettlement settlement;
            if (Workflow.Patched(Patches.RefundThenAwaitSettlement))
            {
                // Settlement books the refund in the ledger, so an unwound order's ledger nets to zero.
                await Calls.ActivityAsync(
                    (IPaymentActivities a) => a.CreateRefundAsync(refund), ActivityProfiles.ProviderRequest(Deadlines.PaymentCallback));
                settlement = await Calls.ActivityAsync(
                    (IPaymentActivities a) => a.AwaitRefundSettlementAsync(refundId), ActivityProfiles.AwaitingSettlement(Deadlines.PaymentCallback));
            }
            else
            {
                settlement = await Calls.ActivityAsync(
                    (IPaymentActivities a) => a.RefundPaymentAsync(refund), ActivityProfiles.AwaitingCallback(Deadlines.PaymentCallback));
            }

            _money = captured with { Refunded = captured.Refunded + settlement.Amount };
            return;
        }

        await Calls.ActivityAsync((IPaymentActivities a) => a.VoidPaymentAsync(paymentId), ActivityProfiles.Provider);
    }

    private static PostalAddress? ToPostal(Address? address) => address is null
        ? null
        : new PostalAddress(address.Name, address.Line1, address.Line2, address.City, address.Region, address.PostalCode, address.Country);

    private UpdateOrderStatusInput OrderStatusNow(string status, string? reason = null) => new(_input!.OrderId, status, Workflow.UtcNow, reason);

    /// <summary>A step with no rows of its own beyond the order's status (delivery, the end of an unwind).</summary>
    private Task RecordStepAsync(StepRecord record) => _recorder!.RecordStepAsync(record);

    /// <summary>
    /// What the approval gate shows changed. Before <see cref="Patches.OneTransactionPerStep"/> the view is written
    /// again each time; after it, the request and the reminder are steps that carry the view, and the decision's view
    /// travels with the step that records the decision (which comes right after).
    /// </summary>
    private Task PublishApprovalAsync(ApprovalMoment moment)
    {
        if (!_inSteps)
        {
            return _recorder!.RefreshAsync();
        }

        switch (moment)
        {
            case ApprovalMoment.Asked:
                var record = new StepRecord(_recorder!.Prepare("awaiting_approval", "awaiting approval", _money!.Total, _money.Currency), [OrderStatusNow("awaiting_approval")]);
                var request = _approvalRequest! with { Record = record };
                return _steps.BookkeepingAsync((IReadModelActivities a) => a.RequestApprovalAsync(request));
            case ApprovalMoment.Reminded:
                return RecordStepAsync(new StepRecord(
                    _recorder!.PrepareRefresh(), Notification: Notification("approval_needed", "approval-reminder", ("reason", _approvalRequest!.Reason))));
            default:
                return Task.CompletedTask;
        }
    }

    private Task SetOrderStatusAsync(string status, string? reason = null)
    {
        var update = new UpdateOrderStatusInput(_input!.OrderId, status, Workflow.UtcNow, reason);
        return Calls.ActivityAsync((IOrderActivities a) => a.UpdateOrderStatusAsync(update), ActivityProfiles.Bookkeeping);
    }

    /// <summary>Writes a customer email once per order and event (the key makes retries and replays harmless).</summary>
    private Task NotifyAsync(string template, string what, params (string Key, string Value)[] extra)
    {
        var notification = Notification(template, what, extra);
        return Calls.ActivityAsync((INotificationActivities a) => a.NotifyCustomerAsync(notification), ActivityProfiles.Bookkeeping);
    }

    /// <summary>A customer email keyed once per order and event, for a step to write or <see cref="NotifyAsync"/> to send.</summary>
    private CustomerNotification Notification(string template, string what, params (string Key, string Value)[] extra)
    {
        var data = new Dictionary<string, string> { ["orderId"] = _input!.OrderId };
        foreach (var (key, value) in extra)
        {
            data[key] = value;
        }

        return new CustomerNotification($"{_input.OrderId}:{what}", _input.CustomerId, template, data);
    }

    // An order that failed validation has no money facts yet: it ends with zeros, not a null the run would trip on.
    private FulfillOrderResult Result(string status) =>
        new(_input!.OrderId, status, _money ?? new OrderMoney(_input.Currency, 0, null, 0, 0, 0), _shipment, _failure);
}

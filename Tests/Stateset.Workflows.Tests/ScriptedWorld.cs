using System.Collections.Concurrent;
using Stateset.Workflows.Activities;
using Temporalio.Activities;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Stateset.Workflows.Tests;

/// <summary>
/// Stand-ins for every activity, with the same activity names, that record each call and can be told to fail.
/// The payment provider settles authorisations and refunds the way the real one does: the activity stores
/// nothing and returns by async completion, and a "callback" completes it through the Temporal client by
/// task token, so the workflows' real asynchronous path runs. The real activities have their own tests
/// against PostgreSQL; these prove the workflows' orchestration: order, compensations, timers, signals.
/// </summary>
public sealed class ScriptedWorld(ITemporalClient client) :
    IOrderActivities, IInventoryActivities, IPaymentActivities, IRiskActivities, IReadModelActivities,
    INotificationActivities, ILabelActivities, IShipmentActivities, IReturnActivities
{
    private readonly ConcurrentQueue<string> _calls = new();
    private readonly ConcurrentDictionary<string, decimal> _captured = new();
    private readonly ConcurrentDictionary<string, decimal> _refunded = new();
    private readonly ConcurrentDictionary<string, decimal> _refundAmounts = new();
    private int _failedOnce;

    public bool DeclinePayment { get; set; }

    public bool RequireApproval { get; set; }

    public bool FailLabelPurchase { get; set; }

    /// <summary>Gets or sets a value indicating whether authorisations wait for a callback that never comes (a lost provider webhook).</summary>
    public bool LoseAuthorizationCallbacks { get; set; }

    public int RefundCallbacksPerRefund { get; set; } = 1;

    /// <summary>Gets or sets how many first attempts of creating an authorisation never answer, as if their worker died mid-call.</summary>
    public int LostAuthorizationAttempts { get; set; }

    /// <summary>Gets or sets a value indicating whether order status updates fail for good (the order row does not exist).</summary>
    public bool OrderRowMissing { get; set; }

    /// <summary>Gets or sets a value indicating whether placing the order fails for good, as with a data error (22P05) or an unknown SKU.</summary>
    public string? PlaceOrderFailure { get; set; }

    public bool FailRender { get; set; }

    /// <summary>Gets or sets how many rate-shopping attempts fail as if every carrier were down.</summary>
    public int CarrierOutageAttempts { get; set; }

    public bool ReturnEligible { get; set; } = true;

    public decimal ReturnUnitPrice { get; set; } = 50m;

    public decimal DamagedRestockingFeeRate { get; set; } = 0.15m;

    public decimal Captured { get; set; } = 200m;

    /// <summary>Gets or sets what a read-model write waits for before it completes (a slow database), by the stage it writes.</summary>
    public Func<WorkflowRunUpdate, Task>? ReadModelWriteDelay { get; set; }

    /// <summary>
    /// Gets or sets what happens once a print job is queued and before its activity reports back, as a print station
    /// that sees the committed job at once and acknowledges it would.
    /// </summary>
    public Func<PrintJob, Task>? PrintJobQueued { get; set; }

    /// <summary>Gets or sets the start of a call (as <see cref="Calls"/> lists it) that fails non-retryably the first time it is made.</summary>
    public string? FailOnce { get; set; }

    public IReadOnlyList<string> Calls => [.. _calls];

    public IEnumerable<string> CallsTo(string prefix) => _calls.Where(c => c.StartsWith(prefix, StringComparison.Ordinal));

    [Activity]
    public async Task<PlacedOrder> PlaceOrderAsync(PlaceOrderInput input)
    {
        Record($"PlaceOrder {input.OrderId}");
        if (PlaceOrderFailure is { } failure)
        {
            throw new ApplicationFailureException(failure, "DataError", nonRetryable: true);
        }

        var lines = input.Lines.Select((l, i) => new PricedOrderLine(i + 1, l.Sku, l.Quantity, 50m, 50m * l.Quantity)).ToList();
        var total = lines.Sum(l => l.LineTotal);
        await RecordedAsync(input.Record);
        return new PlacedOrder(input.OrderId, input.CustomerId, "pending", input.Currency, lines, total, 0, 0, total);
    }

    [Activity]
    public Task UpdateOrderStatusAsync(UpdateOrderStatusInput input)
    {
        Record($"OrderStatus {input.Status}");
        return OrderRowMissing
            ? throw new ApplicationFailureException($"Order {input.OrderId} does not exist.", CommerceErrorTypes.NotFound, nonRetryable: true)
            : Task.CompletedTask;
    }

    [Activity]
    public async Task<InventoryReservation> ReserveInventoryAsync(ReserveInventoryInput input)
    {
        Record($"Reserve {input.OrderId}");
        await RecordedAsync(input.Record);
        return new InventoryReservation(input.OrderId, input.Lines.Select(l => new ReservedLine(l.Sku, "wh-reno", l.Quantity)).ToList());
    }

    [Activity]
    public Task<InventoryChange> ReleaseInventoryAsync(string orderId)
    {
        Record($"Release {orderId}");
        return Task.FromResult(new InventoryChange(orderId, 1));
    }

    [Activity]
    public Task<InventoryChange> CommitInventoryAsync(string orderId)
    {
        Record($"Commit {orderId}");
        return Task.FromResult(new InventoryChange(orderId, 1));
    }

    [Activity]
    public async Task<InventoryChange> CommitOrderInventoryAsync(CommitOrderInventoryInput input)
    {
        Record($"Commit {input.OrderId}");
        await RecordedAsync(input.Record);
        return new InventoryChange(input.OrderId, 1);
    }

    [Activity]
    public async Task<InventoryChange> RestockReturnAsync(RestockInput input)
    {
        Record($"Restock {input.ReturnId} {string.Join(",", input.Lines.Select(l => $"{l.Sku}x{l.Quantity}"))} at {input.LocationId}");
        await RecordedAsync(input.Record);
        return new InventoryChange(input.ReturnId, input.Lines.Count);
    }

    [Activity]
    public Task<PaymentAuthorization> AuthorizePaymentAsync(AuthorizePaymentInput input)
    {
        Record($"Authorize {input.OrderId} {input.Amount}");
        var token = ActivityExecutionContext.Current.Info.TaskToken;
        if (!LoseAuthorizationCallbacks)
        {
            var paymentId = PaymentIds.ForOrder(input.OrderId);
            Callback(() => DeclinePayment
                ? client.GetAsyncActivityHandle(token).FailAsync(
                    new ApplicationFailureException("Card declined: insufficient funds", CommerceErrorTypes.PaymentDeclined, nonRetryable: true))
                : client.GetAsyncActivityHandle(token).CompleteAsync(new PaymentAuthorization(paymentId, $"psp_{input.OrderId}", input.Amount, input.Currency)));
        }

        throw new CompleteAsyncException();
    }

    [Activity]
    public async Task<PaymentAuthorizationRequested> CreatePaymentAuthorizationAsync(AuthorizePaymentInput input)
    {
        Record($"Authorize {input.OrderId} {input.Amount}");
        var context = ActivityExecutionContext.Current;
        if (context.Info.Attempt <= LostAuthorizationAttempts)
        {
            // The worker died mid-call: this attempt never answers; only the start-to-close timeout ends it.
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }

        await RecordedAsync(input.Record);
        return new PaymentAuthorizationRequested(PaymentIds.ForOrder(input.OrderId), $"psp_{input.OrderId}", "pending");
    }

    [Activity]
    public Task<PaymentAuthorization> AwaitPaymentAuthorizationAsync(string paymentId)
    {
        var info = ActivityExecutionContext.Current.Info;
        Record($"AwaitAuthorization {paymentId} attempt {info.Attempt}");
        var orderId = paymentId.Split(':')[0];
        var authorization = new PaymentAuthorization(paymentId, $"psp_{orderId}", 100m, "USD");
        var declined = new ApplicationFailureException("Card declined: insufficient funds", CommerceErrorTypes.PaymentDeclined, nonRetryable: true);
        if (info.Attempt > 1)
        {
            // A late webhook: the real activity asks the provider, which has settled by now.
            return DeclinePayment ? throw declined : Task.FromResult(authorization);
        }

        if (!LoseAuthorizationCallbacks)
        {
            var token = info.TaskToken;
            Callback(() => DeclinePayment
                ? client.GetAsyncActivityHandle(token).FailAsync(declined)
                : client.GetAsyncActivityHandle(token).CompleteAsync(authorization));
        }

        throw new CompleteAsyncException();
    }

    [Activity]
    public async Task<RefundRequested> CreateRefundAsync(RefundPaymentInput input)
    {
        Record($"Refund {input.RefundId} {input.Amount}");
        _refunded.AddOrUpdate(input.PaymentId, input.Amount, (_, before) => before + input.Amount);
        _refundAmounts[input.RefundId] = input.Amount;
        await RecordedAsync(input.Record);
        return new RefundRequested(input.RefundId, input.PaymentId, $"re_{input.RefundId}", "pending");
    }

    [Activity]
    public Task<RefundSettlement> AwaitRefundSettlementAsync(string refundId)
    {
        Record($"AwaitRefund {refundId}");
        var token = ActivityExecutionContext.Current.Info.TaskToken;
        var settlement = new RefundSettlement(refundId, $"re_{refundId}", _refundAmounts[refundId], "USD");
        for (var i = 0; i < RefundCallbacksPerRefund; i++)
        {
            // A provider that sends its webhook twice: the second completion must change nothing.
            Callback(() => client.GetAsyncActivityHandle(token).CompleteAsync(settlement));
        }

        throw new CompleteAsyncException();
    }

    [Activity]
    public async Task<PaymentCapture> CapturePaymentAsync(CapturePaymentInput input)
    {
        Record($"Capture {input.PaymentId}");
        _captured[input.PaymentId] = 100m;
        await RecordedAsync(input.Record);
        return new PaymentCapture(input.PaymentId, 100m, "USD");
    }

    [Activity]
    public Task VoidPaymentAsync(string paymentId)
    {
        Record($"Void {paymentId}");
        return Task.CompletedTask;
    }

    [Activity]
    public Task<RefundableAmount> GetRefundableAmountAsync(string paymentId)
    {
        Record($"Refundable {paymentId}");
        var refunded = _refunded.GetValueOrDefault(paymentId);
        return Task.FromResult(new RefundableAmount(paymentId, paymentId.Split(':')[0], Captured, refunded, Captured - refunded, "USD"));
    }

    [Activity]
    public Task<RefundSettlement> RefundPaymentAsync(RefundPaymentInput input)
    {
        Record($"Refund {input.RefundId} {input.Amount}");
        _refunded.AddOrUpdate(input.PaymentId, input.Amount, (_, before) => before + input.Amount);
        var token = ActivityExecutionContext.Current.Info.TaskToken;
        var settlement = new RefundSettlement(input.RefundId, $"re_{input.RefundId}", input.Amount, input.Currency);
        for (var i = 0; i < RefundCallbacksPerRefund; i++)
        {
            // A provider that sends its webhook twice: the second completion must change nothing.
            Callback(() => client.GetAsyncActivityHandle(token).CompleteAsync(settlement));
        }

        throw new CompleteAsyncException();
    }

    [Activity]
    public Task RecordRefundLedgerEntryAsync(string refundId)
    {
        Record($"Ledger {refundId}");
        return Task.CompletedTask;
    }

    [Activity]
    public async Task CloseRefundAsync(CloseRefundInput input)
    {
        Record($"Ledger {input.RefundId}");
        await RecordedAsync(input.Record);
    }

    [Activity]
    public async Task<RiskAssessment> AssessOrderRiskAsync(RiskCheckInput input)
    {
        Record($"Risk {input.OrderId}");
        await RecordedAsync(input.Record);
        return new RiskAssessment(input.OrderId, RequireApproval ? 80 : 10, RequireApproval, RequireApproval ? ["amount above threshold"] : []);
    }

    [Activity]
    public async Task<bool> UpsertWorkflowRunAsync(WorkflowRunUpdate update)
    {
        Record($"ReadModel {update.WorkflowId} {update.Status}/{update.Stage}{(update.Closed ? " closed" : string.Empty)}");
        if (ReadModelWriteDelay is { } delay)
        {
            await delay(update);
        }

        return true;
    }

    [Activity]
    public Task RecordStepAsync(StepRecord record) => RecordedAsync(record);

    [Activity]
    public async Task RequestApprovalAsync(ApprovalRequest request)
    {
        Record($"ApprovalRequested {request.SubjectType} {request.SubjectId}");
        await RecordedAsync(request.Record);
    }

    [Activity]
    public async Task RecordApprovalDecisionAsync(ApprovalDecision decision)
    {
        Record($"ApprovalDecision {decision.Decision} by {decision.DecidedBy}");
        await RecordedAsync(decision.Record);
    }

    [Activity]
    public Task<bool> NotifyCustomerAsync(CustomerNotification notification)
    {
        Record($"Notify {notification.Template} {notification.IdempotencyKey}");
        return Task.FromResult(true);
    }

    [Activity]
    public Task<Address> ValidateAddressAsync(ValidateAddressInput input)
    {
        Record($"ValidateAddress {input.Role}");
        if (input.Address.PostalCode == "INVALID")
        {
            throw new ApplicationFailureException($"{input.Role}.postalCode: 'INVALID' is not a ZIP code", ShippingFailures.InvalidAddress, nonRetryable: true);
        }

        return Task.FromResult(input.Address);
    }

    [Activity]
    public Task<Rate> ShopRatesAsync(ShopRatesInput input)
    {
        Record("ShopRates");
        if (ActivityExecutionContext.Current.Info.Attempt <= CarrierOutageAttempts)
        {
            throw new ApplicationFailureException("Every carrier is unavailable", ShippingFailures.CarriersUnavailable);
        }

        return Task.FromResult(new Rate("ridgeline", "GROUND", input.Level, 9.95m, "USD", 4));
    }

    [Activity]
    public async Task<Label> BuyLabelAsync(BuyLabelInput input)
    {
        Record($"BuyLabel {input.ShipmentId}");
        if (FailLabelPurchase)
        {
            throw new ApplicationFailureException("Carrier refused the purchase", ShippingFailures.LabelPurchaseRejected, nonRetryable: true);
        }

        await RecordedAsync(input.Record);
        return new Label($"label-{input.ShipmentId}", input.ShipmentId, input.Rate.Carrier, input.Rate.Service, $"lbl_{input.ShipmentId}", $"1Z{input.ShipmentId}", input.Rate.Amount, input.Rate.Currency, Voided: false);
    }

    [Activity]
    public Task<VoidLabelResult> VoidLabelAsync(VoidLabelInput input)
    {
        Record($"VoidLabel {input.ShipmentId}");
        return Task.FromResult(new VoidLabelResult(input.ShipmentId, Voided: true, null));
    }

    [Activity]
    public async Task<RenderedLabel> RenderLabelAsync(RenderLabelInput input)
    {
        Record($"RenderLabel {input.ShipmentId}");
        if (FailRender)
        {
            throw new ApplicationFailureException("Label artwork exceeds the 4x6 area", "RenderFailed", nonRetryable: true);
        }

        await RecordedAsync(input.Record);
        return new RenderedLabel(input.ShipmentId, $"1Z{input.ShipmentId}", 900, 4000);
    }

    [Activity]
    public async Task<PrintJob> CreatePrintJobAsync(CreatePrintJobInput input)
    {
        Record($"PrintJob {input.ShipmentId} {input.StationId}");
        await RecordedAsync(input.Record);
        var job = new PrintJob($"pj-{input.ShipmentId}", input.ShipmentId, input.StationId, "zpl", "queued", DateTimeOffset.UtcNow, null);
        if (PrintJobQueued is { } queued)
        {
            await queued(job);
        }

        return job;
    }

    [Activity]
    public Task<PrintJob> AcknowledgePrintJobAsync(AcknowledgePrintJobInput input)
    {
        Record($"PrintAck {input.PrintJobId}");
        return Task.FromResult(new PrintJob(input.PrintJobId, input.PrintJobId[3..], input.StationId, "zpl", "printed", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow));
    }

    [Activity]
    public Task<bool> CloseFailedShipmentAsync(CloseFailedShipmentInput input)
    {
        Record($"CloseShipment {input.ShipmentId} {input.Status}");
        return Task.FromResult(true);
    }

    [Activity]
    public async Task<PreparedShipment> PrepareShipmentAsync(PrepareShipmentInput input)
    {
        Record($"PrepareShipment {input.ShipmentId} {input.Direction}");
        var warehouse = new Address("Reno Fulfillment Center", "1255 Gentry Way", null, "Reno", "NV", "89502", "US");
        var customer = input.Customer ?? new Address("Ava Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US");
        var outbound = input.Direction == "outbound";
        await RecordedAsync(input.Record);
        return new PreparedShipment(
            input.ShipmentId, "wh-reno", outbound ? warehouse : customer, outbound ? customer : warehouse, new Parcel(1000, 300, 200, 100), "ps-reno-1");
    }

    [Activity]
    public Task<ReturnEligibility> CheckReturnEligibilityAsync(ReturnRequest request)
    {
        Record($"Eligibility {request.ReturnId}");
        return Task.FromResult(Price(request.ReturnId, request.OrderId, request.Lines));
    }

    [Activity]
    public Task<OpenedReturn> OpenReturnAsync(ReturnRequest request)
    {
        Record($"OpenReturn {request.ReturnId}");
        return Task.FromResult(new OpenedReturn(request.ReturnId, $"RMA-{request.ReturnId}", request.OrderId, "cus-ava", Price(request.ReturnId, request.OrderId, request.Lines)));
    }

    [Activity]
    public Task UpdateReturnStatusAsync(UpdateReturnStatusInput input)
    {
        Record($"ReturnStatus {input.Status}");
        return Task.CompletedTask;
    }

    [Activity]
    public async Task<ReturnEligibility> RecordInspectionAsync(RecordInspectionInput input)
    {
        Record($"Inspection {input.ReturnId} {string.Join(",", input.Lines.Select(l => $"{l.Sku}:{l.Condition}"))}");
        await RecordedAsync(input.Record);
        var lines = input.Lines.Select(l => new ReturnLine(l.Sku, 1, l.Condition)).ToList();
        return Price(input.ReturnId, "o-1", lines);
    }

    private static void Callback(Func<Task> deliver) =>
        _ = Task.Run(async () =>
        {
            // Like a provider's webhook: it arrives a moment after the call that caused it.
            await Task.Delay(20);
            try
            {
                await deliver();
            }
            catch (RpcException)
            {
                // A duplicate callback for an activity already completed is refused by Temporal: nothing changes.
            }
        });

    private ReturnEligibility Price(string returnId, string orderId, IReadOnlyList<ReturnLine> lines)
    {
        var decisions = lines.Select(l =>
        {
            var total = ReturnUnitPrice * l.Quantity;
            var fee = l.Condition == "damaged" ? Math.Round(total * DamagedRestockingFeeRate, 2) : 0m;
            return new ReturnLineDecision(l.Sku, l.Quantity, ReturnEligible, ReturnEligible ? null : "outside the 30-day return window", ReturnUnitPrice, total, fee);
        }).ToList();
        var itemTotal = decisions.Sum(d => d.LineTotal);
        var fees = decisions.Sum(d => d.RestockingFee);
        return new ReturnEligibility(returnId, orderId, ReturnEligible, decisions, "USD", itemTotal, fees, itemTotal - fees);
    }

    /// <summary>
    /// What the real step writes in its transaction besides its rows, recorded as the calls the run used to make for
    /// them (status, email, read model), so a test reads the same whichever path the run took.
    /// </summary>
    private async Task RecordedAsync(StepRecord? record)
    {
        foreach (var status in record?.OrderStatuses ?? [])
        {
            await UpdateOrderStatusAsync(status);
        }

        foreach (var status in record?.ReturnStatuses ?? [])
        {
            await UpdateReturnStatusAsync(status);
        }

        if (record?.Notification is { } notification)
        {
            await NotifyCustomerAsync(notification);
        }

        if (record?.Run is { } run)
        {
            await UpsertWorkflowRunAsync(run);
        }
    }

    private void Record(string call)
    {
        _calls.Enqueue(call);
        if (FailOnce is { } planned && call.StartsWith(planned, StringComparison.Ordinal) && Interlocked.Exchange(ref _failedOnce, 1) == 0)
        {
            throw new ApplicationFailureException($"Injected failure of {call}", "InjectedFault", nonRetryable: true);
        }
    }
}

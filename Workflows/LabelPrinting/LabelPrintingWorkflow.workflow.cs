using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace Stateset.Workflows.LabelPrinting;

/// <summary>
/// <c>label-{shipmentId}</c>: validate and normalise both addresses, rate-shop the carriers, buy the label
/// [void], render 4x6 ZPL and PDF, queue a print job and wait for the station's acknowledgement, and hand the
/// tracking number back. A failure after the purchase voids the label, so no paid label is left active.
/// </summary>
[Workflow]
public sealed class LabelPrintingWorkflow
{
    // Bounds what a stream of stray acknowledgements (sent by hand, say from the Temporal UI) can make the run keep.
    private const int MaxEarlyAcknowledgements = 8;

    private static readonly TimeSpan DefaultPrintAcknowledgementTimeout = TimeSpan.FromMinutes(30);

    private readonly Timeline _timeline = new();
    private readonly Saga _saga;
    private PrintLabelInput? _input;
    private RunRecorder? _recorder;
    private Rate? _rate;
    private Label? _label;
    private PrintJob? _printJob;
    private PrintAcknowledgement? _acknowledgement;
    private List<PrintAcknowledgement> _earlyAcknowledgements = [];
    private string? _failure;

    // Patches.DatabaseStepsAsLocalActivities (only with OneTransactionPerStep): address checks, rendering and the
    // print job, which touch nothing but our database, are local activities.
    private DatabaseSteps _steps = new(local: false);

    /// <summary>Initializes a new instance of the <see cref="LabelPrintingWorkflow"/> class.</summary>
    public LabelPrintingWorkflow() => _saga = new Saga(_timeline);

    /// <summary>Gets the run's status.</summary>
    [WorkflowQuery]
    public LabelStatus Status => new(
        _input?.ShipmentId ?? string.Empty,
        _input?.OrderId ?? string.Empty,
        _recorder?.Status ?? "started",
        _recorder?.Stage ?? "starting",
        _timeline.Entries,
        _rate,
        _label,
        _printJob,
        _saga.Ran,
        _failure);

    /// <summary>Runs the label's steps.</summary>
    [WorkflowRun]
    public async Task<PrintLabelResult> RunAsync(PrintLabelInput input)
    {
        _input = input;
        _recorder = new RunRecorder("LabelPrinting", input.ShipmentId, input.OrderId, customerId: null, () => Status);

        // Patches.OneTransactionPerStep: purchase, rendering and the print job write the view in their transactions;
        // the other writes (before validation and rate shopping, which write no rows, and the close) are local activities.
        var inSteps = Workflow.Patched(Patches.OneTransactionPerStep);
        _recorder.InSteps = inSteps;
        _steps = new DatabaseSteps(inSteps && Workflow.Patched(Patches.DatabaseStepsAsLocalActivities));
        _recorder.Steps = _steps;
        try
        {
            await _recorder.RecordAsync("validating", "addresses");
        }
        catch (Exception e) when (Failures.IsActivityFailure(e) && Workflow.Patched(Patches.FailedRunClosesItsRow))
        {
            // The first write failed for good: the run still ends with a closed row saying why, or none would exist.
            _failure ??= Failures.Describe(e);
            await _recorder.RecordAsync("failed", "done", closed: true, details: new Dictionary<string, string> { ["reason"] = _failure });
            throw;
        }

        try
        {
            var fromInput = new ValidateAddressInput(input.From, "from");
            var toInput = new ValidateAddressInput(input.To, "to");
            var from = await _timeline.RunAsync("validate sender address", () => _steps.BusinessStepAsync(
                (ILabelActivities a) => a.ValidateAddressAsync(fromInput)));
            var to = await _timeline.RunAsync("validate recipient address", () => _steps.BusinessStepAsync(
                (ILabelActivities a) => a.ValidateAddressAsync(toInput)));

            await _recorder.RecordAsync("rating", "rate shopping");
            var shopping = new ShopRatesInput(from, to, input.Parcel, input.ServiceLevel);
            var rate = _rate = await _timeline.RunAsync("rate shopping", () => Calls.ActivityAsync(
                (ILabelActivities a) => a.ShopRatesAsync(shopping), ActivityProfiles.Provider));

            // Registered before buying: a purchase that succeeded at the carrier but timed out here must still be voided.
            var voiding = new VoidLabelInput(input.ShipmentId);
            _saga.Register("void label", () => Calls.ActivityAsync(
                (ILabelActivities a) => a.VoidLabelAsync(voiding), ActivityProfiles.Compensation));
            var purchase = new BuyLabelInput(input.ShipmentId, input.OrderId, rate, from, to, input.Parcel, input.ReturnId);
            if (inSteps)
            {
                purchase = purchase with { Record = new StepRecord(_recorder.Prepare("purchasing", "label purchase")) };
            }
            else
            {
                await _recorder.RecordAsync("purchasing", "label purchase");
            }

            var label = _label = await _timeline.RunAsync("buy label", () => Calls.ActivityAsync(
                (ILabelActivities a) => a.BuyLabelAsync(purchase), ActivityProfiles.Provider));

            var labelFacts = new Dictionary<string, string> { ["trackingNumber"] = label.TrackingNumber, ["carrier"] = label.Carrier };
            var rendering = new RenderLabelInput(input.ShipmentId, from, to, input.Parcel);
            if (inSteps)
            {
                rendering = rendering with { Record = new StepRecord(_recorder.Prepare("rendering", "render ZPL and PDF", label.Amount, label.Currency, details: labelFacts)) };
            }
            else
            {
                await _recorder.RecordAsync("rendering", "render ZPL and PDF", label.Amount, label.Currency, details: labelFacts);
            }

            await _timeline.RunAsync("render label", () => _steps.BusinessStepAsync(
                (ILabelActivities a) => a.RenderLabelAsync(rendering)));

            var printed = await PrintAsync(input, label);
            await _recorder.RecordAsync(printed ? "printed" : "label_ready", "done", label.Amount, label.Currency, closed: true);
            return new PrintLabelResult(
                input.ShipmentId,
                label.Carrier,
                label.Service,
                label.TrackingNumber,
                label.Amount,
                label.Currency,
                _printJob?.Id,
                printed);
        }
        catch (Exception e) when (TemporalException.IsCanceledException(e) || e is ActivityFailureException or ApplicationFailureException)
        {
            var status = TemporalException.IsCanceledException(e) ? "cancelled" : "failed";

            // A cancellation that reached a running step (a print acknowledgement racing the order's cancel) carries
            // no message: the closed row must still say why the label did not succeed.
            _failure = Failures.Describe(e) is { Length: > 0 } described ? described : $"{status} during {_recorder.Stage}";
            await _saga.CompensateAsync();
            if (Workflow.Patched(Patches.LabelClosesFailedShipment))
            {
                await CloseShipmentAsync(input.ShipmentId, status, _failure);
            }

            await _recorder.RecordAsync(status, "done", closed: true, details: new Dictionary<string, string> { ["failure"] = _failure });
            throw Failures.AsBusinessFailure(e, "Label could not be produced", "LabelFailed");
        }
    }

    /// <summary>The print station confirms it printed the job.</summary>
    [WorkflowSignal]
    public async Task PrintedAsync(PrintAcknowledgement acknowledgement)
    {
        // The job's row commits (and the station may see it and acknowledge) before its activity reports back here:
        // such an acknowledgement is kept until the job is known. Runs that predate the patch ignored it.
        if (_printJob is null && _acknowledgement is null && _earlyAcknowledgements.Count < MaxEarlyAcknowledgements &&
            Workflow.Patched(Patches.EarlyPrintAcknowledgement))
        {
            _earlyAcknowledgements.Add(acknowledgement);
            return;
        }

        if (_printJob is null || acknowledgement.PrintJobId != _printJob.Id || _acknowledgement is not null)
        {
            var why = _acknowledgement is not null ? "already acknowledged" : "not the job this label waits for";
            _timeline.Add("print acknowledgement", StepOutcome.Ignored, $"{acknowledgement.PrintJobId} from {acknowledgement.StationId}: {why}");
            return;
        }

        _acknowledgement = acknowledgement;
        await Task.CompletedTask;
    }

    /// <summary>Closes the shipment row as failed or cancelled; a failure to do so is noted, not allowed to keep the run open.</summary>
    private async Task CloseShipmentAsync(string shipmentId, string status, string reason)
    {
        var closing = new CloseFailedShipmentInput(shipmentId, status, reason);
        try
        {
            await Calls.ActivityAsync((ILabelActivities a) => a.CloseFailedShipmentAsync(closing), ActivityProfiles.Compensation);
            _timeline.Add("close shipment", StepOutcome.Compensated, status);
        }
        catch (ActivityFailureException e)
        {
            _timeline.Add("close shipment", StepOutcome.CompensationFailed, Failures.Describe(e));
        }
    }

    private async Task<bool> PrintAsync(PrintLabelInput input, Label label)
    {
        if (input.StationId is null)
        {
            _timeline.Add("print", StepOutcome.Noted, "no print station given");
            return false;
        }

        var job = new CreatePrintJobInput(input.ShipmentId, input.StationId);
        if (_recorder!.InSteps)
        {
            job = job with { Record = new StepRecord(_recorder.Prepare("printing", "waiting for print station", label.Amount, label.Currency)) };
        }
        else
        {
            await _recorder.RecordAsync("printing", "waiting for print station", label.Amount, label.Currency);
        }

        _printJob = await _timeline.RunAsync("queue print job", () => _steps.BusinessStepAsync(
            (ILabelActivities a) => a.CreatePrintJobAsync(job)));
        HonourEarlyAcknowledgements();

        // The station and the gateway learn the job from the stored view; without this write it would show once printed.
        await _recorder.RefreshAsync();

        var timeout = input.PrintAcknowledgementTimeout ?? DefaultPrintAcknowledgementTimeout;
        if (!await Workflow.WaitConditionAsync(() => _acknowledgement is not null, timeout))
        {
            // The label is paid for and valid: hand it back and let the warehouse reprint, rather than void it.
            _timeline.Add("print acknowledgement", StepOutcome.Failed, $"station {input.StationId} did not confirm within {timeout}");
            return false;
        }

        var acknowledged = new AcknowledgePrintJobInput(_acknowledgement!.PrintJobId, _acknowledgement.StationId);
        _printJob = await _timeline.RunAsync("record print acknowledgement", () => _steps.BusinessStepAsync(
            (ILabelActivities a) => a.AcknowledgePrintJobAsync(acknowledged)));
        return true;
    }

    /// <summary>Takes the acknowledgement of this job that came before the job was known; notes the others as ignored.</summary>
    private void HonourEarlyAcknowledgements()
    {
        foreach (var early in _earlyAcknowledgements)
        {
            if (_acknowledgement is null && early.PrintJobId == _printJob!.Id)
            {
                _acknowledgement = early;
                _timeline.Add("print acknowledgement", StepOutcome.Noted, $"{early.PrintJobId} from {early.StationId}: arrived before the job was known");
            }
            else
            {
                var why = _acknowledgement is not null ? "already acknowledged" : "not the job this label waits for";
                _timeline.Add("print acknowledgement", StepOutcome.Ignored, $"{early.PrintJobId} from {early.StationId}: {why}");
            }
        }

        _earlyAcknowledgements = [];
    }
}

using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.LabelPrinting;
using Temporalio.Client;
using Temporalio.Exceptions;
using static Stateset.Workflows.Tests.WorkflowTestKit;

namespace Stateset.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class LabelPrintingWorkflowTests(TemporalFixture temporal)
{
    private static readonly Address Reno = new("Reno Fulfillment Center", "1255 Gentry Way", null, "Reno", "NV", "89502", "US");
    private static readonly Address Toronto = new("Liam Tremblay", "290 Bremner Blvd", "Unit 4", "Toronto", "ON", "M5V 3L9", "CA");

    private ITemporalClient Client => temporal.Environment.Client;

    [Fact]
    public async Task UsToCanada_BuysRendersPrints_AndReturnsTrackingNumber()
    {
        var world = new ScriptedWorld(Client);
        var shipmentId = NewId("s");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(shipmentId, Reno, Toronto), taskQueue);
            var printing = await WaitForStatusAsync(handle, wf => wf.Status, s => s.PrintJob is not null);
            await handle.SignalAsync(wf => wf.PrintedAsync(new PrintAcknowledgement(printing.PrintJob!.Id, "ps-reno-1")));

            var result = await handle.GetResultAsync();

            Assert.True(result.Printed);
            Assert.Equal($"1Z{shipmentId}", result.TrackingNumber);
            Assert.Equal(9.95m, result.Cost);
            await Histories.SaveAsync(Client, "label-us-to-canada", handle.Id);
            await Histories.SaveAsync(Client, "label-steps-us-to-canada", handle.Id);
            await Histories.SaveAsync(Client, "label-local-steps-us-to-canada", handle.Id);
        });

        string[] expected = ["ValidateAddress from", "ValidateAddress to", "ShopRates", $"BuyLabel {shipmentId}", $"RenderLabel {shipmentId}", $"PrintJob {shipmentId} ps-reno-1", $"PrintAck pj-{shipmentId}"];
        Assert.Equal(expected, world.Calls.Where(c => !c.StartsWith("ReadModel", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AcknowledgementBeforeTheRunKnowsItsPrintJob_IsKept_AndHonouredOnceTheJobIsKnown()
    {
        var world = new ScriptedWorld(Client);
        var shipmentId = NewId("s");
        var taskQueue = NewTaskQueue();

        // The station sees the job the moment its row commits and acknowledges it before the activity reports back;
        // a stray acknowledgement of some other job comes first.
        world.PrintJobQueued = async job =>
        {
            var label = Client.GetWorkflowHandle<LabelPrintingWorkflow>(WorkflowIds.Label(shipmentId));
            await label.SignalAsync(wf => wf.PrintedAsync(new PrintAcknowledgement("pj-someone-else", job.StationId)));
            await label.SignalAsync(wf => wf.PrintedAsync(new PrintAcknowledgement(job.Id, job.StationId)));
        };
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(shipmentId, Reno, Toronto), taskQueue);

            var result = await handle.GetResultAsync();

            Assert.True(result.Printed);
            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal("printed", status.PrintJob!.Status);

            // Kept when it reached the run before the job did; with the print job a local activity it usually arrives
            // after (the run hears of the job in the task that queued it, before the signal): either way it is honoured.
            Assert.DoesNotContain(status.Timeline, e => e.Step == "print acknowledgement" && e.Outcome == StepOutcome.Ignored && e.Detail!.StartsWith(status.PrintJob.Id, StringComparison.Ordinal));
            Assert.Contains(status.Timeline, e => e.Step == "print acknowledgement" && e.Outcome == StepOutcome.Ignored && e.Detail!.StartsWith("pj-someone-else", StringComparison.Ordinal));
            await Histories.SaveAsync(Client, "label-early-print-acknowledgement", handle.Id);
        });

        Assert.Equal([$"PrintAck pj-{shipmentId}"], world.CallsTo("PrintAck"));
    }

    [Fact]
    public async Task InvalidPostalCode_FailsAtOnce_WithoutRetrying_AndBuysNothing()
    {
        var world = new ScriptedWorld(Client);
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(NewId("s"), Reno, Toronto with { PostalCode = "INVALID" }), taskQueue);

            var failure = await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowFailedException>(() => handle.GetResultAsync());

            Assert.Equal(ShippingFailures.InvalidAddress, Failures.ErrorType(failure));
            Assert.Contains("to.postalCode", failure.InnerException!.Message, StringComparison.Ordinal);
        });

        Assert.Single(world.CallsTo("ValidateAddress to"));
        Assert.Empty(world.CallsTo("BuyLabel"));
    }

    [Fact]
    public async Task RenderFails_VoidsTheLabelAndClosesTheShipmentAsFailed()
    {
        var world = new ScriptedWorld(Client) { FailRender = true };
        var shipmentId = NewId("s");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(shipmentId, Reno, Toronto), taskQueue);

            await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowFailedException>(() => handle.GetResultAsync());

            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Contains(status.Timeline, e => e.Step == "close shipment" && e.Outcome == StepOutcome.Compensated);
            await Histories.SaveAsync(Client, "label-failure-closes-shipment", handle.Id);
            await Histories.SaveAsync(Client, "label-steps-failure-closes-shipment", handle.Id);
            await Histories.SaveAsync(Client, "label-local-steps-failure-closes-shipment", handle.Id);
        });

        Assert.Single(world.CallsTo($"VoidLabel {shipmentId}"));
        Assert.Single(world.CallsTo($"CloseShipment {shipmentId} failed"));
    }

    [Fact]
    public async Task CarriersDown_RateShoppingRetries_ThenSucceeds()
    {
        var world = new ScriptedWorld(Client) { CarrierOutageAttempts = 2 };
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(NewId("s"), Reno, Toronto, stationId: null), taskQueue);

            var result = await handle.GetResultAsync();

            Assert.Equal("ridgeline", result.Carrier);
        });

        Assert.Equal(3, world.CallsTo("ShopRates").Count());
    }

    [Fact]
    public async Task FailureAfterPurchase_VoidsTheLabel()
    {
        var world = new ScriptedWorld(Client) { FailRender = true };
        var shipmentId = NewId("s");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(shipmentId, Reno, Toronto), taskQueue);

            await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowFailedException>(() => handle.GetResultAsync());

            var status = await handle.QueryAsync(wf => wf.Status);
            Assert.Equal(["void label"], status.CompensationsRun);
            Assert.Equal("failed", status.Status);
            await Histories.SaveAsync(Client, "label-void-after-failure", handle.Id);
            await Histories.SaveAsync(Client, "label-steps-void-after-failure", handle.Id);
            await Histories.SaveAsync(Client, "label-local-steps-void-after-failure", handle.Id);
        });

        Assert.Single(world.CallsTo($"VoidLabel {shipmentId}"));
    }

    [TimeSkippingFact]
    public async Task StationNeverAcknowledges_ReturnsTheLabelUnprinted_WithoutVoidingIt()
    {
        var world = new ScriptedWorld(Client);
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(NewId("s"), Reno, Toronto), taskQueue);

            var result = await handle.GetResultAsync();

            Assert.False(result.Printed);
            Assert.NotNull(result.PrintJobId);
        });

        Assert.Empty(world.CallsTo("VoidLabel"));
    }

    [Fact]
    public async Task FirstReadModelWriteFailingForGood_StillClosesTheRowWithTheReason()
    {
        // The first write is a local activity on the one-transaction-per-step path: its failure must close the row all the same.
        var world = new ScriptedWorld(Client) { FailOnce = "ReadModel label-" };
        var shipmentId = NewId("s");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(Input(shipmentId, Reno, Toronto), taskQueue);

            await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
        });

        Assert.Equal([$"ReadModel label-{shipmentId} validating/addresses", $"ReadModel label-{shipmentId} failed/done closed"], world.CallsTo("ReadModel"));
    }

    private static PrintLabelInput Input(string shipmentId, Address from, Address to, string? stationId = "ps-reno-1") =>
        new(shipmentId, "o-1", from, to, new Parcel(2100, 550, 180, 180), ServiceLevel.Ground, stationId);

    private Task<WorkflowHandle<LabelPrintingWorkflow, PrintLabelResult>> StartAsync(PrintLabelInput input, string taskQueue) =>
        Client.StartWorkflowAsync((LabelPrintingWorkflow wf) => wf.RunAsync(input), new WorkflowOptions(WorkflowIds.Label(input.ShipmentId), taskQueue));
}

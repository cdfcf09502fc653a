using Stateset.Workflows.Common;
using Stateset.Workflows.LabelPrinting;
using Stateset.Workflows.OrderFulfillment;
using Temporalio.Client;
using Temporalio.Worker;
using static Stateset.Workflows.Tests.WorkflowTestKit;

namespace Stateset.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class WorkerRestartTests(TemporalFixture temporal)
{
    private ITemporalClient Client => temporal.Environment.Client;

    [Fact]
    public async Task WorkerStoppedMidOrder_NewWorkerFinishesIt_AndNoSideEffectRunsTwice()
    {
        var world = new ScriptedWorld(Client);
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        WorkflowHandle<OrderFulfillmentWorkflow, FulfillOrderResult>? handle = null;

        // First worker: runs the order up to the point where it waits for the carrier, then stops.
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            handle = await Client.StartWorkflowAsync(
                (OrderFulfillmentWorkflow wf) => wf.RunAsync(Orders.Input(orderId)), new WorkflowOptions(WorkflowIds.Order(orderId), taskQueue));
            var label = Client.GetWorkflowHandle<LabelPrintingWorkflow>(WorkflowIds.Label($"{orderId}-1"));
            var printing = await WaitForStatusAsync(label, wf => wf.Status, s => s.PrintJob is not null);
            await label.SignalAsync(wf => wf.PrintedAsync(new PrintAcknowledgement(printing.PrintJob!.Id, printing.PrintJob.StationId)));
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "awaiting shipment");
        });

        // Signals arrive while no worker runs; a fresh worker (a new process, as far as Temporal knows) replays
        // the history from the start and carries on.
        await handle!.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-1", CarrierEventKind.Shipped)));
        await handle.SignalAsync(wf => wf.CarrierEventAsync(new CarrierEvent("ev-2", CarrierEventKind.Delivered)));
        var client = await TemporalClient.ConnectAsync(new(Client.Connection.Options.TargetHost!) { Namespace = Client.Options.Namespace });
        var options = new TemporalWorkerOptions(taskQueue)
            .AddWorkflow<OrderFulfillmentWorkflow>()
            .AddWorkflow<LabelPrintingWorkflow>()
            .AddAllActivities(world);
        using var second = new TemporalWorker(client, options);
        var result = await second.ExecuteAsync(() => handle.GetResultAsync());

        Assert.Equal("completed", result.Status);
        foreach (var effect in new[] { "PlaceOrder", "Reserve", "Authorize", "Capture", "BuyLabel", "PrintJob", "Commit" })
        {
            Assert.Single(world.CallsTo(effect + " "));
        }
    }
}

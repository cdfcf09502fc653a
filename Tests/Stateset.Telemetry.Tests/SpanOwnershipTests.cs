using System.Collections.Concurrent;
using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Stateset.ServiceDefaults.Telemetry;
using Stateset.ServiceDefaults.Temporal;
using Temporalio.Client;
using Temporalio.Worker;

namespace Stateset.Telemetry.Tests;

/// <summary>
/// Gateway and worker in one process, as the one-command stack hosts them, each with its own tracer provider: every
/// span is exported once, by the service that made it, and the trace stays one tree across the Temporal hop.
/// </summary>
[Collection(TemporalCollection.Name)]
public sealed class SpanOwnershipTests(TemporalFixture fixture)
{
    [Fact]
    public async Task SharedProcess_EachSpanIsExportedOnce_UnderTheServiceThatMadeIt_AndTheChainCrossesTemporal()
    {
        var gatewaySpans = new ConcurrentQueue<Activity>();
        var workerSpans = new ConcurrentQueue<Activity>();
        using var gateway = Provider("stateset-gateway", claimsUnowned: false, gatewaySpans);
        using var worker = Provider("stateset-worker", claimsUnowned: true, workerSpans);

        var client = new TemporalClient(
            fixture.Environment.Client.Connection,
            new TemporalClientOptions { Namespace = fixture.Environment.Client.Options.Namespace, Interceptors = [new TracingInterceptor()] });
        var taskQueue = $"tq-{Guid.NewGuid()}";
        var orderId = Guid.NewGuid().ToString("n");
        using var temporalWorker = new TemporalWorker(client, new TemporalWorkerOptions(taskQueue).AddWorkflow<TracedWorkflow>().AddAllActivities(new TracedActivities()));
        ActivityTraceId trace = default;
        await temporalWorker.ExecuteAsync(async () =>
        {
            WorkflowHandle<TracedWorkflow, TracedResult> handle;
            using (var request = TelemetryCapture.TestSource.StartActivity("POST /orders", ActivityKind.Server))
            {
                // What the gateway's startup filter does for each request it serves.
                SpanOwnership.MarkOwner(request, "stateset-gateway");
                trace = request!.TraceId;
                handle = await client.StartWorkflowAsync((TracedWorkflow wf) => wf.RunAsync(new TracedInput(orderId)), new($"order-{orderId}", taskQueue));
            }

            await handle.GetResultAsync();
        });
        gateway.ForceFlush();
        worker.ForceFlush();

        var fromGateway = gatewaySpans.Where(s => s.TraceId == trace).ToList();
        var fromWorker = workerSpans.Where(s => s.TraceId == trace).ToList();
        Assert.Equal(["POST /orders", "StartWorkflow:TracedWorkflow"], fromGateway.Select(s => s.OperationName).Order());
        Assert.Contains(fromWorker, s => s.OperationName == "RunWorkflow:TracedWorkflow");
        Assert.Contains(fromWorker, s => s.OperationName == "RunActivity:Charge");
        Assert.Empty(fromGateway.Intersect(fromWorker));
        Assert.Equal(fromGateway.Count + fromWorker.Count, fromGateway.Concat(fromWorker).Select(s => s.SpanId).Distinct().Count());

        var request = fromGateway.Single(s => s.OperationName == "POST /orders");
        var start = fromGateway.Single(s => s.OperationName == "StartWorkflow:TracedWorkflow");
        var run = fromWorker.Single(s => s.OperationName == "RunWorkflow:TracedWorkflow");
        var activity = fromWorker.Single(s => s.OperationName == "RunActivity:Charge");
        Assert.Equal(request.SpanId, start.ParentSpanId);
        Assert.Equal(start.SpanId, run.ParentSpanId);
        Assert.Equal(run.SpanId, activity.ParentSpanId);

        // The flags each provider hid from the other are back: the spans still read as sampled.
        Assert.All(fromGateway.Concat(fromWorker), s => Assert.True(s.Recorded, s.OperationName));
    }

    private static TracerProvider Provider(string service, bool claimsUnowned, ConcurrentQueue<Activity> exported) =>
        Sdk.CreateTracerProviderBuilder()
            .AddProcessor(SpanOwnership.ExportOnlyOwned(service, claimsUnowned))
            .AddSource(TelemetryCapture.TestSource.Name, StatesetTelemetry.TemporalSourceName)
            .AddProcessor(new SimpleActivityExportProcessor(new CollectingExporter(exported)))
            .AddProcessor(SpanOwnership.Restore())
            .Build()!;

    private sealed class CollectingExporter(ConcurrentQueue<Activity> exported) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            foreach (var span in batch)
            {
                exported.Enqueue(span);
            }

            return ExportResult.Success;
        }
    }
}

using System.Diagnostics;
using System.Diagnostics.Metrics;
using Stateset.ServiceDefaults.Telemetry;
using Stateset.ServiceDefaults.Temporal;
using Temporalio.Client;
using Temporalio.Worker;

namespace Stateset.Telemetry.Tests;

/// <summary>What the interceptor adds besides spans: business metrics and logging scopes.</summary>
[Collection(TemporalCollection.Name)]
public sealed class WorkerTelemetryTests(TemporalFixture fixture) : IDisposable
{
    private readonly TelemetryCapture _capture = new();
    private readonly string _taskQueue = $"tq-{Guid.NewGuid()}";

    public void Dispose() => _capture.Dispose();

    [Fact]
    public async Task Run_CountsStartAndCompletionAndTimesActivities()
    {
        await RunAsync(new TracedInput(Guid.NewGuid().ToString("n")));

        Assert.Single(_capture.MeasurementsOf("stateset.workflows.started", ("workflow.type", "TracedWorkflow")));
        Assert.Single(_capture.MeasurementsOf("stateset.workflows.completed", ("workflow.type", "TracedWorkflow"), ("status", "delivered")));
        Assert.Empty(_capture.MeasurementsOf("stateset.workflows.compensated"));
        var charge = Assert.Single(_capture.MeasurementsOf("stateset.activity.duration", ("activity.type", "Charge"), ("outcome", "completed")));
        Assert.InRange(charge.Value, 0, 30);
    }

    [Fact]
    public async Task FailedStep_CountsTheFailureAndTheCompensatedRun()
    {
        await RunAsync(new TracedInput(Guid.NewGuid().ToString("n"), false, true));

        Assert.Single(_capture.MeasurementsOf("stateset.activity.failures", ("activity.type", "Decline"), ("error.type", "PaymentDeclined")));
        Assert.Single(_capture.MeasurementsOf("stateset.activity.duration", ("activity.type", "Decline"), ("outcome", "failed")));
        Assert.Single(_capture.MeasurementsOf("stateset.workflows.compensated", ("workflow.type", "TracedWorkflow"), ("status", "cancelled")));
    }

    [Fact]
    public async Task LogLines_InWorkflowAndActivity_CarryWorkflowRunAndOrderIds()
    {
        var orderId = Guid.NewGuid().ToString("n");
        ActivityTraceId trace;
        WorkflowHandle<TracedWorkflow, TracedResult> handle;
        using (var request = TelemetryCapture.TestSource.StartActivity("POST /orders"))
        {
            trace = request!.TraceId;
            handle = await RunAsync(new TracedInput(orderId));
        }

        var workflowLine = Assert.Single(_capture.Logs, line => line.Message == $"Workflow running for {orderId}");
        var activityLine = Assert.Single(_capture.Logs, line => line.Message == $"Charging {orderId}");
        foreach (var line in new[] { workflowLine, activityLine })
        {
            Assert.Equal($"order-{orderId}", line.Scope["WorkflowId"]);
            Assert.Equal(handle.ResultRunId, line.Scope["RunId"]);
            Assert.Equal(orderId, line.Scope["OrderId"]);
        }

        // The activity runs inside its span, so its lines also carry the order's trace id.
        Assert.Equal(trace.ToHexString(), activityLine.Scope["TraceId"]);
    }

    [Fact]
    public async Task LogLines_OfANonOrderWorkflow_HaveNoOrderId()
    {
        var id = $"label-{Guid.NewGuid():n}";
        var client = Client();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(_taskQueue).AddWorkflow<TracedWorkflow>().AddAllActivities(new TracedActivities()));
        await worker.ExecuteAsync(() => client.ExecuteWorkflowAsync((TracedWorkflow wf) => wf.RunAsync(new TracedInput("x-1")), new(id, _taskQueue)));

        var activityLine = Assert.Single(_capture.Logs, line => line.Message == "Charging x-1");
        Assert.Equal(id, activityLine.Scope["WorkflowId"]);
        Assert.False(activityLine.Scope.ContainsKey("OrderId"));
    }

    [Fact]
    public async Task SdkMetrics_OfARealWorker_ReachTheTemporalioMeter()
    {
        var names = new HashSet<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == TelemetryExtensions.TemporalSdkMeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, _, _) => Remember(instrument.Name));
        listener.SetMeasurementEventCallback<double>((instrument, _, _, _) => Remember(instrument.Name));
        listener.Start();
        var connection = fixture.Environment.Client.Connection;
        var client = await TemporalClient.ConnectAsync(new(connection.Options.TargetHost!)
        {
            Namespace = fixture.Environment.Client.Options.Namespace,
            Runtime = TemporalMetricsBridge.Runtime,
        });
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(_taskQueue).AddWorkflow<TracedWorkflow>().AddAllActivities(new TracedActivities()));

        await worker.ExecuteAsync(() => client.ExecuteWorkflowAsync(
            (TracedWorkflow wf) => wf.RunAsync(new TracedInput("sdk-1")), new($"order-{Guid.NewGuid():n}", _taskQueue)));

        lock (names)
        {
            Assert.Contains("temporal_request", names);
            Assert.Contains("temporal_workflow_completed", names);
            Assert.Contains("temporal_activity_execution_latency", names);
        }

        void Remember(string name)
        {
            lock (names)
            {
                names.Add(name);
            }
        }
    }

    private async Task<WorkflowHandle<TracedWorkflow, TracedResult>> RunAsync(TracedInput input)
    {
        var client = Client();
        using var worker = new TemporalWorker(client, new TemporalWorkerOptions(_taskQueue).AddWorkflow<TracedWorkflow>().AddAllActivities(new TracedActivities()));
        return await worker.ExecuteAsync(async () =>
        {
            var handle = await client.StartWorkflowAsync((TracedWorkflow wf) => wf.RunAsync(input), new($"order-{input.OrderId}", _taskQueue));
            await handle.GetResultAsync();
            return handle;
        });
    }

    private TemporalClient Client() => new(
        fixture.Environment.Client.Connection,
        new TemporalClientOptions { Namespace = fixture.Environment.Client.Options.Namespace, Interceptors = [new TracingInterceptor()], LoggerFactory = _capture.LoggerFactory });
}

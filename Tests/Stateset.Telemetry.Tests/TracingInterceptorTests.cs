using System.Diagnostics;
using Stateset.ServiceDefaults.Temporal;
using Temporalio.Client;
using Temporalio.Worker;

namespace Stateset.Telemetry.Tests;

[Collection(TemporalCollection.Name)]
public sealed class TracingInterceptorTests(TemporalFixture fixture) : IDisposable
{
    private readonly TelemetryCapture _capture = new();
    private readonly string _taskQueue = $"tq-{Guid.NewGuid()}";

    public void Dispose() => _capture.Dispose();

    [Fact]
    public async Task Start_WorkflowAndActivity_FormOneTraceUnderTheRequest()
    {
        var client = TracedClient();
        var orderId = Guid.NewGuid().ToString("n");
        using var worker = Worker(client);

        await worker.ExecuteAsync(async () =>
        {
            WorkflowHandle<TracedWorkflow, TracedResult> handle;
            ActivityTraceId trace;
            ActivitySpanId requestSpan;
            using (var request = TelemetryCapture.TestSource.StartActivity("POST /orders"))
            {
                trace = request!.TraceId;
                requestSpan = request.SpanId;
                handle = await client.StartWorkflowAsync((TracedWorkflow wf) => wf.RunAsync(new TracedInput(orderId)), new($"order-{orderId}", _taskQueue));
            }

            await handle.GetResultAsync();

            var start = _capture.SingleSpan(trace, "StartWorkflow:TracedWorkflow");
            var run = _capture.SingleSpan(trace, "RunWorkflow:TracedWorkflow");
            var activity = _capture.SingleSpan(trace, "RunActivity:Charge");
            Assert.Equal(requestSpan, start.ParentSpanId);
            Assert.Equal(ActivityKind.Client, start.Kind);
            Assert.Equal(start.SpanId, run.ParentSpanId);
            Assert.Equal(run.SpanId, activity.ParentSpanId);
            Assert.Equal($"order-{orderId}", run.GetTagItem("temporalWorkflowID"));
            Assert.Equal(handle.ResultRunId, activity.GetTagItem("temporalRunID"));
        });
    }

    [Fact]
    public async Task Signal_CarriesTheSendersContextIntoTheWorkflow()
    {
        var client = TracedClient();
        var orderId = Guid.NewGuid().ToString("n");
        using var worker = Worker(client);

        await worker.ExecuteAsync(async () =>
        {
            var handle = await client.StartWorkflowAsync(
                (TracedWorkflow wf) => wf.RunAsync(new TracedInput(orderId, true)), new($"order-{orderId}", _taskQueue));
            ActivityTraceId trace;
            using (var operatorAction = TelemetryCapture.TestSource.StartActivity("POST /orders/approve"))
            {
                trace = operatorAction!.TraceId;
                await handle.SignalAsync(wf => wf.ProceedAsync());
            }

            await handle.GetResultAsync();

            var signal = _capture.SingleSpan(trace, "SignalWorkflow:Proceed");
            var handled = _capture.SingleSpan(trace, "HandleSignal:Proceed");
            Assert.Equal(signal.SpanId, handled.ParentSpanId);
        });
    }

    [Fact]
    public async Task Failure_MarksTheActivitySpanAsError()
    {
        var client = TracedClient();
        var orderId = Guid.NewGuid().ToString("n");
        using var worker = Worker(client);

        await worker.ExecuteAsync(async () =>
        {
            ActivityTraceId trace;
            using (var request = TelemetryCapture.TestSource.StartActivity("POST /orders"))
            {
                trace = request!.TraceId;
                await client.ExecuteWorkflowAsync((TracedWorkflow wf) => wf.RunAsync(new TracedInput(orderId, false, true)), new($"order-{orderId}", _taskQueue));
            }

            var declined = _capture.SingleSpan(trace, "RunActivity:Decline");
            Assert.Equal(ActivityStatusCode.Error, declined.Status);
            Assert.Equal("card declined", declined.StatusDescription);
        });
    }

    [Fact]
    public async Task Replay_CreatesNoWorkflowSpans()
    {
        var client = TracedClient();
        var orderId = Guid.NewGuid().ToString("n");
        using var worker = Worker(client);
        var handle = await worker.ExecuteAsync(async () =>
        {
            var started = await client.StartWorkflowAsync(
                (TracedWorkflow wf) => wf.RunAsync(new TracedInput(orderId)), new($"order-{orderId}", _taskQueue));
            await started.GetResultAsync();
            return started;
        });
        var history = await handle.FetchHistoryAsync();
        _capture.Spans.Clear();
        _capture.Measurements.Clear();

        var replayer = new WorkflowReplayer(new WorkflowReplayerOptions { Interceptors = [new TracingInterceptor()] }.AddWorkflow<TracedWorkflow>());
        var result = await replayer.ReplayWorkflowAsync(history, throwOnReplayFailure: false);

        Assert.Null(result.ReplayFailure);
        Assert.Empty(_capture.Spans);
        Assert.Empty(_capture.Measurements);
    }

    private TemporalClient TracedClient() => new(
        fixture.Environment.Client.Connection,
        new TemporalClientOptions { Namespace = fixture.Environment.Client.Options.Namespace, Interceptors = [new TracingInterceptor()], LoggerFactory = _capture.LoggerFactory });

    private TemporalWorker Worker(ITemporalClient client) => new(
        client,
        new TemporalWorkerOptions(_taskQueue).AddWorkflow<TracedWorkflow>().AddAllActivities(new TracedActivities()));
}

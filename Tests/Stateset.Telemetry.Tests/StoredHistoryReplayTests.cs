using Stateset.ServiceDefaults.Temporal;
using Stateset.Workflows.LabelPrinting;
using Stateset.Workflows.OrderFulfillment;
using Temporalio.Common;
using Temporalio.Worker;

namespace Stateset.Telemetry.Tests;

/// <summary>The real order histories (and their label children) the workflow tests keep, replayed with the interceptor installed.</summary>
[Collection(TemporalCollection.Name)]
public sealed class StoredHistoryReplayTests : IDisposable
{
    private readonly TelemetryCapture _capture = new();

    public static TheoryData<string> OrderHistories()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Histories"), "order-*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    public void Dispose() => _capture.Dispose();

    [Theory]
    [MemberData(nameof(OrderHistories))]
    public async Task Replay_StaysDeterministicAndEmitsNothing(string file)
    {
        var json = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Histories", file));
        var replayer = new WorkflowReplayer(new WorkflowReplayerOptions { Interceptors = [new TracingInterceptor()] }.AddWorkflow<OrderFulfillmentWorkflow>().AddWorkflow<LabelPrintingWorkflow>());

        var result = await replayer.ReplayWorkflowAsync(WorkflowHistory.FromJson($"replay-{file}", json), throwOnReplayFailure: false);

        Assert.Null(result.ReplayFailure);
        Assert.Empty(_capture.Spans);
        Assert.Empty(_capture.Measurements);
    }
}

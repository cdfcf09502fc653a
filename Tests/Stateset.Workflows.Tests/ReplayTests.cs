using Stateset.Workflows.LabelPrinting;
using Stateset.Workflows.OrderFulfillment;
using Stateset.Workflows.RefundProcessing;
using Stateset.Workflows.ReturnAuthorization;
using Temporalio.Common;
using Temporalio.Worker;

namespace Stateset.Workflows.Tests;

/// <summary>
/// Replays every stored history against today's workflow code. A change that would make a running workflow
/// take a different path on replay (a non-deterministic change) fails here, before it can reach a worker.
/// </summary>
public sealed class ReplayTests
{
    public static TheoryData<string> StoredHistories()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Histories.Directory, "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(StoredHistories))]
    public async Task StoredHistory_ReplaysDeterministically(string file)
    {
        var json = await File.ReadAllTextAsync(Path.Combine(Histories.Directory, file));
        var history = WorkflowHistory.FromJson($"replay-{file}", json);
        var replayer = new WorkflowReplayer(new WorkflowReplayerOptions()
            .AddWorkflow<OrderFulfillmentWorkflow>()
            .AddWorkflow<LabelPrintingWorkflow>()
            .AddWorkflow<RefundProcessingWorkflow>()
            .AddWorkflow<ReturnAuthorizationWorkflow>());

        var result = await replayer.ReplayWorkflowAsync(history, throwOnReplayFailure: false);

        Assert.Null(result.ReplayFailure);
    }

    [Fact]
    public void EveryWorkflowHasStoredHistories()
    {
        var files = Directory.GetFiles(Histories.Directory, "*.json").Select(Path.GetFileName).ToList();

        foreach (var prefix in new[] { "order-", "refund-", "label-", "return-" })
        {
            Assert.Contains(files, f => f!.StartsWith(prefix, StringComparison.Ordinal));
        }
    }
}

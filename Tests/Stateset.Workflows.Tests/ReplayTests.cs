using Stateset.Workflows.Common;
using Stateset.Workflows.LabelPrinting;
using Stateset.Workflows.OrderFulfillment;
using Stateset.Workflows.RefundProcessing;
using Stateset.Workflows.ReturnAuthorization;
using Temporalio.Api.Enums.V1;
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

    /// <summary>
    /// Patches.DatabaseStepsAsLocalActivities is decided once per run: a run recorded on the local-steps path has the
    /// patch's marker once and never schedules one of its database steps as an activity, and the older runs of the
    /// one-transaction-per-step path never ran one as a local activity.
    /// </summary>
    [Fact]
    public async Task StoredHistories_TakeOnePathForTheDatabaseSteps_FromStartToEnd()
    {
        string[] databaseSteps =
        [
            "PlaceOrder", "ReserveInventory", "AssessOrderRisk", "RequestApproval", "RecordApprovalDecision", "PrepareShipment",
            "CommitOrderInventory", "RecordStep", "ValidateAddress", "RenderLabel", "CreatePrintJob", "AcknowledgePrintJob",
        ];
        var files = Directory.GetFiles(Histories.Directory, "*.json")
            .Where(f => Path.GetFileName(f).StartsWith("order-", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("label-", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(files, f => f.Contains("local-steps", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var history = WorkflowHistory.FromJson("stored", await File.ReadAllTextAsync(file));
            var patches = history.Events
                .Where(e => e.EventType == EventType.MarkerRecorded && e.MarkerRecordedEventAttributes.MarkerName == "core_patch")
                .Count(e => e.MarkerRecordedEventAttributes.Details["patch-data"].Payloads_[0].Data.ToStringUtf8().Contains(Patches.DatabaseStepsAsLocalActivities, StringComparison.Ordinal));
            var scheduled = history.Events
                .Where(e => e.EventType == EventType.ActivityTaskScheduled)
                .Select(e => e.ActivityTaskScheduledEventAttributes.ActivityType.Name);
            var local = history.Events
                .Where(e => e.EventType == EventType.MarkerRecorded && e.MarkerRecordedEventAttributes.MarkerName == "core_local_activity")
                .Select(e => e.MarkerRecordedEventAttributes.Details["data"].Payloads_[0].Data.ToStringUtf8());
            var name = Path.GetFileName(file);
            if (name.Contains("local-steps", StringComparison.Ordinal))
            {
                Assert.True(patches == 1, $"{name}: {patches} markers of {Patches.DatabaseStepsAsLocalActivities}");
                Assert.DoesNotContain(scheduled, databaseSteps.Contains);
            }
            else
            {
                Assert.True(patches == 0, $"{name}: {patches} markers of {Patches.DatabaseStepsAsLocalActivities}");
                Assert.DoesNotContain(local, data => databaseSteps.Any(step => data.Contains($"\"activity_type\":\"{step}\"", StringComparison.Ordinal)));
            }
        }
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

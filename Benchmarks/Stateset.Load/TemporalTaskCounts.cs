using System.Globalization;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;

namespace Stateset.Load;

/// <summary>Temporal tasks the worker has run so far, from the SDK's own metrics on the worker's Prometheus endpoint.</summary>
/// <param name="WorkflowTasks">Workflow tasks executed (<c>temporal_workflow_task_execution_latency</c> observations).</param>
/// <param name="ActivityTasks">Activity attempts executed (<c>temporal_activity_execution_latency</c>).</param>
/// <param name="LocalActivities">Local activity attempts (<c>temporal_local_activity_execution_latency</c>).</param>
internal sealed record TemporalTaskCounts(double WorkflowTasks, double ActivityTasks, double LocalActivities)
{
    /// <summary>Reads the counts; the SDK's histograms count one observation per task.</summary>
    public static async Task<TemporalTaskCounts> ReadAsync(HttpClient http, Uri metrics, CancellationToken ct)
    {
        var text = await http.GetStringAsync(metrics, ct);
        double Sum(string histogram) => text.Split('\n')
            .Where(line => line.StartsWith(histogram, StringComparison.Ordinal) && line.Split(' ', 2)[0] is var name
                && (name.EndsWith("_count", StringComparison.Ordinal) || name.Contains("_count{", StringComparison.Ordinal)))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        return new TemporalTaskCounts(
            Sum("temporal_workflow_task_execution_latency"),
            Sum("temporal_activity_execution_latency"),
            Sum("temporal_local_activity_execution_latency"));
    }

    /// <summary>The tasks run between two reads.</summary>
    public TemporalTaskCounts Since(TemporalTaskCounts before) =>
        new(WorkflowTasks - before.WorkflowTasks, ActivityTasks - before.ActivityTasks, LocalActivities - before.LocalActivities);
}

/// <summary>What an order's runs stored in Temporal: its history events by kind, the order run and its label run together.</summary>
internal static class HistoryEvents
{
    /// <summary>Counts the history events of each order's run and its label child, averaged over the orders.</summary>
    public static async Task<IReadOnlyList<(string Kind, double PerOrder)>> PerOrderAsync(ITemporalClient client, IReadOnlyList<string> orderIds, CancellationToken ct)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var orderId in orderIds)
        {
            foreach (var workflowId in new[] { $"order-{orderId}", $"label-{orderId}-1" })
            {
                var history = await client.GetWorkflowHandle(workflowId).FetchHistoryAsync(new() { Rpc = new() { CancellationToken = ct } });
                foreach (var e in history.Events)
                {
                    var kind = e.EventType switch
                    {
                        EventType.WorkflowTaskScheduled => "workflow tasks",
                        EventType.ActivityTaskScheduled => "activities",
                        EventType.MarkerRecorded => "markers (local activities, patches)",
                        EventType.WorkflowExecutionSignaled => "signals",
                        EventType.TimerStarted => "timers",
                        EventType.StartChildWorkflowExecutionInitiated => "child workflows",
                        EventType.UpsertWorkflowSearchAttributes => "search attribute upserts",
                        _ => null,
                    };
                    if (kind is not null)
                    {
                        counts[kind] = counts.GetValueOrDefault(kind) + 1;
                    }

                    counts["all events"] = counts.GetValueOrDefault("all events") + 1;
                }
            }
        }

        return counts.OrderByDescending(c => c.Value).Select(c => (c.Key, (double)c.Value / orderIds.Count)).ToList();
    }
}

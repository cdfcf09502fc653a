using System.Text.Json;
using Stateset.Workflows.LabelPrinting;
using Stateset.Workflows.OrderFulfillment;
using Stateset.Workflows.RefundProcessing;
using Stateset.Workflows.ReturnAuthorization;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Worker;

namespace Stateset.Workflows.Tests;

/// <summary>A real Temporal worker with every workflow, on a task queue of its own, for the length of one test.</summary>
public static class WorkflowTestKit
{
    public static string NewTaskQueue() => $"tq-{Guid.NewGuid():N}";

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>The activity types the run scheduled, in order (local activities are markers, not counted).</summary>
    public static async Task<List<string>> ScheduledActivitiesAsync(WorkflowHandle handle)
    {
        var history = await handle.FetchHistoryAsync();
        return history.Events
            .Where(e => e.EventType == EventType.ActivityTaskScheduled)
            .Select(e => e.ActivityTaskScheduledEventAttributes.ActivityType.Name)
            .ToList();
    }

    /// <summary>The local activities the run recorded, in order: the activity type each <c>core_local_activity</c> marker names.</summary>
    public static async Task<List<string>> LocalActivitiesAsync(WorkflowHandle handle)
    {
        var history = await handle.FetchHistoryAsync();
        return history.Events
            .Where(e => e.EventType == EventType.MarkerRecorded && e.MarkerRecordedEventAttributes.MarkerName == "core_local_activity")
            .Select(e =>
            {
                using var data = JsonDocument.Parse(e.MarkerRecordedEventAttributes.Details["data"].Payloads_[0].Data.Memory);
                return data.RootElement.GetProperty("activity_type").GetString()!;
            })
            .ToList();
    }

    /// <summary>Runs <paramref name="test"/> while a worker serves <paramref name="taskQueue"/> with the given activities.</summary>
    public static async Task RunWorkerAsync(ITemporalClient client, string taskQueue, object activities, Func<Task> test)
    {
        var options = new TemporalWorkerOptions(taskQueue)
            .AddWorkflow<OrderFulfillmentWorkflow>()
            .AddWorkflow<LabelPrintingWorkflow>()
            .AddWorkflow<RefundProcessingWorkflow>()
            .AddWorkflow<ReturnAuthorizationWorkflow>()
            .AddAllActivities(activities.GetType(), activities);
        using var worker = new TemporalWorker(client, options);
        await worker.ExecuteAsync(test);
    }

    /// <summary>
    /// Polls a workflow's status query until it satisfies <paramref name="condition"/>. Waiting for the workflow
    /// to reach a state is not waiting for time: no timer fires while no client awaits a result.
    /// </summary>
    public static async Task<TStatus> WaitForStatusAsync<TWorkflow, TStatus>(
        WorkflowHandle<TWorkflow> handle, System.Linq.Expressions.Expression<Func<TWorkflow, TStatus>> query, Func<TStatus, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        TStatus? last = default;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await handle.QueryAsync(query);
                if (condition(last))
                {
                    return last;
                }
            }
            catch (Temporalio.Exceptions.TemporalException)
            {
                // The first workflow task may not have run yet; queries answer once it has.
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"Workflow {handle.Id} never reached the expected state; last status: {last}");
    }
}

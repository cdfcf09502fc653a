using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Stateset.TemporalServer.Visibility;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>List and count workflows with the visibility filter subset (see <see cref="VisibilityQuery"/>).</summary>
internal sealed partial class TemporalEngine
{
    public ListWorkflowExecutionsResponse List(string ns, string query, int pageSize, ByteString nextPageToken)
    {
        var filter = ParseFilter(query);
        if (filter.GroupBy is not null)
        {
            throw Errors.InvalidArgument("invalid query: 'GROUP BY' clause is only supported for counting workflows.");
        }

        lock (_gate)
        {
            RequireNamespace(ns);
            var matches = Filter(ns, filter);
            var offset = nextPageToken.Length == 4 ? BitConverter.ToInt32(nextPageToken.Span) : 0;
            var size = pageSize > 0 ? pageSize : 1000;
            var response = new ListWorkflowExecutionsResponse();
            response.Executions.AddRange(matches.Skip(offset).Take(size).Select(ExecutionInfo));
            if (offset + size < matches.Count)
            {
                response.NextPageToken = ByteString.CopyFrom(BitConverter.GetBytes(offset + size));
            }

            return response;
        }
    }

    public CountWorkflowExecutionsResponse Count(string ns, string query)
    {
        var filter = ParseFilter(query);
        lock (_gate)
        {
            RequireNamespace(ns);
            var matches = Filter(ns, filter);
            var response = new CountWorkflowExecutionsResponse { Count = matches.Count };
            if (filter.GroupBy is { } groupBy)
            {
                foreach (var group in matches.GroupBy(r => Convert.ToString(FieldValue(r, groupBy), CultureInfo.InvariantCulture) ?? string.Empty))
                {
                    response.Groups.Add(new CountWorkflowExecutionsResponse.Types.AggregationGroup
                    {
                        GroupValues = { KeywordPayload(group.Key) },
                        Count = group.Count(),
                    });
                }
            }

            return response;
        }
    }

    /// <summary>A group's value as Temporal encodes a Keyword search attribute.</summary>
    private static Payload KeywordPayload(string value) => new()
    {
        Metadata = { ["encoding"] = ByteString.CopyFromUtf8("json/plain"), ["type"] = ByteString.CopyFromUtf8("Keyword") },
        Data = ByteString.CopyFromUtf8(JsonSerializer.Serialize(value)),
    };

    private static VisibilityQuery ParseFilter(string query)
    {
        try
        {
            return VisibilityQuery.Parse(query);
        }
        catch (FormatException e)
        {
            throw Errors.InvalidArgument($"invalid query: {e.Message}");
        }
    }

    private List<WorkflowRun> Filter(string ns, VisibilityQuery filter)
    {
        var matches = _allRuns.Where(r => r.Namespace == ns && filter.Matches(field => FieldValue(r, field))).ToList();
        if (filter.OrderBy is { } orderBy)
        {
            matches.Sort((a, b) => VisibilityQuery.CompareValues(FieldValue(a, orderBy), FieldValue(b, orderBy)));
            if (filter.Descending)
            {
                matches.Reverse();
            }
        }
        else
        {
            // Temporal lists newest first by default.
            matches.Reverse();
        }

        return matches;
    }

    private static object? FieldValue(WorkflowRun run, string field) => field switch
    {
        "WorkflowId" => run.WorkflowId,
        "RunId" => run.RunId,
        "WorkflowType" => run.Type.Name,
        "TaskQueue" => run.TaskQueue,
        "ExecutionStatus" => StatusName(run.Status),
        "StartTime" => run.StartTime,
        "ExecutionTime" => run.ExecutionTime,
        "CloseTime" => run.CloseTime,
        "HistoryLength" => (double)run.History.Count,
        "FirstRunId" => run.FirstRunId,
        "ParentWorkflowId" => run.Parent?.Execution.WorkflowId,
        "ParentRunId" => run.Parent?.Execution.RunId,
        "RootWorkflowId" => run.RootExecution?.WorkflowId,
        "RootRunId" => run.RootExecution?.RunId,
        _ => run.SearchAttributes.IndexedFields.TryGetValue(field, out var payload) ? DecodeSearchAttribute(payload) : null,
    };

    private static string StatusName(WorkflowExecutionStatus status) => status switch
    {
        WorkflowExecutionStatus.Running => "Running",
        WorkflowExecutionStatus.Completed => "Completed",
        WorkflowExecutionStatus.Failed => "Failed",
        WorkflowExecutionStatus.Canceled => "Canceled",
        WorkflowExecutionStatus.Terminated => "Terminated",
        WorkflowExecutionStatus.ContinuedAsNew => "ContinuedAsNew",
        WorkflowExecutionStatus.TimedOut => "TimedOut",
        _ => "Unspecified",
    };

    /// <summary>Search attribute payloads are JSON; the SDK's "type" metadata says how to read them.</summary>
    private static object? DecodeSearchAttribute(Payload payload)
    {
        var type = payload.Metadata.TryGetValue("type", out var t) ? t.ToStringUtf8() : string.Empty;
        try
        {
            using var json = JsonDocument.Parse(payload.Data.Memory);
            var root = json.RootElement;
            switch (root.ValueKind)
            {
                case JsonValueKind.Number:
                    return root.GetDouble();
                case JsonValueKind.True:
                case JsonValueKind.False:
                    return root.GetBoolean();
                case JsonValueKind.String:
                    var text = root.GetString()!;
                    if (type.Equals("Datetime", StringComparison.OrdinalIgnoreCase) &&
                        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
                    {
                        return time;
                    }

                    return text;
                case JsonValueKind.Array:
                    return root.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()).ToList();
                default:
                    return null;
            }
        }
        catch (JsonException)
        {
            return Encoding.UTF8.GetString(payload.Data.Span);
        }
    }
}

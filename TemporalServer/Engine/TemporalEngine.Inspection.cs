using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.OperatorService.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>
/// What tools that inspect runs need (the Temporal UI, the CLI): who polls a task queue, history newest first, and
/// the search attributes a namespace knows.
/// </summary>
internal sealed partial class TemporalEngine
{
    /// <summary>A poller is listed for this long after its last poll, as Temporal's matching service keeps them.</summary>
    private static readonly TimeSpan PollerListedFor = TimeSpan.FromMinutes(5);

    /// <summary>The attributes every Temporal namespace has, with the types Temporal gives them.</summary>
    private static readonly (string Name, IndexedValueType Type)[] SystemSearchAttributes =
    [
        ("WorkflowId", IndexedValueType.Keyword),
        ("RunId", IndexedValueType.Keyword),
        ("WorkflowType", IndexedValueType.Keyword),
        ("TaskQueue", IndexedValueType.Keyword),
        ("ExecutionStatus", IndexedValueType.Keyword),
        ("StartTime", IndexedValueType.Datetime),
        ("ExecutionTime", IndexedValueType.Datetime),
        ("CloseTime", IndexedValueType.Datetime),
        ("HistoryLength", IndexedValueType.Int),
        ("ParentWorkflowId", IndexedValueType.Keyword),
        ("ParentRunId", IndexedValueType.Keyword),
        ("RootWorkflowId", IndexedValueType.Keyword),
        ("RootRunId", IndexedValueType.Keyword),
    ];

    private readonly Dictionary<(string Ns, string Name), IndexedValueType> _registeredSearchAttributes = [];

    public DescribeTaskQueueResponse DescribeTaskQueue(DescribeTaskQueueRequest request)
    {
        if (string.IsNullOrEmpty(request.TaskQueue?.Name))
        {
            throw Errors.InvalidArgument("TaskQueue is not set on request.");
        }

        lock (_gate)
        {
            RequireNamespace(request.Namespace);
            var key = (request.Namespace, request.TaskQueue.Name);
            var pollers = request.TaskQueueType == TaskQueueType.Activity
                ? _activityQueues.TryGetValue(key, out var activities) ? activities.Pollers : null
                : _workflowQueues.TryGetValue(key, out var workflows) ? workflows.Pollers : null;
            var response = new DescribeTaskQueueResponse();
            var listedSince = NowLocked() - PollerListedFor;
            foreach (var (identity, lastAccess) in (pollers ?? []).Where(p => p.Value >= listedSince).OrderByDescending(p => p.Value))
            {
                response.Pollers.Add(new PollerInfo
                {
                    Identity = identity,
                    LastAccessTime = Timestamp.FromDateTimeOffset(lastAccess),

                    // Temporal's default when a worker sets no rate limit.
                    RatePerSecond = 100_000,
                });
            }

            return response;
        }
    }

    /// <summary>How many events of the newest run of <paramref name="workflowId"/> the engine holds in memory, and how many it has.</summary>
    internal (int InMemory, int Count) HeldEvents(string ns, string workflowId)
    {
        lock (_gate)
        {
            var history = FindRun(ns, new WorkflowExecution { WorkflowId = workflowId }).History;
            return (history.Count - history.InMemoryFrom, history.Count);
        }
    }

    /// <summary>History newest first, in pages; the token is the id below which the next page starts.</summary>
    public GetWorkflowExecutionHistoryReverseResponse GetHistoryReverse(GetWorkflowExecutionHistoryReverseRequest request)
    {
        lock (_gate)
        {
            var run = FindRun(request.Namespace, request.Execution);
            long below = run.History.Count + 1;
            if (!request.NextPageToken.IsEmpty)
            {
                if (request.NextPageToken.Length != 8)
                {
                    throw Errors.InvalidArgument("Invalid NextPageToken.");
                }

                below = Math.Min(below, BitConverter.ToInt64(request.NextPageToken.Span));
            }

            var pageSize = request.MaximumPageSize > 0 ? request.MaximumPageSize : 1000;
            var first = Math.Max(1, below - pageSize);
            var response = new GetWorkflowExecutionHistoryReverseResponse { History = new History() };
            var page = EventsFrom(run, (int)first - 1, (int)(below - first));
            page.Reverse();
            response.History.Events.AddRange(page);

            if (first > 1)
            {
                response.NextPageToken = ByteString.CopyFrom(BitConverter.GetBytes(first));
            }

            return response;
        }
    }

    /// <summary>
    /// Remembers registered attributes so tools can offer them before any run sets them; runs need no registration
    /// (their payloads carry the type).
    /// </summary>
    public void RegisterSearchAttributes(string ns, IDictionary<string, IndexedValueType> attributes) => Execute(() =>
    {
        RequireNamespace(ns);
        foreach (var (name, type) in attributes)
        {
            if (SystemSearchAttributes.Any(s => s.Name == name))
            {
                throw Errors.InvalidArgument($"Search attribute {name} is reserved by system.");
            }

            _registeredSearchAttributes[(ns, name)] = type;
        }
    });

    /// <summary>The system attributes, plus custom ones registered or set by any run of the namespace (typed by their payload).</summary>
    public ListSearchAttributesResponse ListSearchAttributes(string ns)
    {
        lock (_gate)
        {
            RequireNamespace(ns);
            var response = new ListSearchAttributesResponse();
            foreach (var (name, type) in SystemSearchAttributes)
            {
                response.SystemAttributes[name] = type;
            }

            foreach (var ((attributeNs, name), type) in _registeredSearchAttributes)
            {
                if (attributeNs == ns)
                {
                    response.CustomAttributes[name] = type;
                }
            }

            foreach (var run in _allRuns)
            {
                if (run.Namespace != ns)
                {
                    continue;
                }

                foreach (var (name, payload) in run.SearchAttributes.IndexedFields)
                {
                    if (!response.CustomAttributes.ContainsKey(name) && !response.SystemAttributes.ContainsKey(name) &&
                        payload.Metadata.TryGetValue("type", out var type) &&
                        System.Enum.TryParse<IndexedValueType>(type.ToStringUtf8(), ignoreCase: true, out var parsed))
                    {
                        response.CustomAttributes[name] = parsed;
                    }
                }
            }

            return response;
        }
    }

    /// <summary>Records who polls a queue and when, then hands the queue to the poll loop (called under the lock).</summary>
    private TaskQueue<T> Polled<T>(TaskQueue<T> queue, string identity)
        where T : class
    {
        queue.Pollers[string.IsNullOrEmpty(identity) ? "unknown" : identity] = NowLocked();
        return queue;
    }
}

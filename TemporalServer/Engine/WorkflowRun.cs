using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Update.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>The mutable state of one workflow run. Only read or changed under the engine lock.</summary>
internal sealed class WorkflowRun
{
    private readonly TaskCompletionSource _closed = NewSignal();
    private TaskCompletionSource? _nextEvent;

    public WorkflowRun(string ns, string workflowId, string runId)
    {
        Namespace = ns;
        WorkflowId = workflowId;
        RunId = runId;
    }

    public string Namespace { get; }

    public string WorkflowId { get; }

    public string RunId { get; }

    public WorkflowExecution Execution => new() { WorkflowId = WorkflowId, RunId = RunId };

    public string FirstRunId { get; set; } = string.Empty;

    public required WorkflowType Type { get; init; }

    public required string TaskQueue { get; init; }

    public string RequestId { get; set; } = string.Empty;

    public Duration? ExecutionTimeout { get; init; }

    public Duration? RunTimeout { get; init; }

    public Duration TaskTimeout { get; init; } = Duration.FromTimeSpan(TimeSpan.FromSeconds(10));

    public RetryPolicy? RetryPolicy { get; init; }

    public Memo Memo { get; } = new();

    public SearchAttributes SearchAttributes { get; } = new();

    public WorkflowExecutionStatus Status { get; set; } = WorkflowExecutionStatus.Running;

    public bool IsOpen => Status == WorkflowExecutionStatus.Running;

    public DateTimeOffset StartTime { get; init; }

    public DateTimeOffset ExecutionTime { get; set; }

    public DateTimeOffset? CloseTime { get; set; }

    public RunHistory History { get; } = new();

    /// <summary>Gets the events that arrived while a workflow task was running; they are written after its completion.</summary>
    public List<HistoryEvent> Buffered { get; } = [];

    public WorkflowTaskState? WorkflowTask { get; set; }

    /// <summary>Gets or sets the worker's sticky queue: the worker caches the run, so its tasks carry only new events.</summary>
    public string? StickyQueue { get; set; }

    public TimeSpan StickyScheduleToStart { get; set; } = TimeSpan.FromSeconds(5);

    public long PreviousStartedEventId { get; set; }

    /// <summary>Gets or sets a value indicating whether a workflow task must follow the one now running.</summary>
    public bool NeedsWorkflowTask { get; set; }

    public Dictionary<long, ActivityState> Activities { get; } = [];

    public Dictionary<string, TimerState> Timers { get; } = [];

    public Dictionary<long, ChildState> Children { get; } = [];

    public Dictionary<string, UpdateState> Updates { get; } = [];

    public List<QueryTask> HeldQueries { get; } = [];

    /// <summary>Gets the request ids of signals already applied, so a client's retry of a signal is not applied twice.</summary>
    public HashSet<string> SignalRequestIds { get; } = [];

    public ParentLink? Parent { get; init; }

    public WorkflowExecution? RootExecution { get; init; }

    public bool CancelRequested { get; set; }

    /// <summary>Gets or sets a value indicating whether the commands of a completed workflow task are being written.</summary>
    public bool ApplyingCommands { get; set; }

    public List<ScheduledTimer> WorkflowTimeouts { get; } = [];

    /// <summary>Gets a task that completes when the next event is written.</summary>
    public Task NextEvent => (_nextEvent ??= NewSignal()).Task;

    /// <summary>Gets a task that completes when the run closes.</summary>
    public Task Closed => _closed.Task;

    public long NextEventId => History.Count + 1;

    public long HistorySizeBytes { get; set; }

    /// <summary>Gets or sets the run's place in creation order (the order lists and the store keep).</summary>
    public long Sequence { get; set; }

    /// <summary>Gets or sets how many of the history's events the store holds.</summary>
    public int PersistedEventCount { get; set; }

    public bool HasOutstandingWork =>
        IsOpen && (WorkflowTask is not null || Activities.Values.Any(a => a.State != ActivityStatus.Backoff));

    public void NotifyChanged()
    {
        var waiting = _nextEvent;
        _nextEvent = null;
        waiting?.TrySetResult();
        if (!IsOpen)
        {
            _closed.TrySetResult();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal sealed record ParentLink(string Namespace, WorkflowExecution Execution, long InitiatedEventId);

internal sealed class WorkflowTaskState
{
    public long ScheduledEventId { get; set; }

    public long StartedEventId { get; set; }

    public int Attempt { get; set; } = 1;

    public bool Started => StartedEventId > 0;

    public DateTime ScheduledRealUtc { get; set; } = DateTime.UtcNow;

    public DateTimeOffset ScheduledTime { get; set; }

    public DateTimeOffset? StartedTime { get; set; }

    public Guid Token { get; set; }

    public ScheduledTimer? Timeout { get; set; }

    public string QueueName { get; set; } = string.Empty;

    public bool Sticky { get; set; }

    public ScheduledTimer? StickyTimeout { get; set; }

    public List<string> DeliveredUpdates { get; } = [];
}

internal enum ActivityStatus
{
    Scheduled,
    Started,
    Backoff,
}

internal sealed class ActivityState
{
    public required long ScheduledEventId { get; init; }

    public required ActivityTaskScheduledEventAttributes Attributes { get; init; }

    public ActivityStatus State { get; set; } = ActivityStatus.Scheduled;

    public int Attempt { get; set; } = 1;

    public DateTimeOffset ScheduledTime { get; init; }

    public DateTimeOffset CurrentAttemptScheduledTime { get; set; }

    public DateTime QueuedRealUtc { get; set; } = DateTime.UtcNow;

    public DateTimeOffset? StartedTime { get; set; }

    public DateTimeOffset? LastHeartbeatTime { get; set; }

    /// <summary>Gets or sets when an activity in backoff is queued again.</summary>
    public DateTimeOffset RetryDue { get; set; }

    public string StartedIdentity { get; set; } = string.Empty;

    public Guid Token { get; set; }

    public Payloads? HeartbeatDetails { get; set; }

    public Failure? LastFailure { get; set; }

    public bool CancelRequested { get; set; }

    /// <summary>Gets or sets a value indicating whether the commands of a completed workflow task are being written.</summary>
    public bool ApplyingCommands { get; set; }

    public long CancelRequestedEventId { get; set; }

    public ScheduledTimer? AttemptTimer { get; set; }

    public ScheduledTimer? HeartbeatTimer { get; set; }

    public ScheduledTimer? ScheduleToCloseTimer { get; set; }
}

internal sealed class TimerState
{
    public required long StartedEventId { get; init; }

    public required ScheduledTimer Timer { get; init; }
}

internal sealed class ChildState
{
    public required long InitiatedEventId { get; init; }

    public required StartChildWorkflowExecutionInitiatedEventAttributes Attributes { get; init; }

    public long StartedEventId { get; set; }

    public HistoryEvent? StartedEvent { get; set; }

    public string RunId { get; set; } = string.Empty;
}

internal sealed class UpdateState
{
    public required Request Request { get; init; }

    public UpdateWorkflowExecutionLifecycleStage Stage { get; set; } = UpdateWorkflowExecutionLifecycleStage.Admitted;

    public bool Delivered { get; set; }

    public Outcome? Outcome { get; set; }

    public long AcceptedEventId { get; set; }

    public TaskCompletionSource Changed { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void NotifyChanged()
    {
        var previous = Changed;
        Changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        previous.TrySetResult();
    }
}

internal sealed class QueryTask
{
    public required WorkflowRun Run { get; init; }

    public required QueryWorkflowRequest Request { get; init; }

    public Guid Token { get; } = Guid.NewGuid();

    public bool Taken { get; set; }

    public TaskCompletionSource<RespondQueryTaskCompletedRequest> Result { get; } =
        new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A workflow task queue entry: a workflow task of a run, or a (legacy) query against it.</summary>
internal sealed record WorkflowTaskEntry(WorkflowRun Run, long ScheduledEventId, QueryTask? Query, bool Sticky = false);

internal sealed record ActivityTaskEntry(WorkflowRun Run, ActivityState Activity, int Attempt);

internal sealed class ScheduledTimer
{
    public required DateTimeOffset Due { get; init; }

    public required long Sequence { get; init; }

    public required Action Fire { get; init; }
}

using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.TaskQueue.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>Run creation, history writing, workflow-task scheduling and run closing.</summary>
internal sealed partial class TemporalEngine
{
    private static readonly TimeSpan DefaultTaskTimeout = TimeSpan.FromSeconds(10);

    /// <summary>What a new run needs beyond its started event.</summary>
    private sealed record NewRun(
        string Namespace,
        string WorkflowId,
        string RequestId,
        WorkflowExecutionStartedEventAttributes Started,
        ParentLink? Parent,
        WorkflowExecution? Root,
        TimeSpan Backoff,
        Action<WorkflowRun>? BeforeFirstTask = null,
        string? RunId = null);

    private WorkflowRun? CurrentRun(string ns, string workflowId) =>
        _runsByWorkflowId.TryGetValue((ns, workflowId), out var runs) ? runs[^1] : null;

    /// <summary>Finds a run by id, or the latest run of the workflow when no run id is given.</summary>
    private WorkflowRun FindRun(string ns, WorkflowExecution? execution)
    {
        RequireNamespace(ns);
        if (execution is null || string.IsNullOrEmpty(execution.WorkflowId))
        {
            throw Errors.InvalidArgument("WorkflowId is not set on request.");
        }

        WorkflowRun? run;
        if (string.IsNullOrEmpty(execution.RunId))
        {
            run = CurrentRun(ns, execution.WorkflowId);
        }
        else
        {
            if (!Guid.TryParse(execution.RunId, out _))
            {
                throw Errors.InvalidArgument("RunId is not a valid UUID.");
            }

            _runs.TryGetValue((ns, execution.WorkflowId, execution.RunId), out run);
        }

        return run ?? throw Errors.WorkflowNotFound(execution.WorkflowId, execution.RunId);
    }

    private WorkflowRun FindOpenRun(string ns, WorkflowExecution? execution)
    {
        var run = FindRun(ns, execution);
        return run.IsOpen ? run : throw Errors.AlreadyCompleted();
    }

    private WorkflowRun StartRun(NewRun spec)
    {
        var runId = spec.RunId ?? Guid.NewGuid().ToString();
        var started = spec.Started;
        var now = NowLocked();
        if (string.IsNullOrEmpty(started.FirstExecutionRunId))
        {
            started.FirstExecutionRunId = runId;
        }

        started.OriginalExecutionRunId = runId;
        if (started.Attempt == 0)
        {
            started.Attempt = 1;
        }

        if (started.WorkflowTaskTimeout is null || started.WorkflowTaskTimeout.ToTimeSpan() <= TimeSpan.Zero)
        {
            started.WorkflowTaskTimeout = Duration.FromTimeSpan(DefaultTaskTimeout);
        }

        if (started.WorkflowExecutionExpirationTime is null && started.WorkflowExecutionTimeout is { } executionTimeout &&
            executionTimeout.ToTimeSpan() > TimeSpan.Zero)
        {
            started.WorkflowExecutionExpirationTime = Timestamp.FromDateTimeOffset(now + executionTimeout.ToTimeSpan());
        }

        if (spec.Backoff > TimeSpan.Zero)
        {
            started.FirstWorkflowTaskBackoff = Duration.FromTimeSpan(spec.Backoff);
        }

        started.WorkflowId = spec.WorkflowId;
        if (spec.Root is not null)
        {
            started.RootWorkflowExecution = spec.Root;
        }

        var run = new WorkflowRun(spec.Namespace, spec.WorkflowId, runId)
        {
            Type = started.WorkflowType,
            TaskQueue = started.TaskQueue.Name,
            RequestId = spec.RequestId,
            ExecutionTimeout = started.WorkflowExecutionTimeout,
            RunTimeout = started.WorkflowRunTimeout,
            TaskTimeout = started.WorkflowTaskTimeout,
            RetryPolicy = started.RetryPolicy,
            StartTime = now,
            ExecutionTime = now + spec.Backoff,
            Parent = spec.Parent,
            RootExecution = spec.Root ?? new WorkflowExecution { WorkflowId = spec.WorkflowId, RunId = runId },
            FirstRunId = started.FirstExecutionRunId,
        };
        if (started.Memo is not null)
        {
            run.Memo.Fields.Add(started.Memo.Fields);
        }

        if (started.SearchAttributes is not null)
        {
            run.SearchAttributes.IndexedFields.Add(started.SearchAttributes.IndexedFields);
        }

        var key = (spec.Namespace, spec.WorkflowId);
        if (!_runsByWorkflowId.TryGetValue(key, out var runs))
        {
            runs = [];
            _runsByWorkflowId[key] = runs;
        }

        runs.Add(run);
        _runs[(spec.Namespace, spec.WorkflowId, runId)] = run;
        _allRuns.Add(run);
        run.Sequence = ++_runSequence;

        var startedEvent = NewEvent(EventType.WorkflowExecutionStarted);
        startedEvent.WorkflowExecutionStartedEventAttributes = started;
        Append(run, startedEvent);

        if (started.WorkflowExecutionExpirationTime is { } expiration)
        {
            run.WorkflowTimeouts.Add(Schedule(expiration.ToDateTimeOffset(), () => TimeOutRun(run)));
        }

        if (started.WorkflowRunTimeout is { } runTimeout && runTimeout.ToTimeSpan() > TimeSpan.Zero)
        {
            run.WorkflowTimeouts.Add(Schedule(spec.Backoff + runTimeout.ToTimeSpan(), () => TimeOutRun(run)));
        }

        spec.BeforeFirstTask?.Invoke(run);
        if (spec.Backoff > TimeSpan.Zero)
        {
            run.WorkflowTimeouts.Add(Schedule(spec.Backoff, () =>
            {
                if (run.IsOpen)
                {
                    ScheduleWorkflowTask(run);
                }
            }));
        }
        else
        {
            ScheduleWorkflowTask(run);
        }

        return run;
    }

    /// <summary>Writes an event into the history (giving it the next id) and wakes history long-polls.</summary>
    private void Append(WorkflowRun run, HistoryEvent e, Action<long>? onEventId = null)
    {
        e.EventId = run.NextEventId;
        e.TaskId = e.EventId;
        run.History.Add(e);
        run.HistorySizeBytes += e.CalculateSize();
        MarkDirty(run);
        onEventId?.Invoke(e.EventId);
        run.NotifyChanged();
    }

    /// <summary>
    /// Adds events caused by something outside the workflow's code (signal, activity result, timer) and asks for a
    /// workflow task. While a workflow task runs such events wait in a buffer, because the events of that task's
    /// commands must come first. <paramref name="onEventId"/> runs once the event has its id.
    /// </summary>
    private void AddExternalEvent(WorkflowRun run, HistoryEvent e, Action<long>? onEventId = null) =>
        AddExternalEvents(run, [(e, onEventId)]);

    private void AddExternalEvents(WorkflowRun run, IReadOnlyList<(HistoryEvent Event, Action<long>? OnEventId)> events)
    {
        if (!run.IsOpen)
        {
            return;
        }

        if (run.WorkflowTask is { Started: true } || run.ApplyingCommands)
        {
            if (run.ApplyingCommands)
            {
                foreach (var (e, onEventId) in events)
                {
                    Append(run, e, onEventId);
                }
            }
            else
            {
                foreach (var (e, onEventId) in events)
                {
                    run.Buffered.Add(e);
                    MarkDirty(run);
                    if (onEventId is not null)
                    {
                        _bufferedCallbacks[e] = onEventId;
                    }
                }
            }

            run.NeedsWorkflowTask = true;
            return;
        }

        foreach (var (e, onEventId) in events)
        {
            Append(run, e, onEventId);
        }

        ScheduleWorkflowTask(run);
    }

    private void FlushBuffered(WorkflowRun run)
    {
        foreach (var e in run.Buffered)
        {
            _bufferedCallbacks.Remove(e, out var callback);
            Append(run, e, callback);
        }

        run.Buffered.Clear();
    }

    private void ScheduleWorkflowTask(WorkflowRun run, int attempt = 1)
    {
        if (!run.IsOpen)
        {
            return;
        }

        if (run.WorkflowTask is { } existing)
        {
            if (existing.Started)
            {
                run.NeedsWorkflowTask = true;
            }

            return;
        }

        var sticky = run.StickyQueue is not null;
        var queueName = run.StickyQueue ?? run.TaskQueue;
        var scheduled = NewEvent(EventType.WorkflowTaskScheduled);
        scheduled.WorkflowTaskScheduledEventAttributes = new WorkflowTaskScheduledEventAttributes
        {
            TaskQueue = new TaskQueue { Name = queueName, Kind = sticky ? TaskQueueKind.Sticky : TaskQueueKind.Normal, NormalName = sticky ? run.TaskQueue : string.Empty },
            StartToCloseTimeout = run.TaskTimeout,
            Attempt = attempt,
        };
        Append(run, scheduled);
        var wft = new WorkflowTaskState
        {
            ScheduledEventId = scheduled.EventId,
            Attempt = attempt,
            ScheduledTime = NowLocked(),
            QueueName = queueName,
            Sticky = sticky,
        };
        run.WorkflowTask = wft;
        MarkPossiblyBusy(run);
        WorkflowQueue(run.Namespace, queueName).Add(new WorkflowTaskEntry(run, scheduled.EventId, null, sticky));
        if (sticky)
        {
            // A sticky worker that does not pick the task up in time may be gone: fall back to the normal queue.
            wft.StickyTimeout = Schedule(run.StickyScheduleToStart, () => ResetSticky(run));
        }
    }

    /// <summary>Stops sending the run's tasks to its sticky queue; a task waiting there moves to the normal queue.</summary>
    private void ResetSticky(WorkflowRun run)
    {
        run.StickyQueue = null;
        if (run.IsOpen && run.WorkflowTask is { Started: false, Sticky: true } wft)
        {
            CancelTimer(wft.StickyTimeout);
            wft.Sticky = false;
            wft.QueueName = run.TaskQueue;
            wft.ScheduledRealUtc = DateTime.UtcNow;
            WorkflowQueue(run.Namespace, run.TaskQueue).Add(new WorkflowTaskEntry(run, wft.ScheduledEventId, null));
        }
    }

    /// <summary>Closes a run: writes its close event, stops its timers and tasks, and tells its parent and children.</summary>
    private void CloseRun(WorkflowRun run, HistoryEvent closeEvent, WorkflowExecutionStatus status, bool notifyParent = true)
    {
        if (!run.IsOpen)
        {
            return;
        }

        DropWorkflowTask(run);
        FlushBuffered(run);
        Append(run, closeEvent);
        run.Status = status;
        run.CloseTime = NowLocked();
        foreach (var timer in run.Timers.Values)
        {
            CancelTimer(timer.Timer);
        }

        run.Timers.Clear();
        foreach (var timer in run.WorkflowTimeouts)
        {
            CancelTimer(timer);
        }

        run.WorkflowTimeouts.Clear();
        foreach (var activity in run.Activities.Values)
        {
            StopActivityTimers(activity);
            _activityTokens.Remove(activity.Token);
        }

        run.Activities.Clear();
        foreach (var update in run.Updates.Values.Where(u => u.Stage != Temporalio.Api.Enums.V1.UpdateWorkflowExecutionLifecycleStage.Completed))
        {
            update.NotifyChanged();
        }

        foreach (var query in run.HeldQueries)
        {
            WorkflowQueue(run.Namespace, run.TaskQueue).Add(new WorkflowTaskEntry(run, 0, query));
        }

        run.HeldQueries.Clear();

        if (notifyParent && run.Parent is { } parent)
        {
            Defer(() => NotifyParentOfClose(run, parent, closeEvent));
        }

        foreach (var child in run.Children.Values.Where(c => c.StartedEventId > 0))
        {
            var policy = child.Attributes.ParentClosePolicy;
            var childExecution = new WorkflowExecution { WorkflowId = child.Attributes.WorkflowId, RunId = child.RunId };
            var childNs = child.Attributes.Namespace;
            if (policy is ParentClosePolicy.Terminate or ParentClosePolicy.Unspecified)
            {
                Defer(() => TerminateByPolicy(childNs, childExecution));
            }
            else if (policy == ParentClosePolicy.RequestCancel)
            {
                Defer(() => RequestCancelByPolicy(childNs, childExecution, run));
            }
        }

        run.Children.Clear();
        run.NotifyChanged();
    }

    private void TerminateByPolicy(string ns, WorkflowExecution execution)
    {
        if (FindLatestRunOfChain(ns, execution) is { IsOpen: true } child)
        {
            var e = NewEvent(EventType.WorkflowExecutionTerminated);
            e.WorkflowExecutionTerminatedEventAttributes = new() { Reason = "by parent close policy", Identity = "embedded-temporal-server" };
            CloseRun(child, e, WorkflowExecutionStatus.Terminated);
        }
    }

    private void RequestCancelByPolicy(string ns, WorkflowExecution execution, WorkflowRun parent)
    {
        if (FindLatestRunOfChain(ns, execution) is { IsOpen: true } child)
        {
            RecordCancelRequest(child, "by parent close policy", "embedded-temporal-server", null, parent.Execution);
        }
    }

    /// <summary>A child that continued as new lives on in a later run with the same workflow id.</summary>
    private WorkflowRun? FindLatestRunOfChain(string ns, WorkflowExecution execution)
    {
        _runs.TryGetValue((ns, execution.WorkflowId, execution.RunId), out var run);
        if (run is not null && run.Status != WorkflowExecutionStatus.ContinuedAsNew)
        {
            return run;
        }

        var current = CurrentRun(ns, execution.WorkflowId);
        return current is not null && (run is null || current.FirstRunId == run.FirstRunId) ? current : run;
    }

    private void DropWorkflowTask(WorkflowRun run)
    {
        if (run.WorkflowTask is { } wft)
        {
            CancelTimer(wft.Timeout);
            CancelTimer(wft.StickyTimeout);
            _workflowTaskTokens.Remove(wft.Token);
            foreach (var updateId in wft.DeliveredUpdates)
            {
                if (run.Updates.TryGetValue(updateId, out var update) && update.Stage == UpdateWorkflowExecutionLifecycleStage.Admitted)
                {
                    update.Delivered = false;
                }
            }

            run.WorkflowTask = null;
        }
    }

    private void TimeOutRun(WorkflowRun run)
    {
        if (!run.IsOpen)
        {
            return;
        }

        var e = NewEvent(EventType.WorkflowExecutionTimedOut);
        e.WorkflowExecutionTimedOutEventAttributes = new() { RetryState = RetryState.Timeout };
        CloseRun(run, e, WorkflowExecutionStatus.TimedOut);
    }

    private void NotifyParentOfClose(WorkflowRun child, ParentLink link, HistoryEvent closeEvent)
    {
        if (!_runs.TryGetValue((link.Namespace, link.Execution.WorkflowId, link.Execution.RunId), out var parent) ||
            !parent.IsOpen || !parent.Children.Remove(link.InitiatedEventId, out var state))
        {
            return;
        }

        var execution = new WorkflowExecution { WorkflowId = child.WorkflowId, RunId = state.RunId };
        var ns = child.Namespace;
        HistoryEvent e;
        switch (closeEvent.EventType)
        {
            case EventType.WorkflowExecutionCompleted:
                e = NewEvent(EventType.ChildWorkflowExecutionCompleted);
                e.ChildWorkflowExecutionCompletedEventAttributes = new()
                {
                    Namespace = ns,
                    WorkflowExecution = execution,
                    WorkflowType = child.Type,
                    InitiatedEventId = link.InitiatedEventId,
                    StartedEventId = state.StartedEventId,
                    Result = closeEvent.WorkflowExecutionCompletedEventAttributes.Result,
                };
                break;
            case EventType.WorkflowExecutionFailed:
                e = NewEvent(EventType.ChildWorkflowExecutionFailed);
                e.ChildWorkflowExecutionFailedEventAttributes = new()
                {
                    Namespace = ns,
                    WorkflowExecution = execution,
                    WorkflowType = child.Type,
                    InitiatedEventId = link.InitiatedEventId,
                    StartedEventId = state.StartedEventId,
                    Failure = closeEvent.WorkflowExecutionFailedEventAttributes.Failure,
                    RetryState = closeEvent.WorkflowExecutionFailedEventAttributes.RetryState,
                };
                break;
            case EventType.WorkflowExecutionCanceled:
                e = NewEvent(EventType.ChildWorkflowExecutionCanceled);
                e.ChildWorkflowExecutionCanceledEventAttributes = new()
                {
                    Namespace = ns,
                    WorkflowExecution = execution,
                    WorkflowType = child.Type,
                    InitiatedEventId = link.InitiatedEventId,
                    StartedEventId = state.StartedEventId,
                    Details = closeEvent.WorkflowExecutionCanceledEventAttributes.Details,
                };
                break;
            case EventType.WorkflowExecutionTimedOut:
                e = NewEvent(EventType.ChildWorkflowExecutionTimedOut);
                e.ChildWorkflowExecutionTimedOutEventAttributes = new()
                {
                    Namespace = ns,
                    WorkflowExecution = execution,
                    WorkflowType = child.Type,
                    InitiatedEventId = link.InitiatedEventId,
                    StartedEventId = state.StartedEventId,
                    RetryState = RetryState.Timeout,
                };
                break;
            default:
                e = NewEvent(EventType.ChildWorkflowExecutionTerminated);
                e.ChildWorkflowExecutionTerminatedEventAttributes = new()
                {
                    Namespace = ns,
                    WorkflowExecution = execution,
                    WorkflowType = child.Type,
                    InitiatedEventId = link.InitiatedEventId,
                    StartedEventId = state.StartedEventId,
                };
                break;
        }

        AddExternalEvent(parent, e);
    }

    private void RecordCancelRequest(WorkflowRun run, string reason, string identity, long? externalInitiatedEventId, WorkflowExecution? external)
    {
        if (run.CancelRequested)
        {
            return;
        }

        run.CancelRequested = true;
        var e = NewEvent(EventType.WorkflowExecutionCancelRequested);
        e.WorkflowExecutionCancelRequestedEventAttributes = new() { Cause = reason, Identity = identity };
        if (externalInitiatedEventId is { } initiated)
        {
            e.WorkflowExecutionCancelRequestedEventAttributes.ExternalInitiatedEventId = initiated;
        }

        if (external is not null)
        {
            e.WorkflowExecutionCancelRequestedEventAttributes.ExternalWorkflowExecution = external;
        }

        AddExternalEvent(run, e);
    }

    private static Failure TimeoutFailure(string message, TimeoutType type, Payloads? heartbeatDetails, Failure? cause)
    {
        var failure = new Failure
        {
            Message = message,
            Source = "EmbeddedTemporalServer",
            TimeoutFailureInfo = new TimeoutFailureInfo { TimeoutType = type },
        };
        if (heartbeatDetails is not null)
        {
            failure.TimeoutFailureInfo.LastHeartbeatDetails = heartbeatDetails;
        }

        if (cause is not null)
        {
            failure.Cause = cause;
        }

        return failure;
    }
}

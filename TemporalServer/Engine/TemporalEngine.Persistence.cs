using System.Text.Json;
using Google.Protobuf;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Update.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>
/// Durable state (<c>--db-filename</c>): every change marks its run dirty; a writer commits all dirty runs in one SQLite
/// transaction (a group commit); every RPC waits for the commit that holds its changes before it answers
/// (<see cref="WhenDurableAsync"/>). On start the runs are loaded and their mutable state derived from their histories
/// as Temporal derives it, with the few facts history does not hold read from the run's pending row; then timers,
/// timeouts and queued tasks are armed again from their stored times, so what fell due while the server was down fires.
/// </summary>
internal sealed partial class TemporalEngine
{
    private static readonly JsonSerializerOptions PendingJson = new();
    private readonly RunStore? _store;
    private readonly HashSet<WorkflowRun> _dirty = [];
    private Task _writerLoop = Task.CompletedTask;
    private TaskCompletionSource _writeWanted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _nextCommit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _commitInFlight;
    private bool _namespacesDirty;
    private long _runSequence;

    /// <summary>Completes once every change made so far is on disk (at once without a file).</summary>
    public Task WhenDurableAsync()
    {
        if (_store is null)
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            return _dirty.Count > 0 || _namespacesDirty ? _nextCommit.Task : _commitInFlight?.Task ?? Task.CompletedTask;
        }
    }

    private void MarkDirty(WorkflowRun run)
    {
        if (_store is not null && _dirty.Add(run))
        {
            _writeWanted.TrySetResult();
        }
    }

    private async Task RunWriterAsync()
    {
        while (true)
        {
            await _writeWanted.Task.WaitAsync(_stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            StoreBatch batch;
            List<(WorkflowRun Run, int Count)> written = [];
            TaskCompletionSource commit;
            lock (_gate)
            {
                _writeWanted = new(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_dirty.Count == 0 && !_namespacesDirty)
                {
                    if (_stopping.IsCancellationRequested)
                    {
                        return;
                    }

                    continue;
                }

                batch = new StoreBatch(_namespacesDirty ? [.. _namespaces] : [], []);
                foreach (var run in _dirty)
                {
                    var events = new List<byte[]>(run.History.Count - run.PersistedEventCount);
                    for (var i = run.PersistedEventCount; i < run.History.Count; i++)
                    {
                        events.Add(run.History[i].ToByteArray());
                    }

                    var stored = new StoredRun(run.Namespace, run.WorkflowId, run.RunId, run.Sequence, run.RequestId, PendingOf(run), events);
                    batch.Runs.Add((stored, run.PersistedEventCount + 1));
                    written.Add((run, run.History.Count));
                }

                _dirty.Clear();
                _namespacesDirty = false;
                commit = _nextCommit;
                _commitInFlight = commit;
                _nextCommit = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            try
            {
                _store!.Write(batch);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Nothing of the batch is acknowledged: its callers get an error, and the runs stay dirty for the next try.
                _logger.LogCritical(e, "Writing {File} failed", _store!.Path);
                lock (_gate)
                {
                    foreach (var (run, _) in written)
                    {
                        _dirty.Add(run);
                    }

                    _namespacesDirty |= batch.NewNamespaces.Count > 0;
                    _commitInFlight = null;
                }

                commit.TrySetException(new IOException($"The change could not be written to {_store.Path}: {e.Message}", e));
                await Task.Delay(TimeSpan.FromMilliseconds(200)).ConfigureAwait(ConfigureAwaitOptions.None);
                _writeWanted.TrySetResult();
                continue;
            }

            lock (_gate)
            {
                foreach (var (run, count) in written)
                {
                    run.PersistedEventCount = Math.Max(run.PersistedEventCount, count);
                    ReleaseStoredEvents(run);
                }

                if (_commitInFlight == commit)
                {
                    _commitInFlight = null;
                }
            }

            commit.TrySetResult();
        }
    }

    /// <summary>
    /// Lets go of the stored events no next workflow task of the run sends: a sticky task carries only the events after
    /// the previous task's start, and a closed run gets no task (its close event stays for result waits). Whoever wants
    /// the older events (a worker that lost the run from its cache, a history page, the UI) reads them back with
    /// <see cref="EventsFrom"/>. Events not yet committed always stay.
    /// </summary>
    private static void ReleaseStoredEvents(WorkflowRun run) => run.History.ReleaseBefore(
        run.IsOpen ? (int)Math.Min(run.PreviousStartedEventId, run.PersistedEventCount) : run.PersistedEventCount);

    /// <summary>
    /// The run's events from index <paramref name="index"/> on (at most <paramref name="count"/>), those the engine let
    /// go of read back from the store. Called under the lock; a page is a few milliseconds of SQLite at most, and the
    /// hot path (sticky tasks, result waits) never gets here for stored events.
    /// </summary>
    private List<HistoryEvent> EventsFrom(WorkflowRun run, int index, int count = int.MaxValue)
    {
        var history = run.History;
        var end = (int)Math.Min(history.Count, (long)index + count);
        var events = new List<HistoryEvent>(Math.Max(0, end - index));
        if (end <= index)
        {
            return events;
        }

        if (index < history.InMemoryFrom)
        {
            var storedEnd = Math.Min(end, history.InMemoryFrom);
            foreach (var data in _store!.ReadEvents(run.Namespace, run.WorkflowId, run.RunId, index + 1, storedEnd + 1))
            {
                events.Add(HistoryEvent.Parser.ParseFrom(data));
            }

            if (events.Count != storedEnd - index)
            {
                throw new DatabaseFileException($"{_store.Path} lacks events {index + events.Count + 1} to {storedEnd} of run {run.RunId}.");
            }

            index = storedEnd;
        }

        events.AddRange(history.InMemory(index, end - index));
        return events;
    }

    private static string PendingOf(WorkflowRun run)
    {
        if (!run.IsOpen)
        {
            return "{}";
        }

        var pending = new PendingState
        {
            NeedsWorkflowTask = run.NeedsWorkflowTask,
            WorkflowTaskToken = run.WorkflowTask is { Started: true } wft ? wft.Token : null,
            SignalRequestIds = [.. run.SignalRequestIds],
            Buffered = [.. run.Buffered.Select(e => e.ToByteString().ToBase64())],
            AdmittedUpdates = [.. run.Updates.Values.Where(u => u.Stage == UpdateWorkflowExecutionLifecycleStage.Admitted).Select(u => u.Request.ToByteString().ToBase64())],
            Activities = [.. run.Activities.Values.Select(a => new PendingActivity
            {
                ScheduledEventId = a.ScheduledEventId,
                Attempt = a.Attempt,
                State = a.State,
                Token = a.Token,
                CurrentAttemptScheduledTime = a.CurrentAttemptScheduledTime,
                StartedTime = a.StartedTime,
                LastHeartbeatTime = a.LastHeartbeatTime,
                StartedIdentity = a.StartedIdentity,
                HeartbeatDetails = a.HeartbeatDetails?.ToByteString().ToBase64(),
                LastFailure = a.LastFailure?.ToByteString().ToBase64(),
                RetryDue = a.RetryDue,
            })],
        };
        return JsonSerializer.Serialize(pending, PendingJson);
    }

    /// <summary>Loads the file into memory and arms what was pending; runs before the clock starts.</summary>
    private void Restore()
    {
        var (namespaces, runs) = _store!.Load();
        var newNamespaces = false;
        foreach (var ns in namespaces)
        {
            _namespaces.Add(ns);
        }

        newNamespaces = _namespaces.Count > namespaces.Count;
        lock (_gate)
        {
            foreach (var stored in runs)
            {
                RestoreRun(stored);
            }

            _namespacesDirty = newNamespaces;
            DrainDeferred();
            _writeWanted.TrySetResult();
        }

        _logger.LogInformation("Loaded {Runs} runs ({Open} open) from {File}", runs.Count, _allRuns.Count(r => r.IsOpen), _store.Path);
    }

    private void RestoreRun(StoredRun stored)
    {
        List<HistoryEvent> events;
        try
        {
            events = _store!.ReadEvents(stored.Namespace, stored.WorkflowId, stored.RunId, 1, long.MaxValue).Select(HistoryEvent.Parser.ParseFrom).ToList();
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new DatabaseFileException($"{_store!.Path} holds an unreadable event of run {stored.RunId}; refusing to start over it.", e);
        }
        catch (DatabaseFileException e)
        {
            throw new DatabaseFileException($"{e.Message.TrimEnd('.')}; refusing to start over it.", e);
        }

        if (events.Count == 0 || events[0].WorkflowExecutionStartedEventAttributes is not { } started)
        {
            throw new DatabaseFileException($"{_store!.Path} holds run {stored.RunId} without its started event; refusing to start over it.");
        }

        var startTime = events[0].EventTime.ToDateTimeOffset();
        var backoff = started.FirstWorkflowTaskBackoff?.ToTimeSpan() ?? TimeSpan.Zero;
        var self = new WorkflowExecution { WorkflowId = stored.WorkflowId, RunId = stored.RunId };
        var run = new WorkflowRun(stored.Namespace, stored.WorkflowId, stored.RunId)
        {
            Type = started.WorkflowType,
            TaskQueue = started.TaskQueue.Name,
            RequestId = stored.RequestId,
            ExecutionTimeout = started.WorkflowExecutionTimeout,
            RunTimeout = started.WorkflowRunTimeout,
            TaskTimeout = started.WorkflowTaskTimeout,
            RetryPolicy = started.RetryPolicy,
            StartTime = startTime,
            ExecutionTime = startTime + backoff,
            Parent = started.ParentWorkflowExecution is { } parent
                ? new ParentLink(started.ParentWorkflowNamespace, parent, started.ParentInitiatedEventId) : null,
            RootExecution = started.RootWorkflowExecution ?? self,
            FirstRunId = started.FirstExecutionRunId,
            Sequence = stored.Sequence,
        };
        _runSequence = Math.Max(_runSequence, stored.Sequence);
        var timers = new Dictionary<string, (long StartedId, DateTimeOffset Due)>(StringComparer.Ordinal);
        var everScheduledTask = false;
        var lastTaskFailedAttempt = 0;
        foreach (var e in events)
        {
            run.History.Add(e);
            run.HistorySizeBytes += e.CalculateSize();
            DeriveFrom(run, e, timers, ref everScheduledTask, ref lastTaskFailedAttempt);
        }

        run.PersistedEventCount = run.History.Count;
        ReleaseStoredEvents(run);
        var key = (stored.Namespace, stored.WorkflowId);
        if (!_runsByWorkflowId.TryGetValue(key, out var sameId))
        {
            sameId = [];
            _runsByWorkflowId[key] = sameId;
        }

        sameId.Add(run);
        _runs[(stored.Namespace, stored.WorkflowId, stored.RunId)] = run;
        _allRuns.Add(run);
        if (run.IsOpen)
        {
            var pending = JsonSerializer.Deserialize<PendingState>(stored.Pending, PendingJson) ?? new PendingState();
            Rearm(run, pending, timers, everScheduledTask, lastTaskFailedAttempt);
        }
    }

    /// <summary>The mutable state an event implies, as Temporal's mutable state follows its history.</summary>
    private static void DeriveFrom(
        WorkflowRun run, HistoryEvent e, Dictionary<string, (long StartedId, DateTimeOffset Due)> timers, ref bool everScheduledTask, ref int lastTaskFailedAttempt)
    {
        var time = e.EventTime.ToDateTimeOffset();
        switch (e.EventType)
        {
            case EventType.WorkflowExecutionStarted:
                if (e.WorkflowExecutionStartedEventAttributes.Memo is { } memo)
                {
                    run.Memo.Fields.Add(memo.Fields);
                }

                if (e.WorkflowExecutionStartedEventAttributes.SearchAttributes is { } attributes)
                {
                    run.SearchAttributes.IndexedFields.Add(attributes.IndexedFields);
                }

                break;
            case EventType.UpsertWorkflowSearchAttributes:
                Merge(run.SearchAttributes.IndexedFields, e.UpsertWorkflowSearchAttributesEventAttributes.SearchAttributes?.IndexedFields ?? new SearchAttributes().IndexedFields);
                break;
            case EventType.WorkflowPropertiesModified:
                Merge(run.Memo.Fields, e.WorkflowPropertiesModifiedEventAttributes.UpsertedMemo?.Fields ?? new Memo().Fields);
                break;
            case EventType.WorkflowTaskScheduled:
                everScheduledTask = true;
                var scheduled = e.WorkflowTaskScheduledEventAttributes;
                run.WorkflowTask = new WorkflowTaskState
                {
                    ScheduledEventId = e.EventId,
                    Attempt = scheduled.Attempt > 0 ? scheduled.Attempt : 1,
                    ScheduledTime = time,
                    QueueName = run.TaskQueue,
                };
                break;
            case EventType.WorkflowTaskStarted when run.WorkflowTask is { } wft:
                wft.StartedEventId = e.EventId;
                wft.StartedTime = time;
                break;
            case EventType.WorkflowTaskCompleted:
                run.PreviousStartedEventId = e.WorkflowTaskCompletedEventAttributes.StartedEventId;
                run.WorkflowTask = null;
                lastTaskFailedAttempt = 0;
                break;
            case EventType.WorkflowTaskFailed or EventType.WorkflowTaskTimedOut:
                lastTaskFailedAttempt = run.WorkflowTask?.Attempt ?? 1;
                run.WorkflowTask = null;
                break;
            case EventType.ActivityTaskScheduled:
                run.Activities[e.EventId] = new ActivityState
                {
                    ScheduledEventId = e.EventId,
                    Attributes = e.ActivityTaskScheduledEventAttributes,
                    ScheduledTime = time,
                    CurrentAttemptScheduledTime = time,
                };
                break;
            case EventType.ActivityTaskCancelRequested:
                if (run.Activities.TryGetValue(e.ActivityTaskCancelRequestedEventAttributes.ScheduledEventId, out var canceling))
                {
                    canceling.CancelRequested = true;
                    canceling.CancelRequestedEventId = e.EventId;
                }

                break;
            case EventType.ActivityTaskCompleted:
                run.Activities.Remove(e.ActivityTaskCompletedEventAttributes.ScheduledEventId);
                break;
            case EventType.ActivityTaskFailed:
                run.Activities.Remove(e.ActivityTaskFailedEventAttributes.ScheduledEventId);
                break;
            case EventType.ActivityTaskTimedOut:
                run.Activities.Remove(e.ActivityTaskTimedOutEventAttributes.ScheduledEventId);
                break;
            case EventType.ActivityTaskCanceled:
                run.Activities.Remove(e.ActivityTaskCanceledEventAttributes.ScheduledEventId);
                break;
            case EventType.TimerStarted:
                var timer = e.TimerStartedEventAttributes;
                timers[timer.TimerId] = (e.EventId, time + (timer.StartToFireTimeout?.ToTimeSpan() ?? TimeSpan.Zero));
                break;
            case EventType.TimerFired:
                timers.Remove(e.TimerFiredEventAttributes.TimerId);
                break;
            case EventType.TimerCanceled:
                timers.Remove(e.TimerCanceledEventAttributes.TimerId);
                break;
            case EventType.StartChildWorkflowExecutionInitiated:
                run.Children[e.EventId] = new ChildState { InitiatedEventId = e.EventId, Attributes = e.StartChildWorkflowExecutionInitiatedEventAttributes };
                break;
            case EventType.ChildWorkflowExecutionStarted:
                var childStarted = e.ChildWorkflowExecutionStartedEventAttributes;
                if (run.Children.TryGetValue(childStarted.InitiatedEventId, out var child))
                {
                    child.StartedEventId = e.EventId;
                    child.StartedEvent = e;
                    child.RunId = childStarted.WorkflowExecution.RunId;
                }

                break;
            case EventType.StartChildWorkflowExecutionFailed:
                run.Children.Remove(e.StartChildWorkflowExecutionFailedEventAttributes.InitiatedEventId);
                break;
            case EventType.ChildWorkflowExecutionCompleted:
                run.Children.Remove(e.ChildWorkflowExecutionCompletedEventAttributes.InitiatedEventId);
                break;
            case EventType.ChildWorkflowExecutionFailed:
                run.Children.Remove(e.ChildWorkflowExecutionFailedEventAttributes.InitiatedEventId);
                break;
            case EventType.ChildWorkflowExecutionCanceled:
                run.Children.Remove(e.ChildWorkflowExecutionCanceledEventAttributes.InitiatedEventId);
                break;
            case EventType.ChildWorkflowExecutionTimedOut:
                run.Children.Remove(e.ChildWorkflowExecutionTimedOutEventAttributes.InitiatedEventId);
                break;
            case EventType.ChildWorkflowExecutionTerminated:
                run.Children.Remove(e.ChildWorkflowExecutionTerminatedEventAttributes.InitiatedEventId);
                break;
            case EventType.WorkflowExecutionCancelRequested:
                run.CancelRequested = true;
                break;
            case EventType.WorkflowExecutionUpdateAccepted:
                var accepted = e.WorkflowExecutionUpdateAcceptedEventAttributes;
                run.Updates[accepted.ProtocolInstanceId] = new UpdateState
                {
                    Request = accepted.AcceptedRequest,
                    Stage = UpdateWorkflowExecutionLifecycleStage.Accepted,
                    Delivered = true,
                    AcceptedEventId = e.EventId,
                };
                break;
            case EventType.WorkflowExecutionUpdateCompleted:
                var completed = e.WorkflowExecutionUpdateCompletedEventAttributes;
                if (run.Updates.TryGetValue(completed.Meta.UpdateId, out var update))
                {
                    update.Stage = UpdateWorkflowExecutionLifecycleStage.Completed;
                    update.Outcome = completed.Outcome;
                }

                break;
            default:
                if (ClosedStatus(e.EventType) is { } status)
                {
                    run.Status = status;
                    run.CloseTime = time;
                    run.WorkflowTask = null;
                    run.Activities.Clear();
                    run.Children.Clear();
                    timers.Clear();
                }

                break;
        }
    }

    private static WorkflowExecutionStatus? ClosedStatus(EventType type) => type switch
    {
        EventType.WorkflowExecutionCompleted => WorkflowExecutionStatus.Completed,
        EventType.WorkflowExecutionFailed => WorkflowExecutionStatus.Failed,
        EventType.WorkflowExecutionCanceled => WorkflowExecutionStatus.Canceled,
        EventType.WorkflowExecutionTerminated => WorkflowExecutionStatus.Terminated,
        EventType.WorkflowExecutionContinuedAsNew => WorkflowExecutionStatus.ContinuedAsNew,
        EventType.WorkflowExecutionTimedOut => WorkflowExecutionStatus.TimedOut,
        _ => null,
    };

    /// <summary>Arms an open run's timers, timeouts and tasks again from their stored times (overdue ones fire at once).</summary>
    private void Rearm(
        WorkflowRun run, PendingState pending, Dictionary<string, (long StartedId, DateTimeOffset Due)> timers, bool everScheduledTask, int lastTaskFailedAttempt)
    {
        foreach (var id in pending.SignalRequestIds)
        {
            run.SignalRequestIds.Add(id);
        }

        run.NeedsWorkflowTask = pending.NeedsWorkflowTask;
        foreach (var request in pending.AdmittedUpdates.Select(b => Request.Parser.ParseFrom(ByteString.FromBase64(b))))
        {
            run.Updates.TryAdd(request.Meta.UpdateId, new UpdateState { Request = request });
        }

        var started = run.History.Started.WorkflowExecutionStartedEventAttributes;
        if (started.WorkflowExecutionExpirationTime is { } expiration)
        {
            run.WorkflowTimeouts.Add(Schedule(expiration.ToDateTimeOffset(), () => TimeOutRun(run)));
        }

        if (run.RunTimeout is { } runTimeout && runTimeout.ToTimeSpan() > TimeSpan.Zero)
        {
            run.WorkflowTimeouts.Add(Schedule(run.ExecutionTime + runTimeout.ToTimeSpan(), () => TimeOutRun(run)));
        }

        foreach (var (timerId, (startedId, due)) in timers)
        {
            ArmWorkflowTimer(run, timerId, startedId, due);
        }

        foreach (var stored in pending.Activities)
        {
            if (run.Activities.TryGetValue(stored.ScheduledEventId, out var activity))
            {
                activity.Attempt = stored.Attempt;
                activity.State = stored.State;
                activity.Token = stored.Token;
                activity.CurrentAttemptScheduledTime = stored.CurrentAttemptScheduledTime;
                activity.StartedTime = stored.StartedTime;
                activity.LastHeartbeatTime = stored.LastHeartbeatTime;
                activity.StartedIdentity = stored.StartedIdentity;
                activity.HeartbeatDetails = stored.HeartbeatDetails is { } details ? Payloads.Parser.ParseFrom(ByteString.FromBase64(details)) : null;
                activity.LastFailure = stored.LastFailure is { } failure ? Failure.Parser.ParseFrom(ByteString.FromBase64(failure)) : null;
                activity.RetryDue = stored.RetryDue;
            }
        }

        foreach (var activity in run.Activities.Values)
        {
            RearmActivity(run, activity);
        }

        var buffered = pending.Buffered.Select(b => HistoryEvent.Parser.ParseFrom(ByteString.FromBase64(b))).ToList();
        for (var i = 0; i < buffered.Count; i++)
        {
            var e = buffered[i];
            run.Buffered.Add(e);
            if (e.EventType == EventType.ActivityTaskStarted && i + 1 < buffered.Count)
            {
                var end = buffered[i + 1];
                _bufferedCallbacks[e] = id => SetActivityStartedEventId(end, id);
            }
            else if (e.EventType == EventType.ChildWorkflowExecutionStarted &&
                     run.Children.TryGetValue(e.ChildWorkflowExecutionStartedEventAttributes.InitiatedEventId, out var child))
            {
                child.RunId = e.ChildWorkflowExecutionStartedEventAttributes.WorkflowExecution.RunId;
                child.StartedEvent = e;
                _bufferedCallbacks[e] = id => child.StartedEventId = id;
            }
        }

        if (run.WorkflowTask is { } wft)
        {
            MarkPossiblyBusy(run);
            if (wft.Started)
            {
                // The worker that holds it may still answer with its token; if not, the task times out and is retried.
                wft.Token = pending.WorkflowTaskToken ?? Guid.NewGuid();
                _workflowTaskTokens[wft.Token] = run;
                wft.Timeout = Schedule((wft.StartedTime ?? NowLocked()) + run.TaskTimeout.ToTimeSpan(), () => TimeOutWorkflowTask(run, wft));
            }
            else
            {
                WorkflowQueue(run.Namespace, run.TaskQueue).Add(new WorkflowTaskEntry(run, wft.ScheduledEventId, null));
            }
        }
        else if (!everScheduledTask)
        {
            run.WorkflowTimeouts.Add(Schedule(run.ExecutionTime, () => ScheduleWorkflowTask(run)));
        }
        else if (run.NeedsWorkflowTask || lastTaskFailedAttempt > 0 || run.Updates.Values.Any(u => u.Stage == UpdateWorkflowExecutionLifecycleStage.Admitted))
        {
            run.NeedsWorkflowTask = false;
            ScheduleWorkflowTask(run, lastTaskFailedAttempt > 0 ? lastTaskFailedAttempt + 1 : 1);
        }
    }

    private void RearmActivity(WorkflowRun run, ActivityState activity)
    {
        var attributes = activity.Attributes;
        if (Seconds(attributes.ScheduleToCloseTimeout) > 0)
        {
            activity.ScheduleToCloseTimer = Schedule(
                activity.ScheduledTime + attributes.ScheduleToCloseTimeout.ToTimeSpan(),
                () => TimeOutActivity(run, activity, TimeoutType.ScheduleToClose, activity.Attempt));
        }

        var attempt = activity.Attempt;
        switch (activity.State)
        {
            case ActivityStatus.Scheduled:
                if (Seconds(attributes.ScheduleToStartTimeout) > 0)
                {
                    activity.AttemptTimer = Schedule(
                        activity.CurrentAttemptScheduledTime + attributes.ScheduleToStartTimeout.ToTimeSpan(),
                        () => TimeOutActivity(run, activity, TimeoutType.ScheduleToStart, attempt));
                }

                MarkPossiblyBusy(run);
                ActivityQueue(run.Namespace, attributes.TaskQueue.Name).Add(new ActivityTaskEntry(run, activity, attempt));
                break;
            case ActivityStatus.Started:
                // A task token issued before the restart still completes the attempt; its timeouts count from the stored start.
                var startedAt = activity.StartedTime ?? NowLocked();
                _activityTokens[activity.Token] = (run, activity);
                activity.AttemptTimer = Schedule(startedAt + attributes.StartToCloseTimeout.ToTimeSpan(), () => TimeOutActivity(run, activity, TimeoutType.StartToClose, attempt));
                if (Seconds(attributes.HeartbeatTimeout) > 0)
                {
                    activity.HeartbeatTimer = Schedule(
                        (activity.LastHeartbeatTime ?? startedAt) + attributes.HeartbeatTimeout.ToTimeSpan(),
                        () => TimeOutActivity(run, activity, TimeoutType.Heartbeat, attempt));
                }

                MarkPossiblyBusy(run);
                break;
            default:
                ScheduleRetry(run, activity);
                break;
        }
    }

    private static void SetActivityStartedEventId(HistoryEvent end, long startedEventId)
    {
        switch (end.EventType)
        {
            case EventType.ActivityTaskCompleted:
                end.ActivityTaskCompletedEventAttributes.StartedEventId = startedEventId;
                break;
            case EventType.ActivityTaskFailed:
                end.ActivityTaskFailedEventAttributes.StartedEventId = startedEventId;
                break;
            case EventType.ActivityTaskTimedOut:
                end.ActivityTaskTimedOutEventAttributes.StartedEventId = startedEventId;
                break;
            case EventType.ActivityTaskCanceled:
                end.ActivityTaskCanceledEventAttributes.StartedEventId = startedEventId;
                break;
        }
    }

    /// <summary>What an open run's history does not hold, kept in its row.</summary>
    private sealed class PendingState
    {
        public bool NeedsWorkflowTask { get; set; }

        public Guid? WorkflowTaskToken { get; set; }

        public List<string> SignalRequestIds { get; set; } = [];

        public List<string> Buffered { get; set; } = [];

        public List<string> AdmittedUpdates { get; set; } = [];

        public List<PendingActivity> Activities { get; set; } = [];
    }

    private sealed class PendingActivity
    {
        public long ScheduledEventId { get; set; }

        public int Attempt { get; set; }

        public ActivityStatus State { get; set; }

        public Guid Token { get; set; }

        public DateTimeOffset CurrentAttemptScheduledTime { get; set; }

        public DateTimeOffset? StartedTime { get; set; }

        public DateTimeOffset? LastHeartbeatTime { get; set; }

        public string StartedIdentity { get; set; } = string.Empty;

        public string? HeartbeatDetails { get; set; }

        public string? LastFailure { get; set; }

        public DateTimeOffset RetryDue { get; set; }
    }
}

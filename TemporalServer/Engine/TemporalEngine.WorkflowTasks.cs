using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Protocol.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.Update.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>Workflow tasks: dispatch with full history, completion (commands and protocol messages), failure, timeout.</summary>
internal sealed partial class TemporalEngine
{
    public async Task<PollWorkflowTaskQueueResponse> PollWorkflowTaskAsync(
        PollWorkflowTaskQueueRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            RequireNamespace(request.Namespace);
        }

        if (string.IsNullOrEmpty(request.TaskQueue?.Name))
        {
            throw Errors.InvalidArgument("TaskQueue is not set on request.");
        }

        var ns = request.Namespace;
        var name = request.TaskQueue.Name;
        return await PollAsync(
            () => Polled(WorkflowQueue(ns, name), request.Identity),
            entry => TryStartWorkflowTask(entry, request.Identity),
            deadline,
            cancellationToken) ?? new PollWorkflowTaskQueueResponse();
    }

    public RespondWorkflowTaskCompletedResponse CompleteWorkflowTask(RespondWorkflowTaskCompletedRequest request) => Execute(() =>
    {
        var run = WorkflowTaskRun(request.TaskToken);
        var wft = run.WorkflowTask!;
        foreach (var command in request.Commands)
        {
            ValidateCommand(run, command);
        }

        var messages = new Dictionary<string, Message>();
        foreach (var message in request.Messages)
        {
            if (!messages.TryAdd(message.Id, message))
            {
                throw Errors.InvalidArgument($"Message id {message.Id} appears twice.");
            }
        }

        var closing = request.Commands.Any(c => c.CommandType is CommandType.CompleteWorkflowExecution
            or CommandType.FailWorkflowExecution or CommandType.CancelWorkflowExecution or CommandType.ContinueAsNewWorkflowExecution);
        if (closing && run.Buffered.Count > 0)
        {
            // The workflow decided to close without seeing events that arrived meanwhile (a signal, say): reject the
            // task so the next one shows them, as the real server does.
            FailWorkflowTask(run, WorkflowTaskFailedCause.UnhandledCommand, null, request.Identity, retryDelay: false);
            return new RespondWorkflowTaskCompletedResponse();
        }

        CancelTimer(wft.Timeout);
        _workflowTaskTokens.Remove(wft.Token);
        run.WorkflowTask = null;
        if (request.StickyAttributes?.WorkerTaskQueue?.Name is { Length: > 0 } stickyQueue)
        {
            run.StickyQueue = stickyQueue;
            var scheduleToStart = request.StickyAttributes.ScheduleToStartTimeout?.ToTimeSpan() ?? TimeSpan.Zero;
            run.StickyScheduleToStart = scheduleToStart > TimeSpan.Zero ? scheduleToStart : TimeSpan.FromSeconds(5);
        }
        else
        {
            run.StickyQueue = null;
        }

        var completed = NewEvent(EventType.WorkflowTaskCompleted);
        completed.WorkflowTaskCompletedEventAttributes = new WorkflowTaskCompletedEventAttributes
        {
            ScheduledEventId = wft.ScheduledEventId,
            StartedEventId = wft.StartedEventId,
            Identity = request.Identity,
            SdkMetadata = request.SdkMetadata,
            MeteringMetadata = request.MeteringMetadata,
        };
        Append(run, completed);
        run.PreviousStartedEventId = wft.StartedEventId;

        run.ApplyingCommands = true;
        try
        {
            foreach (var command in request.Commands)
            {
                if (!run.IsOpen)
                {
                    break;
                }

                ApplyCommand(run, command, completed.EventId, request.Identity, messages);
            }

            foreach (var message in request.Messages.Where(m => messages.ContainsKey(m.Id)))
            {
                if (run.IsOpen)
                {
                    ApplyMessage(run, message);
                }
            }
        }
        finally
        {
            run.ApplyingCommands = false;
        }

        if (run.IsOpen)
        {
            FlushBuffered(run);
            var needsTask = run.NeedsWorkflowTask || request.ForceCreateNewWorkflowTask ||
                run.Updates.Values.Any(u => u.Stage == UpdateWorkflowExecutionLifecycleStage.Admitted && !u.Delivered);
            run.NeedsWorkflowTask = false;
            if (needsTask)
            {
                ScheduleWorkflowTask(run);
            }

            ReleaseHeldQueries(run);
        }

        return new RespondWorkflowTaskCompletedResponse();
    });

    public RespondWorkflowTaskFailedResponse FailWorkflowTask(RespondWorkflowTaskFailedRequest request) => Execute(() =>
    {
        var run = WorkflowTaskRun(request.TaskToken);
        FailWorkflowTask(run, request.Cause, request.Failure, request.Identity, retryDelay: true);
        return new RespondWorkflowTaskFailedResponse();
    });

    public RespondQueryTaskCompletedResponse CompleteQueryTask(RespondQueryTaskCompletedRequest request) => Execute(() =>
    {
        if (!TryReadToken(request.TaskToken, out var token) || !_queryTokens.Remove(token, out var query))
        {
            throw Errors.NotFound("query task not found, or already expired");
        }

        query.Result.TrySetResult(request);
        return new RespondQueryTaskCompletedResponse();
    });

    public void ResetStickyTaskQueue(string ns, WorkflowExecution? execution) => Execute(() => ResetSticky(FindRun(ns, execution)));

    /// <summary>A worker stopped: its sticky queue will not be polled again, so its runs go back to the normal queue.</summary>
    public void ShutdownWorker(string ns, string stickyQueue)
    {
        if (string.IsNullOrEmpty(stickyQueue))
        {
            return;
        }

        Execute(() =>
        {
            foreach (var run in _allRuns)
            {
                if (run.IsOpen && run.Namespace == ns && run.StickyQueue == stickyQueue)
                {
                    ResetSticky(run);
                }
            }
        });
    }

    private static bool TryReadToken(ByteString token, out Guid value)
    {
        if (token.Length == 16)
        {
            value = new Guid(token.Span);
            return true;
        }

        value = Guid.Empty;
        return false;
    }

    private WorkflowRun WorkflowTaskRun(ByteString taskToken)
    {
        if (!TryReadToken(taskToken, out var token))
        {
            throw Errors.InvalidArgument("Invalid task token.");
        }

        if (!_workflowTaskTokens.TryGetValue(token, out var run) || !run.IsOpen || run.WorkflowTask?.Token != token)
        {
            throw Errors.NotFound("Workflow task not found.");
        }

        return run;
    }

    private PollWorkflowTaskQueueResponse? TryStartWorkflowTask(WorkflowTaskEntry entry, string identity)
    {
        var run = entry.Run;
        if (entry.Query is { } query)
        {
            if (query.Taken || query.Result.Task.IsCompleted)
            {
                return null;
            }

            query.Taken = true;
            var queryTask = new PollWorkflowTaskQueueResponse
            {
                TaskToken = ByteString.CopyFrom(query.Token.ToByteArray()),
                WorkflowExecution = run.Execution,
                WorkflowType = run.Type,
                PreviousStartedEventId = run.PreviousStartedEventId,
                Attempt = 1,
                History = new History(),
                Query = query.Request.Query,
                WorkflowExecutionTaskQueue = new TaskQueue { Name = run.TaskQueue, Kind = TaskQueueKind.Normal },
                ScheduledTime = NowStamp(),
                StartedTime = NowStamp(),
            };
            queryTask.History.Events.AddRange(EventsFrom(run, 0));
            return queryTask;
        }

        if (!run.IsOpen || run.WorkflowTask is not { Started: false } wft || wft.ScheduledEventId != entry.ScheduledEventId ||
            wft.Sticky != entry.Sticky)
        {
            return null;
        }

        CancelTimer(wft.StickyTimeout);
        var firstEventIndex = wft.Sticky ? (int)run.PreviousStartedEventId : 0;

        var started = NewEvent(EventType.WorkflowTaskStarted);
        started.WorkflowTaskStartedEventAttributes = new WorkflowTaskStartedEventAttributes
        {
            ScheduledEventId = wft.ScheduledEventId,
            Identity = identity,
            RequestId = Guid.NewGuid().ToString(),
            HistorySizeBytes = run.HistorySizeBytes,

            // The real server's default limits for suggesting continue-as-new: 4K events or 4 MB of history.
            SuggestContinueAsNew = run.History.Count >= 4000 || run.HistorySizeBytes >= 4 * 1024 * 1024,
        };
        Append(run, started);
        wft.StartedEventId = started.EventId;
        wft.StartedTime = NowLocked();
        wft.Token = Guid.NewGuid();
        _workflowTaskTokens[wft.Token] = run;
        wft.Timeout = Schedule(run.TaskTimeout.ToTimeSpan(), () => TimeOutWorkflowTask(run, wft));

        var response = new PollWorkflowTaskQueueResponse
        {
            TaskToken = ByteString.CopyFrom(wft.Token.ToByteArray()),
            WorkflowExecution = run.Execution,
            WorkflowType = run.Type,
            PreviousStartedEventId = run.PreviousStartedEventId,
            StartedEventId = wft.StartedEventId,
            Attempt = wft.Attempt,
            History = new History(),
            WorkflowExecutionTaskQueue = new TaskQueue { Name = run.TaskQueue, Kind = TaskQueueKind.Normal },
            ScheduledTime = Timestamp.FromDateTimeOffset(wft.ScheduledTime),
            StartedTime = Timestamp.FromDateTimeOffset(wft.StartedTime.Value),
        };
        response.History.Events.AddRange(EventsFrom(run, firstEventIndex));
        foreach (var (id, update) in run.Updates)
        {
            if (update.Stage == UpdateWorkflowExecutionLifecycleStage.Admitted && !update.Delivered)
            {
                update.Delivered = true;
                wft.DeliveredUpdates.Add(id);
                response.Messages.Add(new Message
                {
                    Id = id + "/request",
                    ProtocolInstanceId = id,
                    EventId = wft.ScheduledEventId,
                    Body = Any.Pack(update.Request),
                });
            }
        }

        return response;
    }

    private void FailWorkflowTask(WorkflowRun run, WorkflowTaskFailedCause cause, Temporalio.Api.Failure.V1.Failure? failure, string identity, bool retryDelay)
    {
        var wft = run.WorkflowTask!;
        var failed = NewEvent(EventType.WorkflowTaskFailed);
        failed.WorkflowTaskFailedEventAttributes = new WorkflowTaskFailedEventAttributes
        {
            ScheduledEventId = wft.ScheduledEventId,
            StartedEventId = wft.StartedEventId,
            Cause = cause,
            Failure = failure,
            Identity = identity,
        };
        var attempt = wft.Attempt + 1;
        DropWorkflowTask(run);
        run.StickyQueue = null;
        Append(run, failed);
        FlushBuffered(run);
        run.NeedsWorkflowTask = false;
        RetryWorkflowTask(run, attempt, retryDelay);
    }

    private void TimeOutWorkflowTask(WorkflowRun run, WorkflowTaskState wft)
    {
        if (!run.IsOpen || run.WorkflowTask != wft || !wft.Started)
        {
            return;
        }

        var timedOut = NewEvent(EventType.WorkflowTaskTimedOut);
        timedOut.WorkflowTaskTimedOutEventAttributes = new WorkflowTaskTimedOutEventAttributes
        {
            ScheduledEventId = wft.ScheduledEventId,
            StartedEventId = wft.StartedEventId,
            TimeoutType = TimeoutType.StartToClose,
        };
        DropWorkflowTask(run);
        run.StickyQueue = null;
        Append(run, timedOut);
        FlushBuffered(run);
        run.NeedsWorkflowTask = false;
        RetryWorkflowTask(run, wft.Attempt + 1, retryDelay: false);
    }

    /// <summary>
    /// Retries a failed workflow task: the second attempt at once, later ones after a growing pause (1 s doubling up to
    /// 10 min) so a workflow that always fails does not spin the server.
    /// </summary>
    private void RetryWorkflowTask(WorkflowRun run, int attempt, bool retryDelay)
    {
        if (!retryDelay || attempt <= 2)
        {
            ScheduleWorkflowTask(run, attempt);
        }
        else
        {
            var delay = TimeSpan.FromSeconds(Math.Min(600, Math.Pow(2, Math.Min(attempt - 3, 10))));
            run.WorkflowTimeouts.Add(Schedule(delay, () => ScheduleWorkflowTask(run, attempt)));
        }

        ReleaseHeldQueries(run);
    }

    private void ReleaseHeldQueries(WorkflowRun run)
    {
        if (run.HeldQueries.Count == 0 || MustHoldQueries(run))
        {
            return;
        }

        foreach (var query in run.HeldQueries)
        {
            WorkflowQueue(run.Namespace, run.TaskQueue).Add(new WorkflowTaskEntry(run, 0, query));
        }

        run.HeldQueries.Clear();
    }

    /// <summary>
    /// Like the real server's consistent queries, a query waits while a workflow task is pending, so it sees the state
    /// after every event in history (a fired timer, a signal) rather than before.
    /// </summary>
    private static bool MustHoldQueries(WorkflowRun run) => run.IsOpen && (run.WorkflowTask is not null || run.PreviousStartedEventId == 0);

    private static void ValidateCommand(WorkflowRun run, Command command)
    {
        if (command.AttributesCase.ToString() != command.CommandType + "CommandAttributes")
        {
            throw Errors.InvalidArgument($"Command {command.CommandType} does not carry its attributes.");
        }

        switch (command.CommandType)
        {
            case CommandType.ScheduleActivityTask:
                var activity = command.ScheduleActivityTaskCommandAttributes;
                if (string.IsNullOrEmpty(activity.ActivityId) || string.IsNullOrEmpty(activity.ActivityType?.Name))
                {
                    throw Errors.InvalidArgument("ActivityId and ActivityType are required to schedule an activity.");
                }

                if (Seconds(activity.StartToCloseTimeout) <= 0 && Seconds(activity.ScheduleToCloseTimeout) <= 0)
                {
                    throw Errors.InvalidArgument("A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.");
                }

                if (run.Activities.Values.Any(a => a.Attributes.ActivityId == activity.ActivityId))
                {
                    throw Errors.InvalidArgument($"Activity id {activity.ActivityId} is already in use by a pending activity.");
                }

                break;
            case CommandType.StartTimer:
                if (string.IsNullOrEmpty(command.StartTimerCommandAttributes.TimerId))
                {
                    throw Errors.InvalidArgument("TimerId is not set on StartTimerCommand.");
                }

                break;
            case CommandType.StartChildWorkflowExecution:
                var child = command.StartChildWorkflowExecutionCommandAttributes;
                if (string.IsNullOrEmpty(child.WorkflowId) || string.IsNullOrEmpty(child.WorkflowType?.Name))
                {
                    throw Errors.InvalidArgument("WorkflowId and WorkflowType are required to start a child workflow.");
                }

                break;
            case CommandType.CompleteWorkflowExecution:
            case CommandType.FailWorkflowExecution:
            case CommandType.CancelWorkflowExecution:
            case CommandType.ContinueAsNewWorkflowExecution:
            case CommandType.RequestCancelActivityTask:
            case CommandType.CancelTimer:
            case CommandType.RecordMarker:
            case CommandType.RequestCancelExternalWorkflowExecution:
            case CommandType.SignalExternalWorkflowExecution:
            case CommandType.UpsertWorkflowSearchAttributes:
            case CommandType.ModifyWorkflowProperties:
            case CommandType.ProtocolMessage:
                break;
            default:
                throw Errors.InvalidArgument($"Command {command.CommandType} is not supported by the embedded Temporal server.");
        }
    }

    private static double Seconds(Duration? duration) => duration?.ToTimeSpan().TotalSeconds ?? 0;

    private void ApplyCommand(WorkflowRun run, Command command, long completedId, string identity, Dictionary<string, Message> messages)
    {
        switch (command.CommandType)
        {
            case CommandType.ScheduleActivityTask:
                ScheduleActivity(run, command.ScheduleActivityTaskCommandAttributes, completedId);
                break;
            case CommandType.RequestCancelActivityTask:
                RequestCancelActivity(run, command.RequestCancelActivityTaskCommandAttributes.ScheduledEventId, completedId, identity);
                break;
            case CommandType.StartTimer:
                StartTimer(run, command.StartTimerCommandAttributes, completedId);
                break;
            case CommandType.CancelTimer:
                CancelWorkflowTimer(run, command.CancelTimerCommandAttributes.TimerId, completedId, identity);
                break;
            case CommandType.CompleteWorkflowExecution:
                var completed = NewEvent(EventType.WorkflowExecutionCompleted);
                completed.WorkflowExecutionCompletedEventAttributes = new()
                {
                    Result = command.CompleteWorkflowExecutionCommandAttributes.Result,
                    WorkflowTaskCompletedEventId = completedId,
                };
                CloseRun(run, completed, WorkflowExecutionStatus.Completed);
                break;
            case CommandType.FailWorkflowExecution:
                var failure = command.FailWorkflowExecutionCommandAttributes.Failure;
                var failed = NewEvent(EventType.WorkflowExecutionFailed);
                failed.WorkflowExecutionFailedEventAttributes = new()
                {
                    Failure = failure,
                    WorkflowTaskCompletedEventId = completedId,
                    RetryState = WorkflowRetryDecision(run, failure, out var retryDelay),
                };
                if (failed.WorkflowExecutionFailedEventAttributes.RetryState == RetryState.InProgress)
                {
                    var nextRunId = Guid.NewGuid().ToString();
                    failed.WorkflowExecutionFailedEventAttributes.NewExecutionRunId = nextRunId;
                    CloseRun(run, failed, WorkflowExecutionStatus.Failed, notifyParent: false);
                    RetryRun(run, nextRunId, failure, retryDelay, identity);
                }
                else
                {
                    CloseRun(run, failed, WorkflowExecutionStatus.Failed);
                }

                break;
            case CommandType.CancelWorkflowExecution:
                var canceled = NewEvent(EventType.WorkflowExecutionCanceled);
                canceled.WorkflowExecutionCanceledEventAttributes = new()
                {
                    Details = command.CancelWorkflowExecutionCommandAttributes.Details,
                    WorkflowTaskCompletedEventId = completedId,
                };
                CloseRun(run, canceled, WorkflowExecutionStatus.Canceled);
                break;
            case CommandType.ContinueAsNewWorkflowExecution:
                ContinueAsNew(run, command.ContinueAsNewWorkflowExecutionCommandAttributes, completedId, identity);
                break;
            case CommandType.StartChildWorkflowExecution:
                InitiateChild(run, command.StartChildWorkflowExecutionCommandAttributes, completedId);
                break;
            case CommandType.SignalExternalWorkflowExecution:
                SignalExternal(run, command.SignalExternalWorkflowExecutionCommandAttributes, completedId, identity);
                break;
            case CommandType.RequestCancelExternalWorkflowExecution:
                CancelExternal(run, command.RequestCancelExternalWorkflowExecutionCommandAttributes, completedId, identity);
                break;
            case CommandType.RecordMarker:
                var marker = command.RecordMarkerCommandAttributes;
                var markerEvent = NewEvent(EventType.MarkerRecorded);
                markerEvent.MarkerRecordedEventAttributes = new()
                {
                    MarkerName = marker.MarkerName,
                    WorkflowTaskCompletedEventId = completedId,
                    Header = marker.Header,
                    Failure = marker.Failure,
                };
                markerEvent.MarkerRecordedEventAttributes.Details.Add(marker.Details);
                Append(run, markerEvent);
                break;
            case CommandType.UpsertWorkflowSearchAttributes:
                var upsert = command.UpsertWorkflowSearchAttributesCommandAttributes.SearchAttributes ?? new SearchAttributes();
                Merge(run.SearchAttributes.IndexedFields, upsert.IndexedFields);
                var upsertEvent = NewEvent(EventType.UpsertWorkflowSearchAttributes);
                upsertEvent.UpsertWorkflowSearchAttributesEventAttributes = new()
                {
                    WorkflowTaskCompletedEventId = completedId,
                    SearchAttributes = upsert,
                };
                Append(run, upsertEvent);
                break;
            case CommandType.ModifyWorkflowProperties:
                var memo = command.ModifyWorkflowPropertiesCommandAttributes.UpsertedMemo ?? new Memo();
                Merge(run.Memo.Fields, memo.Fields);
                var modified = NewEvent(EventType.WorkflowPropertiesModified);
                modified.WorkflowPropertiesModifiedEventAttributes = new()
                {
                    WorkflowTaskCompletedEventId = completedId,
                    UpsertedMemo = memo,
                };
                Append(run, modified);
                break;
            case CommandType.ProtocolMessage:
                if (messages.Remove(command.ProtocolMessageCommandAttributes.MessageId, out var message))
                {
                    ApplyMessage(run, message);
                }

                break;
        }
    }

    /// <summary>An upserted value that is empty or JSON null removes the key, as the SDKs encode "unset".</summary>
    private static void Merge(Google.Protobuf.Collections.MapField<string, Payload> target, Google.Protobuf.Collections.MapField<string, Payload> changes)
    {
        foreach (var (key, value) in changes)
        {
            var data = value.Data;
            if (data.IsEmpty || data.Span.SequenceEqual("null"u8) || data.Span.SequenceEqual("[]"u8))
            {
                target.Remove(key);
            }
            else
            {
                target[key] = value;
            }
        }
    }

    private void ApplyMessage(WorkflowRun run, Message message)
    {
        if (!run.Updates.TryGetValue(message.ProtocolInstanceId, out var update) || message.Body is null)
        {
            return;
        }

        if (message.Body.TryUnpack(out Acceptance acceptance))
        {
            var accepted = NewEvent(EventType.WorkflowExecutionUpdateAccepted);
            accepted.WorkflowExecutionUpdateAcceptedEventAttributes = new()
            {
                ProtocolInstanceId = message.ProtocolInstanceId,
                AcceptedRequestMessageId = acceptance.AcceptedRequestMessageId,
                AcceptedRequestSequencingEventId = acceptance.AcceptedRequestSequencingEventId,
                AcceptedRequest = update.Request,
            };
            Append(run, accepted);
            update.AcceptedEventId = accepted.EventId;
            update.Stage = UpdateWorkflowExecutionLifecycleStage.Accepted;
            update.NotifyChanged();
        }
        else if (message.Body.TryUnpack(out Rejection rejection))
        {
            update.Outcome = new Outcome { Failure = rejection.Failure };
            update.Stage = UpdateWorkflowExecutionLifecycleStage.Completed;
            update.NotifyChanged();
        }
        else if (message.Body.TryUnpack(out Response response))
        {
            var completed = NewEvent(EventType.WorkflowExecutionUpdateCompleted);
            completed.WorkflowExecutionUpdateCompletedEventAttributes = new()
            {
                Meta = response.Meta,
                AcceptedEventId = update.AcceptedEventId,
                Outcome = response.Outcome,
            };
            Append(run, completed);
            update.Outcome = response.Outcome;
            update.Stage = UpdateWorkflowExecutionLifecycleStage.Completed;
            update.NotifyChanged();
        }
    }

    private void StartTimer(WorkflowRun run, StartTimerCommandAttributes attributes, long completedId)
    {
        var started = NewEvent(EventType.TimerStarted);
        started.TimerStartedEventAttributes = new()
        {
            TimerId = attributes.TimerId,
            StartToFireTimeout = attributes.StartToFireTimeout,
            WorkflowTaskCompletedEventId = completedId,
        };
        Append(run, started);
        var timerId = attributes.TimerId;
        var startedId = started.EventId;
        if (run.Timers.Remove(timerId, out var previous))
        {
            CancelTimer(previous.Timer);
        }

        ArmWorkflowTimer(run, timerId, startedId, NowLocked() + (attributes.StartToFireTimeout?.ToTimeSpan() ?? TimeSpan.Zero));
    }

    /// <summary>Schedules a started workflow timer to fire at <paramref name="due"/> (also when a stored run is loaded).</summary>
    private void ArmWorkflowTimer(WorkflowRun run, string timerId, long startedId, DateTimeOffset due)
    {
        var timer = Schedule(due, () =>
        {
            if (run.Timers.TryGetValue(timerId, out var state) && state.StartedEventId == startedId)
            {
                run.Timers.Remove(timerId);
                var fired = NewEvent(EventType.TimerFired);
                fired.TimerFiredEventAttributes = new() { TimerId = timerId, StartedEventId = startedId };
                AddExternalEvent(run, fired);
            }
        });
        run.Timers[timerId] = new TimerState { StartedEventId = startedId, Timer = timer };
    }

    private void CancelWorkflowTimer(WorkflowRun run, string timerId, long completedId, string identity)
    {
        if (!run.Timers.Remove(timerId, out var state))
        {
            return;
        }

        CancelTimer(state.Timer);
        var canceled = NewEvent(EventType.TimerCanceled);
        canceled.TimerCanceledEventAttributes = new()
        {
            TimerId = timerId,
            StartedEventId = state.StartedEventId,
            WorkflowTaskCompletedEventId = completedId,
            Identity = identity,
        };
        Append(run, canceled);
    }

    private void ContinueAsNew(WorkflowRun run, ContinueAsNewWorkflowExecutionCommandAttributes attributes, long completedId, string identity)
    {
        var previousStarted = run.History.Started.WorkflowExecutionStartedEventAttributes;
        var newRunId = Guid.NewGuid().ToString();
        var type = string.IsNullOrEmpty(attributes.WorkflowType?.Name) ? run.Type : attributes.WorkflowType;
        var taskQueue = string.IsNullOrEmpty(attributes.TaskQueue?.Name) ? run.TaskQueue : attributes.TaskQueue.Name;
        var runTimeout = Seconds(attributes.WorkflowRunTimeout) > 0 ? attributes.WorkflowRunTimeout : run.RunTimeout;
        var taskTimeout = Seconds(attributes.WorkflowTaskTimeout) > 0 ? attributes.WorkflowTaskTimeout : run.TaskTimeout;
        var memo = attributes.Memo ?? run.Memo.Clone();
        var searchAttributes = attributes.SearchAttributes ?? run.SearchAttributes.Clone();
        var e = NewEvent(EventType.WorkflowExecutionContinuedAsNew);
        e.WorkflowExecutionContinuedAsNewEventAttributes = new()
        {
            NewExecutionRunId = newRunId,
            WorkflowType = type,
            TaskQueue = new TaskQueue { Name = taskQueue, Kind = TaskQueueKind.Normal },
            Input = attributes.Input,
            WorkflowRunTimeout = runTimeout,
            WorkflowTaskTimeout = taskTimeout,
            WorkflowTaskCompletedEventId = completedId,
            BackoffStartInterval = attributes.BackoffStartInterval,
            Initiator = attributes.Initiator,
            LastCompletionResult = attributes.LastCompletionResult,
            Header = attributes.Header,
            Memo = memo,
            SearchAttributes = searchAttributes,
        };
        CloseRun(run, e, WorkflowExecutionStatus.ContinuedAsNew, notifyParent: false);

        var started = new WorkflowExecutionStartedEventAttributes
        {
            WorkflowType = type,
            TaskQueue = new TaskQueue { Name = taskQueue, Kind = TaskQueueKind.Normal },
            Input = attributes.Input,
            WorkflowExecutionTimeout = run.ExecutionTimeout,
            WorkflowRunTimeout = runTimeout,
            WorkflowTaskTimeout = taskTimeout,
            ContinuedExecutionRunId = run.RunId,
            Initiator = attributes.Initiator,
            ContinuedFailure = attributes.Failure,
            LastCompletionResult = attributes.LastCompletionResult,
            Identity = identity,
            FirstExecutionRunId = run.FirstRunId,
            RetryPolicy = attributes.RetryPolicy ?? run.RetryPolicy,
            Attempt = 1,
            WorkflowExecutionExpirationTime = previousStarted.WorkflowExecutionExpirationTime,
            Header = attributes.Header,
            Memo = memo,
            SearchAttributes = searchAttributes,
            ParentWorkflowNamespace = previousStarted.ParentWorkflowNamespace,
            ParentWorkflowExecution = previousStarted.ParentWorkflowExecution,
            ParentInitiatedEventId = previousStarted.ParentInitiatedEventId,
        };
        StartRun(new NewRun(
            run.Namespace,
            run.WorkflowId,
            Guid.NewGuid().ToString(),
            started,
            run.Parent,
            run.RootExecution,
            attributes.BackoffStartInterval?.ToTimeSpan() ?? TimeSpan.Zero,
            RunId: newRunId));
    }

    /// <summary>Applies the workflow's retry policy (if it has one) to a failed run; InProgress means "retry after <paramref name="delay"/>".</summary>
    private RetryState WorkflowRetryDecision(WorkflowRun run, Temporalio.Api.Failure.V1.Failure? failure, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        var policy = run.RetryPolicy;
        if (policy is null)
        {
            return RetryState.RetryPolicyNotSet;
        }

        var application = failure?.ApplicationFailureInfo;
        if (application is { NonRetryable: true } || (application is not null && policy.NonRetryableErrorTypes.Contains(application.Type)))
        {
            return RetryState.NonRetryableFailure;
        }

        var attempt = run.History.Started.WorkflowExecutionStartedEventAttributes.Attempt;
        if (policy.MaximumAttempts > 0 && attempt >= policy.MaximumAttempts)
        {
            return RetryState.MaximumAttemptsReached;
        }

        var initial = Seconds(policy.InitialInterval) > 0 ? policy.InitialInterval.ToTimeSpan().TotalSeconds : 1;
        var coefficient = policy.BackoffCoefficient >= 1 ? policy.BackoffCoefficient : 2;
        var maximum = Seconds(policy.MaximumInterval) > 0 ? policy.MaximumInterval.ToTimeSpan().TotalSeconds : initial * 100;
        delay = TimeSpan.FromSeconds(Math.Min(initial * Math.Pow(coefficient, attempt - 1), maximum));
        var expiration = run.History.Started.WorkflowExecutionStartedEventAttributes.WorkflowExecutionExpirationTime;
        return expiration is not null && NowLocked() + delay >= expiration.ToDateTimeOffset() ? RetryState.Timeout : RetryState.InProgress;
    }

    /// <summary>Starts the next attempt of a failed run under the same workflow id, after the retry backoff.</summary>
    private void RetryRun(WorkflowRun run, string nextRunId, Temporalio.Api.Failure.V1.Failure? failure, TimeSpan delay, string identity)
    {
        var previous = run.History.Started.WorkflowExecutionStartedEventAttributes;
        var started = previous.Clone();
        started.Attempt = previous.Attempt + 1;
        started.ContinuedExecutionRunId = run.RunId;
        started.Initiator = ContinueAsNewInitiator.Retry;
        started.ContinuedFailure = failure;
        started.Identity = identity;
        started.FirstWorkflowTaskBackoff = null;
        started.Memo = run.Memo.Clone();
        started.SearchAttributes = run.SearchAttributes.Clone();
        StartRun(new NewRun(run.Namespace, run.WorkflowId, Guid.NewGuid().ToString(), started, run.Parent, run.RootExecution, delay, RunId: nextRunId));
    }

    private void InitiateChild(WorkflowRun run, StartChildWorkflowExecutionCommandAttributes attributes, long completedId)
    {
        var ns = run.Namespace;
        var taskQueue = string.IsNullOrEmpty(attributes.TaskQueue?.Name)
            ? new TaskQueue { Name = run.TaskQueue, Kind = TaskQueueKind.Normal }
            : attributes.TaskQueue;
        var initiated = NewEvent(EventType.StartChildWorkflowExecutionInitiated);
        var initiatedAttributes = new StartChildWorkflowExecutionInitiatedEventAttributes
        {
            Namespace = ns,
            WorkflowId = attributes.WorkflowId,
            WorkflowType = attributes.WorkflowType,
            TaskQueue = taskQueue,
            Input = attributes.Input,
            WorkflowExecutionTimeout = attributes.WorkflowExecutionTimeout,
            WorkflowRunTimeout = attributes.WorkflowRunTimeout,
            WorkflowTaskTimeout = attributes.WorkflowTaskTimeout,
            ParentClosePolicy = attributes.ParentClosePolicy,
            WorkflowTaskCompletedEventId = completedId,
            WorkflowIdReusePolicy = attributes.WorkflowIdReusePolicy,
            RetryPolicy = attributes.RetryPolicy,
            CronSchedule = attributes.CronSchedule,
            Header = attributes.Header,
            Memo = attributes.Memo,
            SearchAttributes = attributes.SearchAttributes,
        };
        initiated.StartChildWorkflowExecutionInitiatedEventAttributes = initiatedAttributes;
        Append(run, initiated);
        var child = new ChildState { InitiatedEventId = initiated.EventId, Attributes = initiatedAttributes };
        run.Children[initiated.EventId] = child;
        Defer(() => StartChild(run, child));
    }

    private void StartChild(WorkflowRun parent, ChildState child)
    {
        if (!parent.IsOpen || !parent.Children.ContainsKey(child.InitiatedEventId))
        {
            return;
        }

        var attributes = child.Attributes;
        var existing = CurrentRun(attributes.Namespace, attributes.WorkflowId);
        var namespaceMissing = !_namespaces.Contains(attributes.Namespace);
        var rejected = namespaceMissing || (existing is not null && (existing.IsOpen ||
            attributes.WorkflowIdReusePolicy == WorkflowIdReusePolicy.RejectDuplicate ||
            (attributes.WorkflowIdReusePolicy == WorkflowIdReusePolicy.AllowDuplicateFailedOnly &&
             existing.Status == WorkflowExecutionStatus.Completed)));
        if (rejected)
        {
            parent.Children.Remove(child.InitiatedEventId);
            var failed = NewEvent(EventType.StartChildWorkflowExecutionFailed);
            failed.StartChildWorkflowExecutionFailedEventAttributes = new()
            {
                Namespace = attributes.Namespace,
                WorkflowId = attributes.WorkflowId,
                WorkflowType = attributes.WorkflowType,
                Cause = namespaceMissing ? StartChildWorkflowExecutionFailedCause.NamespaceNotFound : StartChildWorkflowExecutionFailedCause.WorkflowAlreadyExists,
                InitiatedEventId = child.InitiatedEventId,
                WorkflowTaskCompletedEventId = attributes.WorkflowTaskCompletedEventId,
            };
            AddExternalEvent(parent, failed);
            return;
        }

        var started = new WorkflowExecutionStartedEventAttributes
        {
            WorkflowType = attributes.WorkflowType,
            TaskQueue = attributes.TaskQueue,
            Input = attributes.Input,
            WorkflowExecutionTimeout = attributes.WorkflowExecutionTimeout,
            WorkflowRunTimeout = attributes.WorkflowRunTimeout,
            WorkflowTaskTimeout = attributes.WorkflowTaskTimeout,
            RetryPolicy = attributes.RetryPolicy,
            CronSchedule = attributes.CronSchedule,
            Header = attributes.Header,
            Memo = attributes.Memo,
            SearchAttributes = attributes.SearchAttributes,
            ParentWorkflowNamespace = parent.Namespace,
            ParentWorkflowExecution = parent.Execution,
            ParentInitiatedEventId = child.InitiatedEventId,
            Identity = "embedded-temporal-server",
        };
        var childRun = StartRun(new NewRun(
            attributes.Namespace,
            attributes.WorkflowId,
            Guid.NewGuid().ToString(),
            started,
            new ParentLink(parent.Namespace, parent.Execution, child.InitiatedEventId),
            parent.RootExecution,
            TimeSpan.Zero));
        child.RunId = childRun.RunId;
        var startedEvent = NewEvent(EventType.ChildWorkflowExecutionStarted);
        startedEvent.ChildWorkflowExecutionStartedEventAttributes = new()
        {
            Namespace = attributes.Namespace,
            InitiatedEventId = child.InitiatedEventId,
            WorkflowExecution = childRun.Execution,
            WorkflowType = attributes.WorkflowType,
            Header = attributes.Header,
        };
        child.StartedEvent = startedEvent;
        AddExternalEvent(parent, startedEvent, id => child.StartedEventId = id);
    }

    private void SignalExternal(WorkflowRun run, SignalExternalWorkflowExecutionCommandAttributes attributes, long completedId, string identity)
    {
        var ns = run.Namespace;
        var initiated = NewEvent(EventType.SignalExternalWorkflowExecutionInitiated);
        initiated.SignalExternalWorkflowExecutionInitiatedEventAttributes = new()
        {
            Namespace = ns,
            WorkflowExecution = attributes.Execution,
            SignalName = attributes.SignalName,
            Input = attributes.Input,
            ChildWorkflowOnly = attributes.ChildWorkflowOnly,
            Header = attributes.Header,
            WorkflowTaskCompletedEventId = completedId,
        };
        Append(run, initiated);
        var initiatedId = initiated.EventId;
        Defer(() =>
        {
            var target = TryFindRun(ns, attributes.Execution);
            if (target is { IsOpen: true })
            {
                var signaled = NewEvent(EventType.WorkflowExecutionSignaled);
                signaled.WorkflowExecutionSignaledEventAttributes = new()
                {
                    SignalName = attributes.SignalName,
                    Input = attributes.Input,
                    Identity = identity,
                    Header = attributes.Header,
                    ExternalWorkflowExecution = run.Execution,
                };
                AddExternalEvent(target, signaled);
                var done = NewEvent(EventType.ExternalWorkflowExecutionSignaled);
                done.ExternalWorkflowExecutionSignaledEventAttributes = new()
                {
                    InitiatedEventId = initiatedId,
                    Namespace = ns,
                    WorkflowExecution = target.Execution,
                };
                AddExternalEvent(run, done);
            }
            else
            {
                var failed = NewEvent(EventType.SignalExternalWorkflowExecutionFailed);
                failed.SignalExternalWorkflowExecutionFailedEventAttributes = new()
                {
                    Cause = SignalExternalWorkflowExecutionFailedCause.ExternalWorkflowExecutionNotFound,
                    WorkflowTaskCompletedEventId = completedId,
                    Namespace = ns,
                    WorkflowExecution = attributes.Execution,
                    InitiatedEventId = initiatedId,
                };
                AddExternalEvent(run, failed);
            }
        });
    }

    private void CancelExternal(WorkflowRun run, RequestCancelExternalWorkflowExecutionCommandAttributes attributes, long completedId, string identity)
    {
        var ns = run.Namespace;
        var execution = new WorkflowExecution { WorkflowId = attributes.WorkflowId, RunId = attributes.RunId };
        var initiated = NewEvent(EventType.RequestCancelExternalWorkflowExecutionInitiated);
        initiated.RequestCancelExternalWorkflowExecutionInitiatedEventAttributes = new()
        {
            WorkflowTaskCompletedEventId = completedId,
            Namespace = ns,
            WorkflowExecution = execution,
            ChildWorkflowOnly = attributes.ChildWorkflowOnly,
            Reason = attributes.Reason,
        };
        Append(run, initiated);
        var initiatedId = initiated.EventId;
        Defer(() =>
        {
            var target = TryFindRun(ns, execution);
            if (target is { IsOpen: true })
            {
                RecordCancelRequest(target, attributes.Reason, identity, initiatedId, run.Execution);
                var done = NewEvent(EventType.ExternalWorkflowExecutionCancelRequested);
                done.ExternalWorkflowExecutionCancelRequestedEventAttributes = new()
                {
                    InitiatedEventId = initiatedId,
                    Namespace = ns,
                    WorkflowExecution = target.Execution,
                };
                AddExternalEvent(run, done);
            }
            else
            {
                var failed = NewEvent(EventType.RequestCancelExternalWorkflowExecutionFailed);
                failed.RequestCancelExternalWorkflowExecutionFailedEventAttributes = new()
                {
                    Cause = CancelExternalWorkflowExecutionFailedCause.ExternalWorkflowExecutionNotFound,
                    WorkflowTaskCompletedEventId = completedId,
                    Namespace = ns,
                    WorkflowExecution = execution,
                    InitiatedEventId = initiatedId,
                };
                AddExternalEvent(run, failed);
            }
        });
    }

    private WorkflowRun? TryFindRun(string ns, WorkflowExecution? execution)
    {
        if (execution is null || string.IsNullOrEmpty(execution.WorkflowId))
        {
            return null;
        }

        return string.IsNullOrEmpty(execution.RunId)
            ? CurrentRun(ns, execution.WorkflowId)
            : _runs.GetValueOrDefault((ns, execution.WorkflowId, execution.RunId));
    }
}

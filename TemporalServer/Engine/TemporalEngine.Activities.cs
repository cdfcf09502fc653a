using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Command.V1;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Failure.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>
/// Activity tasks: scheduling, dispatch, completion by token or id, heartbeats, retries and the four timeouts.
/// Like the real server, ActivityTaskStarted is written only when the attempt that ends the activity finishes, so
/// retried attempts leave no trace in history.
/// </summary>
internal sealed partial class TemporalEngine
{
    public async Task<PollActivityTaskQueueResponse> PollActivityTaskAsync(
        PollActivityTaskQueueRequest request, DateTime? deadline, CancellationToken cancellationToken)
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
            () => Polled(ActivityQueue(ns, name), request.Identity),
            entry => TryStartActivity(entry, request.Identity),
            deadline,
            cancellationToken) ?? new PollActivityTaskQueueResponse();
    }

    public RecordActivityTaskHeartbeatResponse Heartbeat(ByteString taskToken, Payloads? details) => Execute(() =>
    {
        var (run, activity) = StartedActivity(taskToken);
        return new RecordActivityTaskHeartbeatResponse { CancelRequested = RecordHeartbeat(run, activity, details) };
    });

    public RecordActivityTaskHeartbeatByIdResponse HeartbeatById(string ns, string workflowId, string runId, string activityId, Payloads? details) =>
        Execute(() =>
        {
            var (run, activity) = StartedActivity(ns, workflowId, runId, activityId);
            return new RecordActivityTaskHeartbeatByIdResponse { CancelRequested = RecordHeartbeat(run, activity, details) };
        });

    public void CompleteActivity(ByteString taskToken, Payloads? result, string identity) => Execute(() =>
    {
        var (run, activity) = StartedActivity(taskToken);
        CompleteActivity(run, activity, result, identity);
    });

    public void CompleteActivityById(string ns, string workflowId, string runId, string activityId, Payloads? result, string identity) =>
        Execute(() =>
        {
            var (run, activity) = StartedActivity(ns, workflowId, runId, activityId);
            CompleteActivity(run, activity, result, identity);
        });

    public void FailActivity(ByteString taskToken, Failure? failure, Payloads? lastHeartbeatDetails, string identity) => Execute(() =>
    {
        var (run, activity) = StartedActivity(taskToken);
        FailActivity(run, activity, failure, lastHeartbeatDetails, identity);
    });

    public void FailActivityById(string ns, string workflowId, string runId, string activityId, Failure? failure, Payloads? lastHeartbeatDetails, string identity) =>
        Execute(() =>
        {
            var (run, activity) = StartedActivity(ns, workflowId, runId, activityId);
            FailActivity(run, activity, failure, lastHeartbeatDetails, identity);
        });

    public void CancelActivity(ByteString taskToken, Payloads? details, string identity) => Execute(() =>
    {
        var (run, activity) = StartedActivity(taskToken);
        CancelActivity(run, activity, details, identity);
    });

    public void CancelActivityById(string ns, string workflowId, string runId, string activityId, Payloads? details, string identity) =>
        Execute(() =>
        {
            var (run, activity) = StartedActivity(ns, workflowId, runId, activityId);
            CancelActivity(run, activity, details, identity);
        });

    private (WorkflowRun Run, ActivityState Activity) StartedActivity(ByteString taskToken)
    {
        if (!TryReadToken(taskToken, out var token))
        {
            throw Errors.InvalidArgument("Invalid task token.");
        }

        if (!_activityTokens.TryGetValue(token, out var found) || !found.Run.IsOpen ||
            found.Activity.State != ActivityStatus.Started || found.Activity.Token != token)
        {
            throw Errors.NotFound("activity task not found");
        }

        return found;
    }

    private (WorkflowRun Run, ActivityState Activity) StartedActivity(string ns, string workflowId, string runId, string activityId)
    {
        var run = FindOpenRun(ns, new WorkflowExecution { WorkflowId = workflowId, RunId = runId });
        var activity = run.Activities.Values.FirstOrDefault(a => a.Attributes.ActivityId == activityId && a.State == ActivityStatus.Started);
        return activity is null ? throw Errors.NotFound("activity task not found") : (run, activity);
    }

    private void ScheduleActivity(WorkflowRun run, ScheduleActivityTaskCommandAttributes command, long completedId)
    {
        var scheduleToClose = command.ScheduleToCloseTimeout;
        var startToClose = Seconds(command.StartToCloseTimeout) > 0 ? command.StartToCloseTimeout : scheduleToClose;
        var retry = command.RetryPolicy?.Clone() ?? new RetryPolicy();
        if (Seconds(retry.InitialInterval) <= 0)
        {
            retry.InitialInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1));
        }

        if (retry.BackoffCoefficient < 1)
        {
            retry.BackoffCoefficient = 2;
        }

        if (Seconds(retry.MaximumInterval) <= 0)
        {
            retry.MaximumInterval = Duration.FromTimeSpan(retry.InitialInterval.ToTimeSpan() * 100);
        }

        var attributes = new ActivityTaskScheduledEventAttributes
        {
            ActivityId = command.ActivityId,
            ActivityType = command.ActivityType,
            TaskQueue = string.IsNullOrEmpty(command.TaskQueue?.Name)
                ? new Temporalio.Api.TaskQueue.V1.TaskQueue { Name = run.TaskQueue, Kind = TaskQueueKind.Normal }
                : command.TaskQueue,
            Header = command.Header,
            Input = command.Input,
            ScheduleToCloseTimeout = scheduleToClose,
            ScheduleToStartTimeout = command.ScheduleToStartTimeout,
            StartToCloseTimeout = startToClose,
            HeartbeatTimeout = command.HeartbeatTimeout,
            WorkflowTaskCompletedEventId = completedId,
            RetryPolicy = retry,
        };
        var scheduled = NewEvent(EventType.ActivityTaskScheduled);
        scheduled.ActivityTaskScheduledEventAttributes = attributes;
        Append(run, scheduled);
        var now = NowLocked();
        var activity = new ActivityState
        {
            ScheduledEventId = scheduled.EventId,
            Attributes = attributes,
            ScheduledTime = now,
            CurrentAttemptScheduledTime = now,
        };
        run.Activities[activity.ScheduledEventId] = activity;
        if (Seconds(scheduleToClose) > 0)
        {
            activity.ScheduleToCloseTimer = Schedule(scheduleToClose.ToTimeSpan(), () => TimeOutActivity(run, activity, TimeoutType.ScheduleToClose, activity.Attempt));
        }

        QueueActivity(run, activity);
    }

    private void QueueActivity(WorkflowRun run, ActivityState activity)
    {
        MarkDirty(run);
        activity.State = ActivityStatus.Scheduled;
        activity.QueuedRealUtc = DateTime.UtcNow;
        activity.CurrentAttemptScheduledTime = NowLocked();
        var attempt = activity.Attempt;
        if (Seconds(activity.Attributes.ScheduleToStartTimeout) > 0)
        {
            activity.AttemptTimer = Schedule(
                activity.Attributes.ScheduleToStartTimeout.ToTimeSpan(),
                () => TimeOutActivity(run, activity, TimeoutType.ScheduleToStart, attempt));
        }

        MarkPossiblyBusy(run);
        ActivityQueue(run.Namespace, activity.Attributes.TaskQueue.Name).Add(new ActivityTaskEntry(run, activity, attempt));
    }

    private PollActivityTaskQueueResponse? TryStartActivity(ActivityTaskEntry entry, string identity)
    {
        var (run, activity, attempt) = entry;
        if (!run.IsOpen || !run.Activities.TryGetValue(activity.ScheduledEventId, out var current) || current != activity ||
            activity.Attempt != attempt || activity.State != ActivityStatus.Scheduled)
        {
            return null;
        }

        var now = NowLocked();
        CancelTimer(activity.AttemptTimer);
        MarkDirty(run);
        activity.State = ActivityStatus.Started;
        activity.StartedTime = now;
        activity.StartedIdentity = identity;
        activity.Token = Guid.NewGuid();
        _activityTokens[activity.Token] = (run, activity);
        var attributes = activity.Attributes;
        activity.AttemptTimer = Schedule(attributes.StartToCloseTimeout.ToTimeSpan(), () => TimeOutActivity(run, activity, TimeoutType.StartToClose, attempt));
        ResetHeartbeatTimer(run, activity);
        return new PollActivityTaskQueueResponse
        {
            TaskToken = ByteString.CopyFrom(activity.Token.ToByteArray()),
            WorkflowNamespace = run.Namespace,
            WorkflowType = run.Type,
            WorkflowExecution = run.Execution,
            ActivityType = attributes.ActivityType,
            ActivityId = attributes.ActivityId,
            Header = attributes.Header,
            Input = attributes.Input,
            HeartbeatDetails = activity.HeartbeatDetails,
            ScheduledTime = Timestamp.FromDateTimeOffset(activity.ScheduledTime),
            CurrentAttemptScheduledTime = Timestamp.FromDateTimeOffset(activity.CurrentAttemptScheduledTime),
            StartedTime = Timestamp.FromDateTimeOffset(now),
            Attempt = attempt,
            ScheduleToCloseTimeout = attributes.ScheduleToCloseTimeout,
            StartToCloseTimeout = attributes.StartToCloseTimeout,
            HeartbeatTimeout = attributes.HeartbeatTimeout,
            RetryPolicy = attributes.RetryPolicy,
        };
    }

    private void ResetHeartbeatTimer(WorkflowRun run, ActivityState activity)
    {
        CancelTimer(activity.HeartbeatTimer);
        activity.HeartbeatTimer = null;
        var heartbeat = activity.Attributes.HeartbeatTimeout;
        if (Seconds(heartbeat) > 0)
        {
            var attempt = activity.Attempt;
            activity.HeartbeatTimer = Schedule(heartbeat.ToTimeSpan(), () => TimeOutActivity(run, activity, TimeoutType.Heartbeat, attempt));
        }
    }

    private bool RecordHeartbeat(WorkflowRun run, ActivityState activity, Payloads? details)
    {
        if (details is not null)
        {
            activity.HeartbeatDetails = details;
        }

        activity.LastHeartbeatTime = NowLocked();
        MarkDirty(run);
        ResetHeartbeatTimer(run, activity);
        return activity.CancelRequested;
    }

    private void StopActivityTimers(ActivityState activity)
    {
        CancelTimer(activity.AttemptTimer);
        CancelTimer(activity.HeartbeatTimer);
        CancelTimer(activity.ScheduleToCloseTimer);
    }

    private void RemoveActivity(WorkflowRun run, ActivityState activity)
    {
        StopActivityTimers(activity);
        _activityTokens.Remove(activity.Token);
        run.Activities.Remove(activity.ScheduledEventId);
    }

    private HistoryEvent ActivityStartedEvent(ActivityState activity)
    {
        var started = NewEvent(EventType.ActivityTaskStarted);
        started.ActivityTaskStartedEventAttributes = new()
        {
            ScheduledEventId = activity.ScheduledEventId,
            Identity = activity.StartedIdentity,
            RequestId = activity.Token.ToString(),
            Attempt = activity.Attempt,
            LastFailure = activity.LastFailure,
        };
        return started;
    }

    /// <summary>Writes ActivityTaskStarted and the event that ends the activity; the latter learns the former's id.</summary>
    private void EndActivity(WorkflowRun run, ActivityState activity, HistoryEvent end, Action<long> setStartedEventId, bool wasStarted)
    {
        RemoveActivity(run, activity);
        if (wasStarted)
        {
            AddExternalEvents(run, [(ActivityStartedEvent(activity), setStartedEventId), (end, null)]);
        }
        else
        {
            AddExternalEvent(run, end);
        }
    }

    private void CompleteActivity(WorkflowRun run, ActivityState activity, Payloads? result, string identity)
    {
        var completed = NewEvent(EventType.ActivityTaskCompleted);
        var attributes = new ActivityTaskCompletedEventAttributes
        {
            Result = result,
            ScheduledEventId = activity.ScheduledEventId,
            Identity = identity,
        };
        completed.ActivityTaskCompletedEventAttributes = attributes;
        EndActivity(run, activity, completed, id => attributes.StartedEventId = id, wasStarted: true);
    }

    private void CancelActivity(WorkflowRun run, ActivityState activity, Payloads? details, string identity)
    {
        var canceled = NewEvent(EventType.ActivityTaskCanceled);
        var attributes = new ActivityTaskCanceledEventAttributes
        {
            Details = details,
            LatestCancelRequestedEventId = activity.CancelRequestedEventId,
            ScheduledEventId = activity.ScheduledEventId,
            Identity = identity,
        };
        canceled.ActivityTaskCanceledEventAttributes = attributes;
        EndActivity(run, activity, canceled, id => attributes.StartedEventId = id, wasStarted: true);
    }

    private void FailActivity(WorkflowRun run, ActivityState activity, Failure? failure, Payloads? lastHeartbeatDetails, string identity)
    {
        if (lastHeartbeatDetails is not null)
        {
            activity.HeartbeatDetails = lastHeartbeatDetails;
        }

        var retryState = RetryDecision(activity, failure, out var delay);
        if (retryState == RetryState.InProgress)
        {
            RetryActivity(run, activity, failure, delay);
            return;
        }

        var failed = NewEvent(EventType.ActivityTaskFailed);
        var attributes = new ActivityTaskFailedEventAttributes
        {
            Failure = failure,
            ScheduledEventId = activity.ScheduledEventId,
            Identity = identity,
            RetryState = retryState,
        };
        failed.ActivityTaskFailedEventAttributes = attributes;
        EndActivity(run, activity, failed, id => attributes.StartedEventId = id, wasStarted: true);
    }

    private void TimeOutActivity(WorkflowRun run, ActivityState activity, TimeoutType type, int attempt)
    {
        if (!run.IsOpen || !run.Activities.TryGetValue(activity.ScheduledEventId, out var current) || current != activity)
        {
            return;
        }

        if (type != TimeoutType.ScheduleToClose && activity.Attempt != attempt)
        {
            return;
        }

        var wasStarted = activity.State == ActivityStatus.Started;
        var message = type switch
        {
            TimeoutType.StartToClose => "activity StartToClose timeout",
            TimeoutType.Heartbeat => "activity Heartbeat timeout",
            TimeoutType.ScheduleToStart => "activity ScheduleToStart timeout",
            _ => "activity ScheduleToClose timeout",
        };
        var retryState = RetryState.Timeout;
        if (type is TimeoutType.StartToClose or TimeoutType.Heartbeat)
        {
            var attemptFailure = TimeoutFailure(message, type, activity.HeartbeatDetails, null);
            retryState = RetryDecision(activity, attemptFailure, out var delay);
            if (retryState == RetryState.InProgress)
            {
                RetryActivity(run, activity, attemptFailure, delay);
                return;
            }
        }

        var failure = TimeoutFailure(message, type, activity.HeartbeatDetails, type == TimeoutType.ScheduleToClose ? activity.LastFailure : null);
        var timedOut = NewEvent(EventType.ActivityTaskTimedOut);
        var attributes = new ActivityTaskTimedOutEventAttributes
        {
            Failure = failure,
            ScheduledEventId = activity.ScheduledEventId,
            RetryState = retryState,
        };
        timedOut.ActivityTaskTimedOutEventAttributes = attributes;
        EndActivity(run, activity, timedOut, id => attributes.StartedEventId = id, wasStarted);
    }

    /// <summary>Applies the activity's retry policy to a failed attempt; InProgress means "retry after <paramref name="delay"/>".</summary>
    private RetryState RetryDecision(ActivityState activity, Failure? failure, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        var policy = activity.Attributes.RetryPolicy;
        var application = failure?.ApplicationFailureInfo;
        if (application is { NonRetryable: true } || (application is not null && policy.NonRetryableErrorTypes.Contains(application.Type)))
        {
            return RetryState.NonRetryableFailure;
        }

        if (policy.MaximumAttempts > 0 && activity.Attempt >= policy.MaximumAttempts)
        {
            return RetryState.MaximumAttemptsReached;
        }

        if (application?.NextRetryDelay is { } next && next.ToTimeSpan() > TimeSpan.Zero)
        {
            delay = next.ToTimeSpan();
        }
        else
        {
            var seconds = policy.InitialInterval.ToTimeSpan().TotalSeconds * Math.Pow(policy.BackoffCoefficient, activity.Attempt - 1);
            delay = TimeSpan.FromSeconds(Math.Min(seconds, policy.MaximumInterval.ToTimeSpan().TotalSeconds));
        }

        var scheduleToClose = activity.Attributes.ScheduleToCloseTimeout;
        if (Seconds(scheduleToClose) > 0 && NowLocked() + delay >= activity.ScheduledTime + scheduleToClose.ToTimeSpan())
        {
            return RetryState.Timeout;
        }

        return RetryState.InProgress;
    }

    private void RetryActivity(WorkflowRun run, ActivityState activity, Failure? failure, TimeSpan delay)
    {
        CancelTimer(activity.AttemptTimer);
        CancelTimer(activity.HeartbeatTimer);
        _activityTokens.Remove(activity.Token);
        activity.Attempt++;
        activity.LastFailure = failure;
        activity.StartedTime = null;
        activity.State = ActivityStatus.Backoff;
        MarkDirty(run);
        if (activity.CancelRequested)
        {
            // A cancel was requested while the attempt ran: there is no point in another attempt.
            var canceled = NewEvent(EventType.ActivityTaskCanceled);
            canceled.ActivityTaskCanceledEventAttributes = new()
            {
                LatestCancelRequestedEventId = activity.CancelRequestedEventId,
                ScheduledEventId = activity.ScheduledEventId,
            };
            EndActivity(run, activity, canceled, _ => { }, wasStarted: false);
            return;
        }

        activity.RetryDue = NowLocked() + delay;
        ScheduleRetry(run, activity);
    }

    private void ScheduleRetry(WorkflowRun run, ActivityState activity)
    {
        var attempt = activity.Attempt;
        activity.AttemptTimer = Schedule(activity.RetryDue, () =>
        {
            if (run.IsOpen && run.Activities.TryGetValue(activity.ScheduledEventId, out var current) && current == activity &&
                activity.Attempt == attempt && activity.State == ActivityStatus.Backoff)
            {
                QueueActivity(run, activity);
            }
        });
    }

    private void RequestCancelActivity(WorkflowRun run, long scheduledEventId, long completedId, string identity)
    {
        var found = run.Activities.TryGetValue(scheduledEventId, out var activity);
        if (!found && !HasBufferedFinish(run, scheduledEventId))
        {
            return;
        }

        // Temporal records the request even when the activity finished while this workflow task was in flight
        // (its finish event is still buffered): the SDK replays its cancel command against this event, and a
        // history without it fails replay with a nondeterminism error.
        var requested = NewEvent(EventType.ActivityTaskCancelRequested);
        requested.ActivityTaskCancelRequestedEventAttributes = new()
        {
            ScheduledEventId = scheduledEventId,
            WorkflowTaskCompletedEventId = completedId,
        };
        Append(run, requested);
        if (activity is null)
        {
            return;
        }

        activity.CancelRequested = true;
        activity.CancelRequestedEventId = requested.EventId;
        if (activity.State != ActivityStatus.Started)
        {
            var canceled = NewEvent(EventType.ActivityTaskCanceled);
            canceled.ActivityTaskCanceledEventAttributes = new()
            {
                LatestCancelRequestedEventId = requested.EventId,
                ScheduledEventId = scheduledEventId,
                Identity = identity,
            };
            EndActivity(run, activity, canceled, _ => { }, wasStarted: false);
        }
    }

    private static bool HasBufferedFinish(WorkflowRun run, long scheduledEventId) => run.Buffered.Any(e => e.EventType switch
    {
        EventType.ActivityTaskCompleted => e.ActivityTaskCompletedEventAttributes.ScheduledEventId == scheduledEventId,
        EventType.ActivityTaskFailed => e.ActivityTaskFailedEventAttributes.ScheduledEventId == scheduledEventId,
        EventType.ActivityTaskTimedOut => e.ActivityTaskTimedOutEventAttributes.ScheduledEventId == scheduledEventId,
        EventType.ActivityTaskCanceled => e.ActivityTaskCanceledEventAttributes.ScheduledEventId == scheduledEventId,
        _ => false,
    });
}

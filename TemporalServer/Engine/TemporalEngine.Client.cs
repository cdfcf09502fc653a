using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Common.V1;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;
using Temporalio.Api.Query.V1;
using Temporalio.Api.TaskQueue.V1;
using Temporalio.Api.Update.V1;
using Temporalio.Api.Workflow.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>Client-side RPCs: start, signal, terminate, cancel, describe, history, query, update.</summary>
internal sealed partial class TemporalEngine
{
    private static readonly TimeSpan MaxLongPoll = TimeSpan.FromSeconds(20);

    public StartWorkflowExecutionResponse StartWorkflow(StartWorkflowExecutionRequest request) => Execute(() =>
    {
        RequireNamespace(request.Namespace);
        ValidateStart(request.WorkflowId, request.WorkflowType, request.TaskQueue);
        var requestId = string.IsNullOrEmpty(request.RequestId) ? Guid.NewGuid().ToString() : request.RequestId;
        var existing = ResolveConflict(
            request.Namespace, request.WorkflowId, requestId, request.WorkflowIdReusePolicy, request.WorkflowIdConflictPolicy, request.Identity);
        if (existing is not null)
        {
            return new StartWorkflowExecutionResponse { RunId = existing.RunId, Started = false, Status = existing.Status };
        }

        var run = StartRun(new NewRun(
            request.Namespace,
            request.WorkflowId,
            requestId,
            StartedAttributes(
                request.WorkflowType,
                request.TaskQueue,
                request.Input,
                request.WorkflowExecutionTimeout,
                request.WorkflowRunTimeout,
                request.WorkflowTaskTimeout,
                request.Identity,
                request.RetryPolicy,
                request.CronSchedule,
                request.Memo,
                request.SearchAttributes,
                request.Header),
            null,
            null,
            request.WorkflowStartDelay?.ToTimeSpan() ?? TimeSpan.Zero));
        return new StartWorkflowExecutionResponse { RunId = run.RunId, Started = true, Status = WorkflowExecutionStatus.Running };
    });

    public SignalWithStartWorkflowExecutionResponse SignalWithStart(SignalWithStartWorkflowExecutionRequest request) => Execute(() =>
    {
        RequireNamespace(request.Namespace);
        ValidateStart(request.WorkflowId, request.WorkflowType, request.TaskQueue);
        if (string.IsNullOrEmpty(request.SignalName))
        {
            throw Errors.InvalidArgument("SignalName is not set on request.");
        }

        var signal = NewSignal(request.SignalName, request.SignalInput, request.Identity, request.Header, null);
        var current = CurrentRun(request.Namespace, request.WorkflowId);
        if (current is { IsOpen: true } && request.WorkflowIdConflictPolicy != WorkflowIdConflictPolicy.TerminateExisting)
        {
            AddExternalEvent(current, signal);
            return new SignalWithStartWorkflowExecutionResponse { RunId = current.RunId, Started = false };
        }

        var requestId = string.IsNullOrEmpty(request.RequestId) ? Guid.NewGuid().ToString() : request.RequestId;
        ResolveConflict(request.Namespace, request.WorkflowId, requestId, request.WorkflowIdReusePolicy, request.WorkflowIdConflictPolicy, request.Identity);
        var run = StartRun(new NewRun(
            request.Namespace,
            request.WorkflowId,
            requestId,
            StartedAttributes(
                request.WorkflowType,
                request.TaskQueue,
                request.Input,
                request.WorkflowExecutionTimeout,
                request.WorkflowRunTimeout,
                request.WorkflowTaskTimeout,
                request.Identity,
                request.RetryPolicy,
                request.CronSchedule,
                request.Memo,
                request.SearchAttributes,
                request.Header),
            null,
            null,
            request.WorkflowStartDelay?.ToTimeSpan() ?? TimeSpan.Zero,
            BeforeFirstTask: r => Append(r, signal)));
        return new SignalWithStartWorkflowExecutionResponse { RunId = run.RunId, Started = true };
    });

    public void Signal(SignalWorkflowExecutionRequest request) => Execute(() =>
    {
        if (string.IsNullOrEmpty(request.SignalName))
        {
            throw Errors.InvalidArgument("SignalName is not set on request.");
        }

        var run = FindOpenRun(request.Namespace, request.WorkflowExecution);
        if (string.IsNullOrEmpty(request.RequestId) || run.SignalRequestIds.Add(request.RequestId))
        {
            MarkDirty(run);
            AddExternalEvent(run, NewSignal(request.SignalName, request.Input, request.Identity, request.Header, null));
        }
    });

    public void Terminate(TerminateWorkflowExecutionRequest request) => Execute(() =>
    {
        var run = FindOpenRun(request.Namespace, request.WorkflowExecution);
        var e = NewEvent(EventType.WorkflowExecutionTerminated);
        e.WorkflowExecutionTerminatedEventAttributes = new()
        {
            Reason = request.Reason,
            Details = request.Details,
            Identity = request.Identity,
        };
        CloseRun(run, e, WorkflowExecutionStatus.Terminated);
    });

    public void RequestCancel(RequestCancelWorkflowExecutionRequest request) => Execute(() =>
    {
        var run = FindOpenRun(request.Namespace, request.WorkflowExecution);
        RecordCancelRequest(run, request.Reason, request.Identity, null, null);
    });

    public DescribeWorkflowExecutionResponse Describe(DescribeWorkflowExecutionRequest request)
    {
        lock (_gate)
        {
            var run = FindRun(request.Namespace, request.Execution);
            var response = new DescribeWorkflowExecutionResponse
            {
                ExecutionConfig = new WorkflowExecutionConfig
                {
                    TaskQueue = new TaskQueue { Name = run.TaskQueue, Kind = TaskQueueKind.Normal },
                    WorkflowExecutionTimeout = run.ExecutionTimeout,
                    WorkflowRunTimeout = run.RunTimeout,
                    DefaultWorkflowTaskTimeout = run.TaskTimeout,
                },
                WorkflowExecutionInfo = ExecutionInfo(run),
            };
            foreach (var activity in run.Activities.Values)
            {
                var info = new PendingActivityInfo
                {
                    ActivityId = activity.Attributes.ActivityId,
                    ActivityType = activity.Attributes.ActivityType,
                    State = activity.CancelRequested ? PendingActivityState.CancelRequested
                        : activity.State == ActivityStatus.Started ? PendingActivityState.Started : PendingActivityState.Scheduled,
                    HeartbeatDetails = activity.HeartbeatDetails,
                    Attempt = activity.Attempt,
                    MaximumAttempts = activity.Attributes.RetryPolicy.MaximumAttempts,
                    ScheduledTime = Timestamp.FromDateTimeOffset(activity.CurrentAttemptScheduledTime),
                    LastFailure = activity.LastFailure,
                    LastWorkerIdentity = activity.StartedIdentity,
                };
                if (activity.StartedTime is { } started)
                {
                    info.LastStartedTime = Timestamp.FromDateTimeOffset(started);
                }

                if (activity.LastHeartbeatTime is { } heartbeat)
                {
                    info.LastHeartbeatTime = Timestamp.FromDateTimeOffset(heartbeat);
                }

                response.PendingActivities.Add(info);
            }

            foreach (var child in run.Children.Values)
            {
                response.PendingChildren.Add(new PendingChildExecutionInfo
                {
                    WorkflowId = child.Attributes.WorkflowId,
                    RunId = child.RunId,
                    WorkflowTypeName = child.Attributes.WorkflowType.Name,
                    InitiatedId = child.InitiatedEventId,
                    ParentClosePolicy = child.Attributes.ParentClosePolicy,
                });
            }

            if (run.IsOpen && run.WorkflowTask is { } wft)
            {
                response.PendingWorkflowTask = new PendingWorkflowTaskInfo
                {
                    State = wft.Started ? PendingWorkflowTaskState.Started : PendingWorkflowTaskState.Scheduled,
                    ScheduledTime = Timestamp.FromDateTimeOffset(wft.ScheduledTime),
                    Attempt = wft.Attempt,
                };
            }

            return response;
        }
    }

    public async Task<GetWorkflowExecutionHistoryResponse> GetHistoryAsync(
        GetWorkflowExecutionHistoryRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        var waitUntil = DateTime.UtcNow + LongPollWait(deadline);
        while (true)
        {
            Task changed;
            long nextEventId;
            lock (_gate)
            {
                var run = FindRun(request.Namespace, request.Execution);
                nextEventId = 1;
                if (!request.NextPageToken.IsEmpty)
                {
                    if (request.NextPageToken.Length != 8)
                    {
                        throw Errors.InvalidArgument("Invalid NextPageToken.");
                    }

                    nextEventId = BitConverter.ToInt64(request.NextPageToken.Span);
                }

                var response = new GetWorkflowExecutionHistoryResponse { History = new History() };
                if (request.HistoryEventFilterType == HistoryEventFilterType.CloseEvent)
                {
                    if (!run.IsOpen)
                    {
                        response.History.Events.Add(run.History.Last);
                        return response;
                    }

                    if (!request.WaitNewEvent)
                    {
                        return response;
                    }
                }
                else
                {
                    var available = run.History.Count - (int)(nextEventId - 1);
                    if (available > 0 || !request.WaitNewEvent || !run.IsOpen)
                    {
                        var pageSize = request.MaximumPageSize > 0 ? request.MaximumPageSize : 1000;
                        var count = Math.Max(0, Math.Min(pageSize, available));
                        response.History.Events.AddRange(EventsFrom(run, (int)(nextEventId - 1), count));
                        var next = nextEventId + count;
                        if (next <= run.History.Count || (request.WaitNewEvent && run.IsOpen))
                        {
                            response.NextPageToken = ByteString.CopyFrom(BitConverter.GetBytes(next));
                        }

                        return response;
                    }
                }

                changed = request.HistoryEventFilterType == HistoryEventFilterType.CloseEvent ? run.Closed : run.NextEvent;
            }

            var remaining = waitUntil - DateTime.UtcNow;
            var awaitingResult = request.HistoryEventFilterType == HistoryEventFilterType.CloseEvent;
            bool changedInTime;
            if (awaitingResult)
            {
                lock (_gate)
                {
                    _resultWaiters++;
                }

                PokeClock();
            }

            try
            {
                changedInTime = remaining > TimeSpan.Zero && await WaitAsync(changed, remaining, cancellationToken);
            }
            finally
            {
                if (awaitingResult)
                {
                    lock (_gate)
                    {
                        _resultWaiters--;
                    }
                }
            }

            if (!changedInTime)
            {
                // A long poll that times out hands back its position so the caller can poll again.
                return new GetWorkflowExecutionHistoryResponse
                {
                    History = new History(),
                    NextPageToken = ByteString.CopyFrom(BitConverter.GetBytes(nextEventId)),
                };
            }
        }
    }

    public async Task<QueryWorkflowResponse> QueryAsync(QueryWorkflowRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Query?.QueryType))
        {
            throw Errors.InvalidArgument("QueryType is not set on request.");
        }

        QueryTask query;
        lock (_gate)
        {
            var run = FindRun(request.Namespace, request.Execution);
            var rejected = request.QueryRejectCondition switch
            {
                QueryRejectCondition.NotOpen => !run.IsOpen,
                QueryRejectCondition.NotCompletedCleanly => !run.IsOpen && run.Status != WorkflowExecutionStatus.Completed,
                _ => false,
            };
            if (rejected)
            {
                return new QueryWorkflowResponse { QueryRejected = new QueryRejected { Status = run.Status } };
            }

            query = new QueryTask { Run = run, Request = request };
            _queryTokens[query.Token] = query;
            if (MustHoldQueries(run))
            {
                // Answer against a consistent state: once the workflow has seen every event written so far.
                run.HeldQueries.Add(query);
            }
            else
            {
                WorkflowQueue(run.Namespace, run.TaskQueue).Add(new WorkflowTaskEntry(run, 0, query));
            }
        }

        var answered = await WaitAsync(query.Result.Task, LongPollWait(deadline, TimeSpan.FromSeconds(50)), cancellationToken);
        lock (_gate)
        {
            _queryTokens.Remove(query.Token);
            query.Run.HeldQueries.Remove(query);
        }

        if (!answered)
        {
            throw Errors.DeadlineExceeded("query timed out before a worker answered it");
        }

        var result = await query.Result.Task;
        if (result.CompletedType == QueryResultType.Answered)
        {
            return new QueryWorkflowResponse { QueryResult = result.QueryResult };
        }

        throw Errors.QueryFailed(string.IsNullOrEmpty(result.ErrorMessage) ? "query failed" : result.ErrorMessage);
    }

    public async Task<UpdateWorkflowExecutionResponse> UpdateAsync(
        UpdateWorkflowExecutionRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        var updateId = request.Request?.Meta?.UpdateId;
        if (string.IsNullOrEmpty(updateId) || string.IsNullOrEmpty(request.Request?.Input?.Name))
        {
            throw Errors.InvalidArgument("Update id and name are required.");
        }

        var (run, update) = Execute(() =>
        {
            var run = FindOpenRun(request.Namespace, request.WorkflowExecution);
            if (!run.Updates.TryGetValue(updateId, out var update))
            {
                update = new UpdateState { Request = request.Request };
                run.Updates[updateId] = update;
                MarkDirty(run);
                ScheduleWorkflowTask(run);
            }

            return (run, update);
        });
        var stage = await WaitForUpdateAsync(run, update, request.WaitPolicy?.LifecycleStage, deadline, cancellationToken);
        return new UpdateWorkflowExecutionResponse
        {
            UpdateRef = new UpdateRef { WorkflowExecution = run.Execution, UpdateId = updateId },
            Outcome = stage == UpdateWorkflowExecutionLifecycleStage.Completed ? update.Outcome : null,
            Stage = stage,
        };
    }

    /// <summary>Update-with-start: start (or, by the conflict policy, reuse) the workflow, then update it.</summary>
    public async Task<ExecuteMultiOperationResponse> ExecuteMultiOperationAsync(
        ExecuteMultiOperationRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        if (request.Operations.Count != 2 || request.Operations[0].StartWorkflow is not { } start ||
            request.Operations[1].UpdateWorkflow is not { } update)
        {
            throw Errors.InvalidArgument("Only a start-workflow operation followed by an update-workflow operation is supported.");
        }

        if (start.WorkflowIdConflictPolicy is not (WorkflowIdConflictPolicy.UseExisting or WorkflowIdConflictPolicy.Fail))
        {
            throw Errors.InvalidArgument("Update-with-start needs the workflow id conflict policy USE_EXISTING or FAIL.");
        }

        if (string.IsNullOrEmpty(start.Namespace))
        {
            start.Namespace = request.Namespace;
        }

        var started = StartWorkflow(start);
        update.Namespace = request.Namespace;
        update.WorkflowExecution = new WorkflowExecution { WorkflowId = start.WorkflowId, RunId = started.RunId };
        var updated = await UpdateAsync(update, deadline, cancellationToken);
        var response = new ExecuteMultiOperationResponse();
        response.Responses.Add(new ExecuteMultiOperationResponse.Types.Response { StartWorkflow = started });
        response.Responses.Add(new ExecuteMultiOperationResponse.Types.Response { UpdateWorkflow = updated });
        return response;
    }

    public async Task<PollWorkflowExecutionUpdateResponse> PollUpdateAsync(
        PollWorkflowExecutionUpdateRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        var updateId = request.UpdateRef?.UpdateId;
        if (string.IsNullOrEmpty(updateId))
        {
            throw Errors.InvalidArgument("Update id is required.");
        }

        WorkflowRun run;
        UpdateState? update;
        lock (_gate)
        {
            run = FindRun(request.Namespace, request.UpdateRef!.WorkflowExecution);
            if (!run.Updates.TryGetValue(updateId, out update))
            {
                throw Errors.NotFound($"update {updateId} not found");
            }
        }

        var stage = await WaitForUpdateAsync(run, update, request.WaitPolicy?.LifecycleStage, deadline, cancellationToken);
        return new PollWorkflowExecutionUpdateResponse
        {
            UpdateRef = new UpdateRef { WorkflowExecution = run.Execution, UpdateId = updateId },
            Outcome = stage == UpdateWorkflowExecutionLifecycleStage.Completed ? update.Outcome : null,
            Stage = stage,
        };
    }

    private async Task<UpdateWorkflowExecutionLifecycleStage> WaitForUpdateAsync(
        WorkflowRun run, UpdateState update, UpdateWorkflowExecutionLifecycleStage? wanted, DateTime? deadline, CancellationToken cancellationToken)
    {
        var target = wanted is null or UpdateWorkflowExecutionLifecycleStage.Unspecified ? UpdateWorkflowExecutionLifecycleStage.Accepted : wanted.Value;
        var waitUntil = DateTime.UtcNow + LongPollWait(deadline);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (update.Stage >= target)
                {
                    return update.Stage;
                }

                if (!run.IsOpen)
                {
                    throw Errors.NotFound("workflow execution already completed");
                }

                changed = update.Changed.Task;
            }

            var remaining = waitUntil - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero || !await WaitAsync(changed, remaining, cancellationToken))
            {
                lock (_gate)
                {
                    return update.Stage;
                }
            }
        }
    }

    private static TimeSpan LongPollWait(DateTime? deadline, TimeSpan? max = null)
    {
        var wait = max ?? MaxLongPoll;
        if (deadline is { } d && d != DateTime.MaxValue)
        {
            var untilDeadline = d.ToUniversalTime() - DateTime.UtcNow - TimeSpan.FromMilliseconds(500);
            if (untilDeadline < wait)
            {
                wait = untilDeadline < TimeSpan.Zero ? TimeSpan.Zero : untilDeadline;
            }
        }

        return wait;
    }

    /// <summary>Waits for <paramref name="task"/>; false on timeout or server stop, throws when the caller goes away.</summary>
    private async Task<bool> WaitAsync(Task task, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            await task.WaitAsync(timeout, linked.Token);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static void ValidateStart(string workflowId, WorkflowType? type, TaskQueue? taskQueue)
    {
        if (string.IsNullOrEmpty(workflowId))
        {
            throw Errors.InvalidArgument("WorkflowId is not set on request.");
        }

        if (workflowId.Length > 1000)
        {
            throw Errors.InvalidArgument("WorkflowId exceeds length limit.");
        }

        if (string.IsNullOrEmpty(type?.Name))
        {
            throw Errors.InvalidArgument("WorkflowType is not set on request.");
        }

        if (string.IsNullOrEmpty(taskQueue?.Name))
        {
            throw Errors.InvalidArgument("TaskQueue is not set on request.");
        }
    }

    /// <summary>
    /// Applies request-id dedupe and the workflow-id reuse and conflict policies. Returns the run to answer with
    /// instead of starting one, null to go ahead, or throws AlreadyExists.
    /// </summary>
    private WorkflowRun? ResolveConflict(
        string ns, string workflowId, string requestId, WorkflowIdReusePolicy reuse, WorkflowIdConflictPolicy conflict, string identity)
    {
        if (!_runsByWorkflowId.TryGetValue((ns, workflowId), out var runs))
        {
            return null;
        }

        if (runs.FirstOrDefault(r => r.RequestId == requestId) is { } same)
        {
            return same;
        }

        var current = runs[^1];
        if (current.IsOpen)
        {
            if (conflict == WorkflowIdConflictPolicy.UseExisting)
            {
                return current;
            }

            if (conflict == WorkflowIdConflictPolicy.TerminateExisting)
            {
                var e = NewEvent(EventType.WorkflowExecutionTerminated);
                e.WorkflowExecutionTerminatedEventAttributes = new()
                {
                    Reason = "terminated by a new run with the same workflow id",
                    Identity = identity,
                };
                CloseRun(current, e, WorkflowExecutionStatus.Terminated);
                return null;
            }

            throw Errors.AlreadyStarted(workflowId, current.RunId, current.RequestId);
        }

        var rejected = reuse == WorkflowIdReusePolicy.RejectDuplicate ||
            (reuse == WorkflowIdReusePolicy.AllowDuplicateFailedOnly && current.Status == WorkflowExecutionStatus.Completed);
        return rejected ? throw Errors.AlreadyStarted(workflowId, current.RunId, current.RequestId) : null;
    }

    private static WorkflowExecutionStartedEventAttributes StartedAttributes(
        WorkflowType type,
        TaskQueue taskQueue,
        Payloads? input,
        Duration? executionTimeout,
        Duration? runTimeout,
        Duration? taskTimeout,
        string identity,
        Temporalio.Api.Common.V1.RetryPolicy? retryPolicy,
        string cronSchedule,
        Memo? memo,
        SearchAttributes? searchAttributes,
        Header? header) => new()
        {
            WorkflowType = type,
            TaskQueue = new TaskQueue { Name = taskQueue.Name, Kind = TaskQueueKind.Normal },
            Input = input,
            WorkflowExecutionTimeout = executionTimeout,
            WorkflowRunTimeout = runTimeout,
            WorkflowTaskTimeout = taskTimeout,
            Identity = identity,
            RetryPolicy = retryPolicy,
            CronSchedule = cronSchedule,
            Memo = memo,
            SearchAttributes = searchAttributes,
            Header = header,
            Attempt = 1,
        };

    private HistoryEvent NewSignal(string name, Payloads? input, string identity, Header? header, WorkflowExecution? external)
    {
        var e = NewEvent(EventType.WorkflowExecutionSignaled);
        e.WorkflowExecutionSignaledEventAttributes = new()
        {
            SignalName = name,
            Input = input,
            Identity = identity,
            Header = header,
            ExternalWorkflowExecution = external,
        };
        return e;
    }

    private WorkflowExecutionInfo ExecutionInfo(WorkflowRun run)
    {
        var info = new WorkflowExecutionInfo
        {
            Execution = run.Execution,
            Type = run.Type,
            StartTime = Timestamp.FromDateTimeOffset(run.StartTime),
            ExecutionTime = Timestamp.FromDateTimeOffset(run.ExecutionTime),
            Status = run.Status,
            HistoryLength = run.History.Count,
            HistorySizeBytes = run.HistorySizeBytes,
            Memo = run.Memo.Clone(),
            SearchAttributes = run.SearchAttributes.Clone(),
            TaskQueue = run.TaskQueue,
            RootExecution = run.RootExecution,
            FirstRunId = run.FirstRunId,
        };
        if (run.CloseTime is { } closed)
        {
            info.CloseTime = Timestamp.FromDateTimeOffset(closed);
        }

        if (run.Parent is { } parent)
        {
            info.ParentNamespaceId = parent.Namespace;
            info.ParentExecution = parent.Execution;
        }

        return info;
    }
}

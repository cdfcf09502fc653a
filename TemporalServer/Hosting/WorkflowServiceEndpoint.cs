using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Stateset.TemporalServer.Engine;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.Namespace.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Stateset.TemporalServer.Hosting;

/// <summary>
/// Temporal's WorkflowService. Each public method is bound by name to the RPC of the same name by
/// <see cref="GrpcServiceBinder{TService}"/>; RPCs with no method here answer Unimplemented.
/// </summary>
internal sealed partial class WorkflowServiceEndpoint(TemporalEngine engine)
{
    public Task<GetSystemInfoResponse> GetSystemInfo(GetSystemInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new GetSystemInfoResponse
        {
            ServerVersion = ServerVersion,
            Capabilities = new GetSystemInfoResponse.Types.Capabilities
            {
                SignalAndQueryHeader = true,
                InternalErrorDifferentiation = true,
                ActivityFailureIncludeHeartbeat = true,
                EncodedFailureAttributes = true,
                UpsertMemo = true,
                SdkMetadata = true,
            },
        });

    public Task<DescribeNamespaceResponse> DescribeNamespace(DescribeNamespaceRequest request, ServerCallContext context)
    {
        var name = string.IsNullOrEmpty(request.Namespace) ? request.Id : request.Namespace;
        if (!engine.NamespaceExists(name))
        {
            throw Errors.NamespaceNotFound(name);
        }

        return Task.FromResult(NamespaceDescription(name));
    }

    public Task<ListNamespacesResponse> ListNamespaces(ListNamespacesRequest request, ServerCallContext context)
    {
        var response = new ListNamespacesResponse();
        foreach (var name in engine.ListNamespaces())
        {
            var description = NamespaceDescription(name);
            response.Namespaces.Add(new DescribeNamespaceResponse
            {
                NamespaceInfo = description.NamespaceInfo,
                Config = description.Config,
            });
        }

        return Task.FromResult(response);
    }

    public Task<RegisterNamespaceResponse> RegisterNamespace(RegisterNamespaceRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Namespace))
        {
            throw Errors.InvalidArgument("Namespace is not set on request.");
        }

        return engine.RegisterNamespace(request.Namespace)
            ? Task.FromResult(new RegisterNamespaceResponse())
            : throw Errors.AlreadyExists("Namespace already exists.");
    }

    public Task<StartWorkflowExecutionResponse> StartWorkflowExecution(StartWorkflowExecutionRequest request, ServerCallContext context) =>
        Task.FromResult(engine.StartWorkflow(request));

    public Task<SignalWithStartWorkflowExecutionResponse> SignalWithStartWorkflowExecution(
        SignalWithStartWorkflowExecutionRequest request, ServerCallContext context) =>
        Task.FromResult(engine.SignalWithStart(request));

    public Task<SignalWorkflowExecutionResponse> SignalWorkflowExecution(SignalWorkflowExecutionRequest request, ServerCallContext context)
    {
        engine.Signal(request);
        return Task.FromResult(new SignalWorkflowExecutionResponse());
    }

    public Task<TerminateWorkflowExecutionResponse> TerminateWorkflowExecution(TerminateWorkflowExecutionRequest request, ServerCallContext context)
    {
        engine.Terminate(request);
        return Task.FromResult(new TerminateWorkflowExecutionResponse());
    }

    public Task<RequestCancelWorkflowExecutionResponse> RequestCancelWorkflowExecution(
        RequestCancelWorkflowExecutionRequest request, ServerCallContext context)
    {
        engine.RequestCancel(request);
        return Task.FromResult(new RequestCancelWorkflowExecutionResponse());
    }

    public Task<DescribeWorkflowExecutionResponse> DescribeWorkflowExecution(DescribeWorkflowExecutionRequest request, ServerCallContext context) =>
        Task.FromResult(engine.Describe(request));

    public Task<GetWorkflowExecutionHistoryResponse> GetWorkflowExecutionHistory(
        GetWorkflowExecutionHistoryRequest request, ServerCallContext context) =>
        engine.GetHistoryAsync(request, context.Deadline, context.CancellationToken);

    public Task<PollWorkflowTaskQueueResponse> PollWorkflowTaskQueue(PollWorkflowTaskQueueRequest request, ServerCallContext context) =>
        engine.PollWorkflowTaskAsync(request, context.Deadline, context.CancellationToken);

    public Task<RespondWorkflowTaskCompletedResponse> RespondWorkflowTaskCompleted(
        RespondWorkflowTaskCompletedRequest request, ServerCallContext context) =>
        Task.FromResult(engine.CompleteWorkflowTask(request));

    public Task<RespondWorkflowTaskFailedResponse> RespondWorkflowTaskFailed(RespondWorkflowTaskFailedRequest request, ServerCallContext context) =>
        Task.FromResult(engine.FailWorkflowTask(request));

    public Task<RespondQueryTaskCompletedResponse> RespondQueryTaskCompleted(RespondQueryTaskCompletedRequest request, ServerCallContext context) =>
        Task.FromResult(engine.CompleteQueryTask(request));

    public Task<PollActivityTaskQueueResponse> PollActivityTaskQueue(PollActivityTaskQueueRequest request, ServerCallContext context) =>
        engine.PollActivityTaskAsync(request, context.Deadline, context.CancellationToken);

    public Task<RecordActivityTaskHeartbeatResponse> RecordActivityTaskHeartbeat(
        RecordActivityTaskHeartbeatRequest request, ServerCallContext context) =>
        Task.FromResult(engine.Heartbeat(request.TaskToken, request.Details));

    public Task<RecordActivityTaskHeartbeatByIdResponse> RecordActivityTaskHeartbeatById(
        RecordActivityTaskHeartbeatByIdRequest request, ServerCallContext context) =>
        Task.FromResult(engine.HeartbeatById(request.Namespace, request.WorkflowId, request.RunId, request.ActivityId, request.Details));

    public Task<RespondActivityTaskCompletedResponse> RespondActivityTaskCompleted(
        RespondActivityTaskCompletedRequest request, ServerCallContext context)
    {
        engine.CompleteActivity(request.TaskToken, request.Result, request.Identity);
        return Task.FromResult(new RespondActivityTaskCompletedResponse());
    }

    public Task<RespondActivityTaskCompletedByIdResponse> RespondActivityTaskCompletedById(
        RespondActivityTaskCompletedByIdRequest request, ServerCallContext context)
    {
        engine.CompleteActivityById(request.Namespace, request.WorkflowId, request.RunId, request.ActivityId, request.Result, request.Identity);
        return Task.FromResult(new RespondActivityTaskCompletedByIdResponse());
    }

    public Task<RespondActivityTaskFailedResponse> RespondActivityTaskFailed(RespondActivityTaskFailedRequest request, ServerCallContext context)
    {
        engine.FailActivity(request.TaskToken, request.Failure, request.LastHeartbeatDetails, request.Identity);
        return Task.FromResult(new RespondActivityTaskFailedResponse());
    }

    public Task<RespondActivityTaskFailedByIdResponse> RespondActivityTaskFailedById(
        RespondActivityTaskFailedByIdRequest request, ServerCallContext context)
    {
        engine.FailActivityById(
            request.Namespace, request.WorkflowId, request.RunId, request.ActivityId, request.Failure, request.LastHeartbeatDetails, request.Identity);
        return Task.FromResult(new RespondActivityTaskFailedByIdResponse());
    }

    public Task<RespondActivityTaskCanceledResponse> RespondActivityTaskCanceled(
        RespondActivityTaskCanceledRequest request, ServerCallContext context)
    {
        engine.CancelActivity(request.TaskToken, request.Details, request.Identity);
        return Task.FromResult(new RespondActivityTaskCanceledResponse());
    }

    public Task<RespondActivityTaskCanceledByIdResponse> RespondActivityTaskCanceledById(
        RespondActivityTaskCanceledByIdRequest request, ServerCallContext context)
    {
        engine.CancelActivityById(request.Namespace, request.WorkflowId, request.RunId, request.ActivityId, request.Details, request.Identity);
        return Task.FromResult(new RespondActivityTaskCanceledByIdResponse());
    }

    public Task<QueryWorkflowResponse> QueryWorkflow(QueryWorkflowRequest request, ServerCallContext context) =>
        engine.QueryAsync(request, context.Deadline, context.CancellationToken);

    public Task<UpdateWorkflowExecutionResponse> UpdateWorkflowExecution(UpdateWorkflowExecutionRequest request, ServerCallContext context) =>
        engine.UpdateAsync(request, context.Deadline, context.CancellationToken);

    public Task<ExecuteMultiOperationResponse> ExecuteMultiOperation(ExecuteMultiOperationRequest request, ServerCallContext context) =>
        engine.ExecuteMultiOperationAsync(request, context.Deadline, context.CancellationToken);

    public Task<PollWorkflowExecutionUpdateResponse> PollWorkflowExecutionUpdate(
        PollWorkflowExecutionUpdateRequest request, ServerCallContext context) =>
        engine.PollUpdateAsync(request, context.Deadline, context.CancellationToken);

    public Task<ListWorkflowExecutionsResponse> ListWorkflowExecutions(ListWorkflowExecutionsRequest request, ServerCallContext context) =>
        Task.FromResult(engine.List(request.Namespace, request.Query, request.PageSize, request.NextPageToken));

    public Task<ScanWorkflowExecutionsResponse> ScanWorkflowExecutions(ScanWorkflowExecutionsRequest request, ServerCallContext context)
    {
        var list = engine.List(request.Namespace, request.Query, request.PageSize, request.NextPageToken);
        var response = new ScanWorkflowExecutionsResponse { NextPageToken = list.NextPageToken };
        response.Executions.AddRange(list.Executions);
        return Task.FromResult(response);
    }

    public Task<CountWorkflowExecutionsResponse> CountWorkflowExecutions(CountWorkflowExecutionsRequest request, ServerCallContext context) =>
        Task.FromResult(engine.Count(request.Namespace, request.Query));

    public Task<GetSearchAttributesResponse> GetSearchAttributes(GetSearchAttributesRequest request, ServerCallContext context) =>
        Task.FromResult(new GetSearchAttributesResponse());

    public Task<ResetStickyTaskQueueResponse> ResetStickyTaskQueue(ResetStickyTaskQueueRequest request, ServerCallContext context)
    {
        engine.ResetStickyTaskQueue(request.Namespace, request.Execution);
        return Task.FromResult(new ResetStickyTaskQueueResponse());
    }

    public Task<ShutdownWorkerResponse> ShutdownWorker(ShutdownWorkerRequest request, ServerCallContext context)
    {
        engine.ShutdownWorker(request.Namespace, request.StickyTaskQueue);
        return Task.FromResult(new ShutdownWorkerResponse());
    }

    private static DescribeNamespaceResponse NamespaceDescription(string name) => new()
    {
        NamespaceInfo = new NamespaceInfo
        {
            Name = name,
            Id = name,
            State = NamespaceState.Registered,
            Description = "Embedded in-memory namespace",
            Capabilities = new NamespaceInfo.Types.Capabilities { SyncUpdate = true, AsyncUpdate = true },
        },
        Config = new NamespaceConfig { WorkflowExecutionRetentionTtl = Duration.FromTimeSpan(TimeSpan.FromDays(1)) },
    };
}

using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Temporalio.Api.Common.V1;
using Temporalio.Api.ErrorDetails.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>gRPC errors shaped the way a real Temporal server shapes them, so the SDK maps them to the same exceptions.</summary>
internal static class Errors
{
    public static RpcException InvalidArgument(string message) => Create(StatusCode.InvalidArgument, message, null);

    public static RpcException NotFound(string message) => Create(StatusCode.NotFound, message, new NotFoundFailure());

    public static RpcException NamespaceNotFound(string ns) =>
        Create(StatusCode.NotFound, $"Namespace {ns} is not found.", new NamespaceNotFoundFailure { Namespace = ns });

    public static RpcException WorkflowNotFound(string workflowId, string? runId) =>
        NotFound($"workflow execution not found for workflow ID \"{workflowId}\" and run ID \"{runId}\"");

    public static RpcException AlreadyCompleted() => NotFound("workflow execution already completed");

    public static RpcException FailedPrecondition(string message) =>
        Create(StatusCode.FailedPrecondition, message, null);

    public static RpcException AlreadyStarted(string workflowId, string runId, string requestId) => Create(
        StatusCode.AlreadyExists,
        $"Workflow execution is already running. WorkflowId: {workflowId}, RunId: {runId}.",
        new WorkflowExecutionAlreadyStartedFailure { RunId = runId, StartRequestId = requestId });

    public static RpcException AlreadyExists(string message) => Create(StatusCode.AlreadyExists, message, null);

    public static RpcException QueryFailed(string message) => Create(StatusCode.InvalidArgument, message, new QueryFailedFailure());

    public static RpcException DeadlineExceeded(string message) => Create(StatusCode.DeadlineExceeded, message, null);

    public static RpcException Unimplemented(string message) => Create(StatusCode.Unimplemented, message, null);

    private static RpcException Create(StatusCode code, string message, IMessage? detail)
    {
        var trailers = new Metadata();
        if (detail is not null)
        {
            var status = new GrpcStatus { Code = (int)code, Message = message };
            status.Details.Add(Any.Pack(detail));
            trailers.Add("grpc-status-details-bin", status.ToByteArray());
        }

        return new RpcException(new Status(code, message), trailers, message);
    }
}

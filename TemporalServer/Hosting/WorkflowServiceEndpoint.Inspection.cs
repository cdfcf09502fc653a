using Grpc.Core;
using Temporalio.Api.Version.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Stateset.TemporalServer.Hosting;

/// <summary>The RPCs tools that inspect runs call (the Temporal UI, the CLI): cluster facts, task queues, history newest first.</summary>
internal sealed partial class WorkflowServiceEndpoint
{
    /// <summary>The version the server reports; the UI turns on its advanced search for versions above 1.19.</summary>
    public const string ServerVersion = "1.26.2-stateset-embedded";

    public Task<GetClusterInfoResponse> GetClusterInfo(GetClusterInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new GetClusterInfoResponse
        {
            ServerVersion = ServerVersion,
            ClusterId = "stateset-embedded",
            ClusterName = "embedded",
            HistoryShardCount = 1,
            PersistenceStore = "embedded",
            VisibilityStore = "embedded",
            VersionInfo = new Temporalio.Api.Version.V1.VersionInfo { Current = new ReleaseInfo { Version = ServerVersion } },
            SupportedClients =
            {
                ["temporal-cli"] = ">=0.1.0",
                ["temporal-ui"] = ">=2.0.0",
                ["temporal-server"] = ">=1.0.0",
            },
        });

    public Task<DescribeTaskQueueResponse> DescribeTaskQueue(DescribeTaskQueueRequest request, ServerCallContext context) =>
        Task.FromResult(engine.DescribeTaskQueue(request));

    public Task<GetWorkflowExecutionHistoryReverseResponse> GetWorkflowExecutionHistoryReverse(
        GetWorkflowExecutionHistoryReverseRequest request, ServerCallContext context) =>
        Task.FromResult(engine.GetHistoryReverse(request));
}

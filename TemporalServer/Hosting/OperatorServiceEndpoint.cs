using Grpc.Core;
using Temporalio.Api.OperatorService.V1;

namespace Stateset.TemporalServer.Hosting;

/// <summary>
/// The slice of Temporal's OperatorService that tests call. Search attributes need no registration on the embedded
/// server (any name is accepted and typed by its payload), so adding them is a no-op that succeeds.
/// </summary>
internal sealed class OperatorServiceEndpoint
{
    public Task<AddSearchAttributesResponse> AddSearchAttributes(AddSearchAttributesRequest request, ServerCallContext context) =>
        Task.FromResult(new AddSearchAttributesResponse());

    public Task<ListSearchAttributesResponse> ListSearchAttributes(ListSearchAttributesRequest request, ServerCallContext context) =>
        Task.FromResult(new ListSearchAttributesResponse());
}

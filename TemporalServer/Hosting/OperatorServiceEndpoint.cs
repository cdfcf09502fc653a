using Grpc.Core;
using Stateset.TemporalServer.Engine;
using Temporalio.Api.OperatorService.V1;

namespace Stateset.TemporalServer.Hosting;

/// <summary>
/// The slice of Temporal's OperatorService that tests and the Temporal UI call. Runs need no registration on the
/// embedded server (any name is accepted and typed by its payload); registering one makes it known to tools before a
/// run sets it.
/// </summary>
internal sealed class OperatorServiceEndpoint(TemporalEngine engine)
{
    public Task<AddSearchAttributesResponse> AddSearchAttributes(AddSearchAttributesRequest request, ServerCallContext context)
    {
        engine.RegisterSearchAttributes(string.IsNullOrEmpty(request.Namespace) ? "default" : request.Namespace, request.SearchAttributes);
        return Task.FromResult(new AddSearchAttributesResponse());
    }

    public Task<ListSearchAttributesResponse> ListSearchAttributes(ListSearchAttributesRequest request, ServerCallContext context) =>
        Task.FromResult(engine.ListSearchAttributes(string.IsNullOrEmpty(request.Namespace) ? "default" : request.Namespace));
}

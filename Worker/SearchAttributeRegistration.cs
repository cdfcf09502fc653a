using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Stateset.ServiceDefaults;
using Stateset.Workflows.Common;
using Temporalio.Api.OperatorService.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Stateset.Worker;

/// <summary>
/// Registers the custom search attributes our workflows upsert before the worker polls: a real Temporal
/// namespace rejects an upsert of an unregistered attribute, which would fail every workflow task.
/// Registering an attribute that exists is harmless.
/// </summary>
internal sealed class SearchAttributeRegistration(ITemporalClient client, TemporalSettings settings, ILogger<SearchAttributeRegistration> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var request = new AddSearchAttributesRequest { Namespace = settings.Namespace };
        foreach (var key in StatesetSearchAttributes.All)
        {
            request.SearchAttributes[key.Name] = key.ValueType;
        }

        try
        {
            await client.OperatorService.AddSearchAttributesAsync(request, new() { CancellationToken = cancellationToken });
        }
        catch (RpcException e) when (e.Code is RpcException.StatusCode.AlreadyExists)
        {
            logger.LogDebug("Search attributes already registered");
        }
        catch (RpcException e) when (e.Code is RpcException.StatusCode.PermissionDenied or RpcException.StatusCode.Unimplemented)
        {
            // Temporal Cloud manages search attributes through its own API: they must be created there once.
            logger.LogWarning("Could not register search attributes ({Reason}); create {Names} on the namespace", e.Message, string.Join(", ", StatesetSearchAttributes.All.Select(k => k.Name)));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

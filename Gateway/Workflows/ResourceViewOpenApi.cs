using Microsoft.OpenApi;

namespace Stateset.Gateway.Workflows;

/// <summary>Documents what a resource GET's <see cref="ResourceView.Status"/> holds.</summary>
internal static class ResourceViewOpenApi
{
    /// <summary>
    /// Documents the GET's <c>status</c> as what it is: the workflow's status query answer (<typeparamref name="TStatus"/>)
    /// while the run is live, its <see cref="RunItem"/> read-model row once it has closed. The property is an
    /// <c>object</c>, which on its own documents as "anything".
    /// </summary>
    /// <typeparam name="TStatus">The type of the workflow's status query answer.</typeparam>
    public static RouteHandlerBuilder DocumentsStatusAs<TStatus>(this RouteHandlerBuilder endpoint) =>
        endpoint.AddOpenApiOperationTransformer(async (operation, context, ct) =>
        {
            if (operation.Responses is null || !operation.Responses.TryGetValue("200", out var response)
                || response.Content is null || !response.Content.TryGetValue("application/json", out var ok))
            {
                return;
            }

            var view = await context.GetOrCreateSchemaAsync(typeof(ResourceView), null, ct);
            view.Properties!["status"] = new OpenApiSchema
            {
                Description = "While live is true, the workflow's status query answer; once it is false, the run's read-model row.",
                AnyOf =
                [
                    await context.GetOrCreateSchemaAsync(typeof(TStatus), null, ct),
                    await context.GetOrCreateSchemaAsync(typeof(RunItem), null, ct),
                ],
            };
            ok.Schema = view;
        });
}

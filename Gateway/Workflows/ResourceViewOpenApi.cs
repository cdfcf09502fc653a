using Microsoft.OpenApi;

namespace Stateset.Gateway.Workflows;

/// <summary>Documents what a resource GET's <see cref="ResourceView.Status"/> holds.</summary>
internal static class ResourceViewOpenApi
{
    /// <summary>
    /// Documents the GET's <c>status</c> as what it is: the status view the workflow stored (<typeparamref name="TStatus"/>,
    /// its status query's answer) together with its <see cref="RunItem"/> read-model row's facts. The property is an
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
                Description = "The run's status view as its workflow last stored it, live or closed, with its read-model row's facts (a row from before views were stored has the facts only).",
                AnyOf =
                [
                    await context.GetOrCreateSchemaAsync(typeof(TStatus), null, ct),
                    await context.GetOrCreateSchemaAsync(typeof(RunItem), null, ct),
                ],
            };
            ok.Schema = view;
        });
}

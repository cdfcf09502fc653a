using Microsoft.AspNetCore.Http.HttpResults;

namespace Stateset.Gateway.Apis;

/// <summary>
/// The operator console: one plain HTML/JS page, embedded in the gateway so there is no build step, CDN or
/// static-file folder to deploy. The page holds no data; it calls the API with the key the operator types in.
/// </summary>
public static class ConsoleApi
{
    private static readonly Lazy<string> Page = new(() =>
    {
        using var stream = typeof(ConsoleApi).Assembly.GetManifestResourceStream("Stateset.Gateway.Console.console.html")
            ?? throw new InvalidOperationException("The console page is not embedded in the gateway assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>Maps <c>/console</c>.</summary>
    public static RouteHandlerBuilder MapConsoleApi(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/console", Get)
            .AllowAnonymous()
            .ExcludeFromDescription()
            .WithName("OperatorConsole");

    private static ContentHttpResult Get(HttpResponse response)
    {
        // Only this page's own inline script and style, and only this origin's API, may run.
        response.Headers.ContentSecurityPolicy =
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.CacheControl = "no-cache";
        return TypedResults.Text(Page.Value, "text/html; charset=utf-8");
    }
}

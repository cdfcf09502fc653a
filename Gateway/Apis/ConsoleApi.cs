using System.Collections.Frozen;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Stateset.Gateway.Apis;

/// <summary>
/// The operator console: a plain HTML page with its stylesheet and script, embedded in the gateway so there is no
/// build step, CDN or static-file folder to deploy. The page holds no data; it calls the API with the key the
/// operator types in.
/// </summary>
public static class ConsoleApi
{
    /// <summary>Only the console's own files and this origin's API; label PDFs are previewed from blob: URLs.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-src blob:; object-src blob:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    // The files by the name they are served under (/console/{name}); the page itself is /console.
    private static readonly FrozenDictionary<string, (string ContentType, Lazy<string> Text)> Files = new Dictionary<string, (string, Lazy<string>)>
    {
        ["console.html"] = ("text/html; charset=utf-8", Embedded("console.html")),
        ["console.css"] = ("text/css; charset=utf-8", Embedded("console.css")),
        ["console.js"] = ("text/javascript; charset=utf-8", Embedded("console.js")),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Maps <c>/console</c> and its files under <c>/console/</c>.</summary>
    public static IEndpointRouteBuilder MapConsoleApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/console", (HttpResponse response) => Serve("console.html", response))
            .AllowAnonymous()
            .ExcludeFromDescription()
            .WithName("OperatorConsole");
        routes.MapGet("/console/{file}", Get)
            .AllowAnonymous()
            .ExcludeFromDescription()
            .WithName("OperatorConsoleFile");
        return routes;
    }

    private static Results<ContentHttpResult, NotFound> Get(string file, HttpResponse response) =>
        Files.ContainsKey(file) ? Serve(file, response) : TypedResults.NotFound();

    private static ContentHttpResult Serve(string file, HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";

        // The files change only with the gateway; no-cache makes a browser check, so an upgrade is seen at once.
        response.Headers.CacheControl = "no-cache";
        var (contentType, text) = Files[file];
        return TypedResults.Text(text.Value, contentType);
    }

    private static Lazy<string> Embedded(string name) => new(() =>
    {
        using var stream = typeof(ConsoleApi).Assembly.GetManifestResourceStream($"Stateset.Gateway.Console.{name}")
            ?? throw new InvalidOperationException($"The console's {name} is not embedded in the gateway assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });
}

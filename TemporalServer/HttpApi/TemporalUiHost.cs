using Grpc.Core;
using Microsoft.Extensions.FileProviders;

namespace Stateset.TemporalServer.HttpApi;

/// <summary>
/// The UI port: the built Temporal Web UI (a single-page app, so every page path answers index.html) and the
/// <c>/api/v1</c> HTTP API it calls. Browsers speak HTTP/1.1 there while gRPC keeps its own h2c port, so the two are
/// told apart by protocol.
/// </summary>
internal static class TemporalUiHost
{
    /// <summary>The one line said when the UI was not built, naming what to install.</summary>
    public const string UnavailableMessage =
        "Temporal UI unavailable: it was not built because Node.js (20 or later) and npm were missing; install them (Debian: apt-get install nodejs npm) and rebuild. The /api/v1 HTTP API is served regardless.";

    /// <summary>Where the build copies the UI, next to the server's assembly.</summary>
    public static readonly string AssetsDirectory = Path.Combine(AppContext.BaseDirectory, "temporal-ui");

    public static bool AssetsBuilt => File.Exists(Path.Combine(AssetsDirectory, "index.html"));

    public static void Map(WebApplication app, HttpApiRouter router, string defaultNamespace)
    {
        app.MapWhen(http => !HttpProtocol.IsHttp2(http.Request.Protocol), ui =>
        {
            ui.Use(async (http, next) =>
            {
                var path = http.Request.Path.Value ?? "/";
                if (!path.StartsWith("/api/", StringComparison.Ordinal))
                {
                    await next(http);
                    return;
                }

                if (path == "/api/v1/settings" && HttpMethods.IsGet(http.Request.Method))
                {
                    http.Response.ContentType = "application/json";
                    await http.Response.WriteAsync(UiSettings.Render(defaultNamespace), http.RequestAborted);
                    return;
                }

                if (!await router.TryHandleAsync(http))
                {
                    await HttpApiErrors.WriteAsync(http, StatusCode.NotFound, "Not Found");
                }
            });

            if (AssetsBuilt)
            {
                var files = new PhysicalFileProvider(AssetsDirectory);
                ui.UseStaticFiles(new StaticFileOptions
                {
                    FileProvider = files,
                    OnPrepareResponse = file =>
                    {
                        // Hashed bundles never change; index.html must be fetched fresh after a rebuild.
                        file.Context.Response.Headers.CacheControl = file.Context.Request.Path.StartsWithSegments("/_app/immutable", StringComparison.Ordinal)
                            ? "public, max-age=31536000, immutable"
                            : "no-cache";
                    },
                });
                ui.Run(async http =>
                {
                    http.Response.ContentType = "text/html; charset=utf-8";
                    http.Response.Headers.CacheControl = "no-cache";
                    await http.Response.SendFileAsync(files.GetFileInfo("index.html"), http.RequestAborted);
                });
            }
            else
            {
                ui.Run(async http =>
                {
                    http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    http.Response.ContentType = "text/plain; charset=utf-8";
                    await http.Response.WriteAsync(UnavailableMessage + "\n", http.RequestAborted);
                });
            }
        });
    }
}

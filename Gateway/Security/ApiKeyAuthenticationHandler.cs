using System.Runtime.ExceptionServices;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Stateset.Gateway.Validation;

namespace Stateset.Gateway.Security;

/// <summary>
/// Authenticates a request by the API key in <c>Authorization: Bearer …</c> or <c>X-Api-Key</c> (on the
/// <c>/events</c> streams also <c>?api_key=</c>, see <see cref="EventStreamQueryParameter"/>). Answers
/// are cached briefly per key so a busy client costs one database read per half minute, not per request.
/// A key revoked through this gateway stops working here at once; other gateway instances stop accepting it
/// within that half minute.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore store,
    IMemoryCache cache)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>
    /// The query parameter that carries the key on <c>/events/*</c> only: browsers' EventSource cannot send headers.
    /// Elsewhere a key in a URL would only end up in histories and proxy logs, so it is ignored there. The gateway
    /// never logs it (request URLs are not logged; keep it so when enabling request logging).
    /// </summary>
    public const string EventStreamQueryParameter = "api_key";

    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Presented(Request);
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        // The principal is built once per key and cached with it: every request of a busy client reads the same,
        // never modified, identity. An unknown key is cached too (as null), so guessing costs no read per attempt;
        // a lookup that throws (PostgreSQL out of reach) caches nothing.
        var principal = await cache.GetOrCreateAsync(("api-key", presented), async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = CacheFor;
            entry.Size = 1;
            entry.AddExpirationToken(store.NextRevocation());
            return await store.FindAsync(presented, Context.RequestAborted) is { } key ? PrincipalOf(key) : null;
        });
        return principal is null
            ? AuthenticateResult.Fail("The API key is unknown or revoked.")
            : AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    /// <inheritdoc />
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        // The base handler turns a failed key lookup into "not authenticated"; when the lookup failed because
        // PostgreSQL is out of reach, the key may be fine, so the failure goes to the gateway's exception handler (503).
        var outcome = await HandleAuthenticateOnceSafeAsync();
        if (DatabaseUnavailableExceptionHandler.IsUnavailable(outcome.Failure))
        {
            ExceptionDispatchInfo.Throw(outcome.Failure!);
        }

        await WriteProblemAsync(
            StatusCodes.Status401Unauthorized,
            "Authentication required",
            "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.");
    }

    /// <inheritdoc />
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, "Scope missing", "This API key lacks the scope this endpoint requires.");

    private static ClaimsPrincipal PrincipalOf(ApiKeyInfo key)
    {
        var scopes = key.Scopes.Contains(ApiScopes.Admin) ? ApiScopes.All : key.Scopes;
        var claims = new List<Claim> { new(ClaimTypes.Name, key.Name), new(ClaimTypes.NameIdentifier, key.Prefix) };
        claims.AddRange(scopes.Select(scope => new Claim(ApiScopes.ClaimType, scope)));
        if (key.StationId is { } stationId)
        {
            claims.Add(new Claim(ApiScopes.StationClaimType, stationId));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
    }

    private static string? Presented(HttpRequest request)
    {
        if (request.Headers.TryGetValue("X-Api-Key", out var header) && header.Count == 1 && !string.IsNullOrWhiteSpace(header[0]))
        {
            return header[0]!.Trim();
        }

        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        return request.Path.StartsWithSegments("/events", StringComparison.OrdinalIgnoreCase)
            && request.Query.TryGetValue(EventStreamQueryParameter, out var query) && query.Count == 1 && !string.IsNullOrWhiteSpace(query[0])
            ? query[0]!.Trim()
            : null;
    }

    // Written as an endpoint's problem result is: a request that accepts no JSON (a browser's EventSource accepts
    // text/event-stream only) still gets its 401 or 403, where IProblemDetailsService.WriteAsync would throw.
    private Task WriteProblemAsync(int status, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title).ExecuteAsync(Context);
}

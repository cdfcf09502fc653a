using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Stateset.Gateway.Security;

namespace Stateset.Gateway.Apis;

/// <summary>Create a key: a name for people and the scopes it grants.</summary>
public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string>? Scopes);

/// <summary>A new key; <see cref="Key"/> is shown only in this response.</summary>
public sealed record CreatedApiKey(string Key, ApiKeyInfo Info);

/// <summary>API key management (admin scope).</summary>
public static class ApiKeysApi
{
    /// <summary>Maps <c>/api-keys</c>.</summary>
    public static RouteGroupBuilder MapApiKeysApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api-keys").WithTags("API keys").RequireAuthorization(ApiScopes.Admin);
        group.MapPost("/", CreateAsync).WithName("CreateApiKey").WithSummary("Creates an API key; the response is the only time the key is shown.");
        group.MapGet("/", ListAsync).WithName("ListApiKeys").WithSummary("Lists API keys (never their secrets).");
        group.MapDelete("/{prefix}", RevokeAsync).WithName("RevokeApiKey").WithSummary("Revokes an API key.");
        return group;
    }

    private static async Task<Results<Created<CreatedApiKey>, ValidationProblem>> CreateAsync(
        CreateApiKeyRequest request, ApiKeyStore store, ClaimsPrincipal user, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 100)
        {
            errors["name"] = ["A name of 1 to 100 characters is required."];
        }

        var unknown = request.Scopes?.Except(ApiScopes.All).ToList() ?? [];
        if (request.Scopes is not { Count: > 0 } || unknown.Count > 0)
        {
            errors["scopes"] = [$"One or more of {string.Join(", ", ApiScopes.All)} is required" + (unknown.Count > 0 ? $"; unknown: {string.Join(", ", unknown)}." : ".")];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var (key, info) = await store.CreateAsync(request.Name!.Trim(), request.Scopes!.Distinct().ToList(), user.Identity?.Name, ct);
        return TypedResults.Created($"/api-keys/{info.Prefix}", new CreatedApiKey(key, info));
    }

    private static async Task<Ok<IReadOnlyList<ApiKeyInfo>>> ListAsync(ApiKeyStore store, CancellationToken ct) =>
        TypedResults.Ok(await store.ListAsync(ct));

    private static async Task<Results<NoContent, NotFound>> RevokeAsync(string prefix, ApiKeyStore store, CancellationToken ct) =>
        await store.RevokeAsync(prefix, ct) ? TypedResults.NoContent() : TypedResults.NotFound();
}

using System.Security.Claims;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Gateway.Security;
using Stateset.Gateway.Validation;

namespace Stateset.Gateway.Apis;

/// <summary>Create a key: a name for people and the scopes it grants.</summary>
/// <param name="StationId">The print station a <c>station</c> key belongs to: required with that scope, refused without it.</param>
public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string>? Scopes, string? StationId = null);

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
        CreateApiKeyRequest request, ApiKeyStore store, NpgsqlDataSource database, ClaimsPrincipal user, CancellationToken ct)
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

        // A station key does one station's printing and nothing else, so it carries no other scope and names its station.
        var station = request.Scopes?.Contains(ApiScopes.Station) == true;
        if (station && request.Scopes!.Any(scope => scope != ApiScopes.Station))
        {
            errors["scopes"] = ["The station scope is granted alone: a print station's key may do nothing else."];
        }

        if (station && request.StationId is null)
        {
            errors["stationId"] = ["A key with the station scope names its print station."];
        }
        else if (!station && request.StationId is not null)
        {
            errors["stationId"] = ["Only a key with the station scope names a print station."];
        }
        else if (request.StationId is not null && !new RequestValidator().Id("stationId", request.StationId).IsValid)
        {
            errors["stationId"] = ["must be 1-64 letters, digits, '-', '_', '.' or ':', starting with a letter or digit."];
        }
        else if (request.StationId is not null)
        {
            await using var connection = await database.OpenConnectionAsync(ct);
            if (!await connection.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM print_stations WHERE id = @StationId)", new { request.StationId }))
            {
                errors["stationId"] = [$"There is no print station '{request.StationId}'."];
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var (key, info) = await store.CreateAsync(request.Name!.Trim(), request.Scopes!.Distinct().ToList(), user.Identity?.Name, request.StationId, ct);
        return TypedResults.Created($"/api-keys/{info.Prefix}", new CreatedApiKey(key, info));
    }

    private static async Task<Ok<IReadOnlyList<ApiKeyInfo>>> ListAsync(ApiKeyStore store, CancellationToken ct) =>
        TypedResults.Ok(await store.ListAsync(ct));

    private static async Task<Results<NoContent, NotFound>> RevokeAsync(string prefix, ApiKeyStore store, CancellationToken ct) =>
        await store.RevokeAsync(prefix, ct) ? TypedResults.NoContent() : TypedResults.NotFound();
}

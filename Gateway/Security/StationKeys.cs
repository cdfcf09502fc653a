using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Stateset.Gateway.Security;

/// <summary>
/// What a station key may touch: its own station's jobs and their labels. Keys of people and of other machines
/// (operators, clients, callbacks, admin) name no station and are not limited by it.
/// </summary>
public static class StationKeys
{
    /// <summary>Gets the print station the caller's key belongs to, or null for a key that belongs to none.</summary>
    public static string? StationOf(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.FindFirstValue(ApiScopes.StationClaimType);
    }

    /// <summary>Gets a 403 when the caller's key belongs to another station than <paramref name="stationId"/>, else null.</summary>
    public static ProblemHttpResult? RefuseOtherStation(ClaimsPrincipal user, string? stationId) =>
        StationOf(user) is { } own && own != stationId
            ? TypedResults.Problem(
                $"This API key belongs to print station '{own}', not '{stationId}'.", statusCode: StatusCodes.Status403Forbidden, title: "Another station")
            : null;
}

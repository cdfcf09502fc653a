using System.Globalization;

namespace Stateset.Gateway.Apis;

/// <summary>One page of a list, with the total so a client can tell how many pages there are.</summary>
public sealed record PagedList<T>(IReadOnlyList<T> Items, int Page, int PageSize, long Total);

/// <summary>
/// Query-string parsing for the list endpoints. Parameters arrive as strings so a malformed value becomes a 400
/// that names the field, instead of the framework's bare binding failure.
/// </summary>
internal static class QueryParameters
{
    public const int DefaultPageSize = 25;
    public const int MaxPageSize = 100;

    /// <summary>Parses <c>page</c> (from 1) and <c>pageSize</c> (1 to <see cref="MaxPageSize"/>).</summary>
    public static (int Page, int PageSize) Paging(string? page, string? pageSize, Dictionary<string, string[]> errors)
    {
        var pageNumber = 1;
        if (page is not null && (!int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out pageNumber) || pageNumber < 1 || pageNumber > 100_000))
        {
            errors["page"] = ["page must be a whole number from 1 to 100000."];
        }

        var size = DefaultPageSize;
        if (pageSize is not null && (!int.TryParse(pageSize, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxPageSize))
        {
            errors["pageSize"] = [$"pageSize must be a whole number from 1 to {MaxPageSize}."];
        }

        return (pageNumber, size);
    }

    /// <summary>Accepts a value only from a fixed list (compared exactly, as the stored values are).</summary>
    public static string? OneOf(string? value, string name, IReadOnlyCollection<string> allowed, Dictionary<string, string[]> errors)
    {
        if (value is null || allowed.Contains(value))
        {
            return value;
        }

        errors[name] = [$"{name} must be one of {string.Join(", ", allowed)}."];
        return null;
    }

    /// <summary>Accepts free text of bounded length, such as an id.</summary>
    public static string? Text(string? value, string name, Dictionary<string, string[]> errors, int maxLength = 100)
    {
        if (value is null || (value.Length is > 0 && value.Length <= maxLength))
        {
            return value;
        }

        errors[name] = [$"{name} must be 1 to {maxLength} characters."];
        return null;
    }

    /// <summary>Parses an ISO-8601 instant; one without an offset is taken as UTC.</summary>
    public static DateTimeOffset? Instant(string? value, string name, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return instant;
        }

        errors[name] = [$"{name} must be an ISO-8601 date or time, e.g. 2026-11-22T14:00:00Z."];
        return null;
    }
}

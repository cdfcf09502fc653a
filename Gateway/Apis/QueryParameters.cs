using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Stateset.Gateway.Apis;

/// <summary>
/// The filters every list of runs takes, parsed: status, customer, a start-time window (from inclusive, to
/// exclusive). <see cref="Where"/> is the SQL they make, over <c>workflow_runs</c>, with its parameters named as
/// this record's properties.
/// </summary>
internal sealed record RunFilter(string? Status, string? CustomerId, DateTimeOffset? From, DateTimeOffset? To)
{
    /// <summary>The conditions of the filter, to follow a WHERE.</summary>
    public const string Where =
        """
        (@Status::text IS NULL OR status = @Status)
          AND (@CustomerId::text IS NULL OR customer_id = @CustomerId)
          AND (@From::timestamptz IS NULL OR started_at >= @From)
          AND (@To::timestamptz IS NULL OR started_at < @To)
        """;

    /// <summary>Parses the filters; a bad value adds an error naming its parameter.</summary>
    public static RunFilter Parse(string? status, string? customerId, string? from, string? to, Dictionary<string, string[]> errors)
    {
        var filter = new RunFilter(
            QueryParameters.Text(status, "status", errors, maxLength: 50),
            QueryParameters.Text(customerId, "customerId", errors),
            QueryParameters.Instant(from, "from", errors),
            QueryParameters.Instant(to, "to", errors));
        if (filter.From > filter.To)
        {
            errors["to"] = ["to must not be before from."];
        }

        return filter;
    }
}

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

    /// <summary>Parses <c>limit</c>, the size of a keyset page (1 to <see cref="MaxPageSize"/>).</summary>
    public static int Limit(string? limit, Dictionary<string, string[]> errors)
    {
        var size = DefaultPageSize;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxPageSize))
        {
            errors["limit"] = [$"limit must be a whole number from 1 to {MaxPageSize}."];
        }

        return size;
    }

    /// <summary>
    /// Parses a keyset cursor: the start time and workflow id of the last item of the previous page, as
    /// <see cref="Cursor(DateTime, string)"/> wrote it. A cursor is opaque to clients; one that does not decode is a 400.
    /// </summary>
    public static (DateTime StartedAt, string WorkflowId)? Cursor(string? cursor, Dictionary<string, string[]> errors)
    {
        if (cursor is null)
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            var separator = text.IndexOf('|', StringComparison.Ordinal);
            if (separator > 0 && separator < text.Length - 1 && cursor.Length <= 400
                && long.TryParse(text.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds)
                && microseconds <= (DateTime.MaxValue - DateTime.UnixEpoch).Ticks / 10)
            {
                return (DateTime.UnixEpoch.AddTicks(microseconds * 10), text[(separator + 1)..]);
            }
        }
        catch (FormatException)
        {
            // Not base64url: refused below like any other cursor that does not decode.
        }

        errors["cursor"] = ["cursor must be a nextCursor value from an earlier page of the same list."];
        return null;
    }

    /// <summary>Writes the cursor of the page after an item (PostgreSQL keeps microseconds, so that is the unit).</summary>
    public static string Cursor(DateTime startedAt, string workflowId) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
            $"{(startedAt.ToUniversalTime() - DateTime.UnixEpoch).Ticks / 10}|{workflowId}"));

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

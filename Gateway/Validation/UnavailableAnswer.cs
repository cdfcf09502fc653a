using System.Globalization;

namespace Stateset.Gateway.Validation;

/// <summary>
/// The one answer for a request that failed because something the gateway depends on (PostgreSQL, Temporal) is out of
/// reach: 503 problem+json with <c>Retry-After</c>, written as an endpoint's problem result so a request that accepts no
/// JSON (an EventSource) still gets its 503.
/// </summary>
public static class UnavailableAnswer
{
    /// <summary>How long a client is asked to wait before trying again.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>Gets the <c>Retry-After</c> header's value.</summary>
    public static string RetryAfterSeconds => ((int)RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    /// <summary>Writes the 503; <paramref name="detail"/> is followed by when to retry.</summary>
    public static Task WriteAsync(HttpContext httpContext, string title, string detail)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds;
        return TypedResults.Problem($"{detail} Retry in {RetryAfterSeconds} seconds.", statusCode: StatusCodes.Status503ServiceUnavailable, title: title)
            .ExecuteAsync(httpContext);
    }
}

using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;

namespace Stateset.Gateway.Validation;

/// <summary>
/// Turns a body or parameter the framework could not read (malformed JSON, a wrong type, an unknown field, a body
/// over the size limit) into problem+json that names what was wrong, instead of an empty 400 or a 500.
/// </summary>
public sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        httpContext.Response.StatusCode = bad.StatusCode;
        var details = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = bad.StatusCode, Title = "The request could not be read" };
        if (bad.InnerException is JsonException json)
        {
            var field = string.IsNullOrEmpty(json.Path) || json.Path == "$" ? "body" : json.Path.TrimStart('$', '.');
            details = new Microsoft.AspNetCore.Mvc.ValidationProblemDetails(new Dictionary<string, string[]>
            {
                [field] = [Explain(json)],
            })
            {
                Status = bad.StatusCode,
                Title = "The request body is not valid JSON for this endpoint",
            };
        }
        else
        {
            details.Detail = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is larger than this endpoint accepts." : bad.Message;
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = details, Exception = exception });
    }

    // The serializer's messages name .NET types; say it in the terms of the JSON the client sent.
    private static string Explain(JsonException json) => json.Message switch
    {
        var m when m.Contains("could not be mapped to any .NET member", StringComparison.Ordinal) => "is not a field of this request.",
        var m when m.Contains("could not be converted", StringComparison.Ordinal) => "has the wrong type.",
        _ => "is malformed JSON.",
    };
}

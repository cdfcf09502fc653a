using System.Text.Json;
using Microsoft.Net.Http.Headers;

namespace Stateset.Gateway.Validation;

/// <summary>
/// Refuses, before any endpoint runs, text no endpoint may store or act on: a body in a charset other than UTF-8
/// (415), and control characters or oversized strings in any header, the path, any query parameter, or any string
/// (or field name) of a JSON body (400 naming the field, e.g. <c>lines[0].sku</c> or <c>customerId</c>).
/// </summary>
/// <remarks>
/// One check for every endpoint, rather than one per field, because PostgreSQL refuses U+0000 in text and jsonb:
/// a NUL that reaches it is a 500 for a read and, for a start, a workflow whose every attempt fails. Callbacks are
/// guarded too, before their signature is checked, since their bodies are stored as received. Fields meant for
/// people's prose may hold tabs and line breaks; nothing else may hold a control character.
/// </remarks>
public sealed class RequestInputGuard(RequestDelegate next)
{
    /// <summary>The longest string any body field or query parameter may hold; fields' own limits are tighter.</summary>
    public const int MaxTextLength = 2000;

    // At most this many problems are listed: enough to fix a request, too few to make the answer a burden.
    private const int MaxProblems = 20;

    // Leaf names of free-text fields written by people (decision reasons, receipt notes, carrier descriptions,
    // provider messages), where a line break is content rather than an attack.
    private static readonly HashSet<string> MultiLineFields = new(StringComparer.Ordinal) { "reason", "note", "description", "message" };

    /// <summary>Checks the request and either answers it or passes it on with its body readable again.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        if (request.ContentType is { } contentType
            && MediaTypeHeaderValue.TryParse(contentType, out var media)
            && HeaderUtilities.RemoveQuotes(media.Charset) is { Length: > 0 } charset
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            await TypedResults.Problem(
                $"Request bodies are JSON in UTF-8; charset '{charset}' is not accepted.",
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported charset").ExecuteAsync(context);
            return;
        }

        var problems = new RequestValidator();
        foreach (var (name, values) in request.Headers)
        {
            foreach (var value in values)
            {
                // A tab is legal inside a header value (RFC 9110 field-vchar and whitespace); nothing below U+0020 else.
                if (value is not null && HasControl(value, allowed: "\t"))
                {
                    problems.Add(name, "must not contain control characters.");
                }
            }
        }

        if (HasControl(request.Path.Value ?? string.Empty, allowed: string.Empty))
        {
            problems.Add("path", "must not contain control characters.");
        }

        foreach (var (name, values) in request.Query)
        {
            var field = HasControl(name, allowed: string.Empty) ? "query" : name;
            foreach (var value in values)
            {
                CheckText(problems, field, value ?? string.Empty, allowed: string.Empty);
            }
        }

        if (problems.IsValid && HasBody(request))
        {
            // Buffered so the endpoint reads the same bytes again; Kestrel's body size limit still applies (413).
            request.EnableBuffering();
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, context.RequestAborted);
            request.Body.Position = 0;
            CheckJson(problems, buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        }

        if (!problems.IsValid)
        {
            await TypedResults.ValidationProblem(problems.Errors, title: "The request holds text this API does not accept").ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static void CheckJson(RequestValidator problems, ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            // Not JSON: the endpoint's own reader answers that, with its own 400.
            return;
        }

        using (document)
        {
            var count = 0;
            Walk(problems, document.RootElement, string.Empty, ref count);
        }
    }

    private static void Walk(RequestValidator problems, JsonElement element, string path, ref int count)
    {
        if (count >= MaxProblems)
        {
            return;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (HasControl(property.Name, allowed: string.Empty) || property.Name.Length > 100)
                    {
                        problems.Add(path.Length == 0 ? "body" : path, "has a field name that is too long or holds control characters.");
                        count++;
                        continue;
                    }

                    Walk(problems, property.Value, path.Length == 0 ? property.Name : $"{path}.{property.Name}", ref count);
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Walk(problems, item, $"{(path.Length == 0 ? "body" : path)}[{index++}]", ref count);
                }

                break;
            case JsonValueKind.String:
                var leaf = path[(path.LastIndexOf('.') + 1)..];
                if (!CheckText(problems, path.Length == 0 ? "body" : path, element.GetString()!, MultiLineFields.Contains(leaf) ? "\t\n\r" : string.Empty))
                {
                    count++;
                }

                break;
        }
    }

    private static bool CheckText(RequestValidator problems, string field, string value, string allowed)
    {
        if (HasControl(value, allowed))
        {
            problems.Add(field, allowed.Length > 0
                ? "must not contain control characters other than tabs and line breaks."
                : "must not contain control characters.");
            return false;
        }

        if (value.Length > MaxTextLength)
        {
            problems.Add(field, $"must be at most {MaxTextLength} characters.");
            return false;
        }

        return true;
    }

    // U+0000 to U+001F and DEL: never printable, and U+0000 is what PostgreSQL cannot store at all.
    private static bool HasControl(string value, string allowed)
    {
        foreach (var c in value)
        {
            if ((c < ' ' || c == '\u007f') && !allowed.Contains(c, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

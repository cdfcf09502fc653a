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

    // A declared length up to this is allocated at once; beyond it the buffer grows as the bytes arrive, so a
    // length that lies cannot make the gateway allocate what never comes.
    private const int MaxPresizedBody = 64 * 1024;

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
            && !IsPlainJson(contentType)
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
            // Read once into memory, which the endpoint then reads in place of the connection: one copy of the
            // bytes rather than a buffering stream's copy and this check's. Kestrel's body size limit still applies
            // to this read (413), and bounds the buffer.
            var buffer = new MemoryStream(request.ContentLength is > 0 and <= MaxPresizedBody ? (int)request.ContentLength.Value : 0);
            await request.Body.CopyToAsync(buffer, context.RequestAborted);
            buffer.Position = 0;
            request.Body = buffer;
            CheckJson(problems, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        }

        if (!problems.IsValid)
        {
            await TypedResults.ValidationProblem(problems.Errors, title: "The request holds text this API does not accept").ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    // What nearly every client sends, recognised without parsing the header (which allocates per request).
    private static bool IsPlainJson(string contentType) =>
        contentType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || contentType.Equals("application/json; charset=utf-8", StringComparison.OrdinalIgnoreCase);

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    /// <summary>
    /// Checks every string and field name of a JSON body in one pass of a reader over its bytes: no document is
    /// built and no value decoded unless it might be wrong. JSON cannot hold a raw control character below U+0020
    /// (the reader refuses it), so a string without escapes can only hold DEL, and one of at most
    /// <see cref="MaxTextLength"/> UTF-8 bytes cannot be longer than that in characters. A field's path is spelt
    /// out only for a problem. A body that is not JSON is left to the endpoint's reader, with its own 400.
    /// </summary>
    private static void CheckJson(RequestValidator problems, ReadOnlySpan<byte> body)
    {
        var found = new RequestValidator();
        var count = 0;
        var open = new List<Container>();
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            while (reader.Read())
            {
                var parent = open.Count == 0 ? null : open[^1];
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        var name = MightBeWrong(ref reader) || reader.ValueSpan.Length > 100 ? reader.GetString()! : null;
                        if (name is not null && (HasControl(name, allowed: string.Empty) || name.Length > 100))
                        {
                            if (count < MaxProblems)
                            {
                                var at = PathOf(parent!, body);
                                found.Add(at.Length == 0 ? "body" : at, "has a field name that is too long or holds control characters.");
                                count++;
                            }

                            reader.Skip();
                            continue;
                        }

                        // Where the name lies in the body (after its opening quote), decoded only if a path needs it.
                        parent!.Name = new FieldName((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length, name);
                        continue;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        open.Add(new Container(reader.TokenType == JsonTokenType.StartArray, parent, parent?.Name ?? default, parent?.Index ?? 0));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        open.RemoveAt(open.Count - 1);
                        continue;
                    case JsonTokenType.String when count < MaxProblems && MightBeWrong(ref reader):
                        var allowed = parent is { IsArray: false } && MultiLineFields.Contains(parent.Name.Spell(body)) ? "\t\n\r" : string.Empty;
                        var path = ValuePath(parent, body);
                        if (!CheckText(found, path.Length == 0 ? "body" : path, reader.GetString()!, allowed))
                        {
                            count++;
                        }

                        break;
                }

                if (parent is { IsArray: true })
                {
                    parent.Index++;
                }
            }
        }
        catch (JsonException)
        {
            return;
        }

        if (found.IsValid)
        {
            return;
        }

        foreach (var (field, messages) in found.Errors)
        {
            foreach (var message in messages)
            {
                problems.Add(field, message);
            }
        }
    }

    private static bool MightBeWrong(ref Utf8JsonReader reader) =>
        reader.ValueIsEscaped || reader.ValueSpan.Length > MaxTextLength || reader.ValueSpan.Contains((byte)0x7f);

    /// <summary>The path of the value the reader is at, inside <paramref name="parent"/>: <c>lines[0].sku</c>, <c>body[2]</c>.</summary>
    private static string ValuePath(Container? parent, ReadOnlySpan<byte> body) =>
        parent is null ? string.Empty : Compose(PathOf(parent, body), parent.IsArray, parent.Name, parent.Index, body);

    /// <summary>The path of a container itself, spelt from its parents.</summary>
    private static string PathOf(Container container, ReadOnlySpan<byte> body) =>
        container.Parent is null
            ? string.Empty
            : Compose(PathOf(container.Parent, body), container.Parent.IsArray, container.NameInParent, container.IndexInParent, body);

    private static string Compose(string path, bool inArray, FieldName name, int index, ReadOnlySpan<byte> body) =>
        inArray ? $"{(path.Length == 0 ? "body" : path)}[{index}]"
        : path.Length == 0 ? name.Spell(body)
        : $"{path}.{name.Spell(body)}";

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

    /// <summary>A field name as the body holds it: where its bytes are, or the name itself when it was decoded already.</summary>
    private readonly record struct FieldName(int Start, int Length, string? Text)
    {
        public string Spell(ReadOnlySpan<byte> body) => Text ?? System.Text.Encoding.UTF8.GetString(body.Slice(Start, Length));
    }

    /// <summary>
    /// An object or array the reader is inside: where it sits in its parent (the field or index the parent was at when
    /// it opened), and the field or index it is at itself.
    /// </summary>
    private sealed class Container(bool isArray, Container? parent, FieldName nameInParent, int indexInParent)
    {
        public bool IsArray { get; } = isArray;

        public Container? Parent { get; } = parent;

        public FieldName NameInParent { get; } = nameInParent;

        public int IndexInParent { get; } = indexInParent;

        public FieldName Name { get; set; }

        public int Index { get; set; }
    }
}

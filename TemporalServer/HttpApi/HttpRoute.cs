namespace Stateset.TemporalServer.HttpApi;

/// <summary>
/// One <c>google.api.http</c> binding: a verb and a path template such as
/// <c>/api/v1/namespaces/{namespace}/workflows/{execution.workflow_id}</c>. Variables match exactly one segment, which is
/// all the Temporal API's templates use.
/// </summary>
internal sealed class HttpRoute
{
    private readonly string?[] _literals;
    private readonly string?[] _variables;

    private HttpRoute(string verb, string template, string?[] literals, string?[] variables, string body)
    {
        Verb = verb;
        Template = template;
        _literals = literals;
        _variables = variables;
        Body = body;
        LiteralCount = literals.Count(l => l is not null);
    }

    public string Verb { get; }

    public string Template { get; }

    /// <summary>Gets the rule's body field: "*" for the whole request, a field path, or empty for none.</summary>
    public string Body { get; }

    /// <summary>Gets how many segments are fixed; when two templates match, the more specific one wins.</summary>
    public int LiteralCount { get; }

    public int SegmentCount => _literals.Length;

    public static HttpRoute Parse(string verb, string template, string body)
    {
        var segments = template.Trim('/').Split('/');
        var literals = new string?[segments.Length];
        var variables = new string?[segments.Length];
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.StartsWith('{') && segment.EndsWith('}'))
            {
                var name = segment[1..^1];
                if (name.Contains('=', StringComparison.Ordinal))
                {
                    throw new FormatException($"Path template '{template}' binds a variable to several segments, which this router does not support.");
                }

                variables[i] = name;
            }
            else
            {
                literals[i] = segment;
            }
        }

        return new HttpRoute(verb, template, literals, variables, body);
    }

    /// <summary>
    /// Matches the raw (still percent-encoded) path split at '/', so an encoded slash stays inside its segment; the
    /// variables come back decoded.
    /// </summary>
    public bool TryMatch(string[] rawSegments, out List<(string Field, string Value)> variables)
    {
        variables = [];
        if (rawSegments.Length != _literals.Length)
        {
            return false;
        }

        for (var i = 0; i < rawSegments.Length; i++)
        {
            if (_literals[i] is { } literal)
            {
                if (!string.Equals(literal, rawSegments[i], StringComparison.Ordinal))
                {
                    return false;
                }
            }
            else
            {
                variables.Add((_variables[i]!, Uri.UnescapeDataString(rawSegments[i])));
            }
        }

        return true;
    }
}

using System.Globalization;
using System.Text;

namespace Stateset.TemporalServer.Visibility;

/// <summary>
/// The subset of Temporal's SQL-like list filter the embedded server understands: comparisons (=, !=, &lt;&gt;, &gt;, &gt;=,
/// &lt;, &lt;=), BETWEEN … AND …, IN (…), STARTS_WITH, IS [NOT] NULL, AND/OR/NOT with parentheses, ORDER BY one field,
/// and GROUP BY ExecutionStatus for counts (the one grouping Temporal supports).
/// </summary>
internal sealed class VisibilityQuery
{
    private readonly Func<Func<string, object?>, bool> _predicate;

    private VisibilityQuery(Func<Func<string, object?>, bool> predicate, string? orderBy, bool descending, string? groupBy)
    {
        _predicate = predicate;
        OrderBy = orderBy;
        Descending = descending;
        GroupBy = groupBy;
    }

    /// <summary>Gets the field counts are grouped by, if any.</summary>
    public string? GroupBy { get; }

    public string? OrderBy { get; }

    public bool Descending { get; }

    /// <summary>Parses a filter; throws <see cref="FormatException"/> with a reason when it is not understood.</summary>
    public static VisibilityQuery Parse(string? text)
    {
        var parser = new Parser(Tokenize(text ?? string.Empty));
        return parser.ParseQuery();
    }

    public bool Matches(Func<string, object?> fieldValue) => _predicate(fieldValue);

    /// <summary>Compares two field values of one type; nulls sort first.</summary>
    public static int CompareValues(object? a, object? b)
    {
        if (a is null || b is null)
        {
            return a is null ? (b is null ? 0 : -1) : 1;
        }

        return (a, b) switch
        {
            (double x, double y) => x.CompareTo(y),
            (DateTimeOffset x, DateTimeOffset y) => x.CompareTo(y),
            (bool x, bool y) => x.CompareTo(y),
            _ => string.CompareOrdinal(Convert.ToString(a, CultureInfo.InvariantCulture), Convert.ToString(b, CultureInfo.InvariantCulture)),
        };
    }

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '\'' or '"')
            {
                var value = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw new FormatException("Unterminated string literal.");
                    }

                    if (text[i] == c)
                    {
                        if (i + 1 < text.Length && text[i + 1] == c)
                        {
                            value.Append(c);
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    value.Append(text[i++]);
                }

                tokens.Add(new Token(TokenKind.String, value.ToString()));
            }
            else if (c == '`')
            {
                var end = text.IndexOf('`', i + 1);
                if (end < 0)
                {
                    throw new FormatException("Unterminated quoted identifier.");
                }

                tokens.Add(new Token(TokenKind.Identifier, text[(i + 1)..end]));
                i = end + 1;
            }
            else if (c is '(' or ')' or ',')
            {
                tokens.Add(new Token(TokenKind.Symbol, c.ToString()));
                i++;
            }
            else if (c is '=' or '!' or '<' or '>')
            {
                var op = i + 1 < text.Length && (text[i + 1] == '=' || (c == '<' && text[i + 1] == '>')) ? text.Substring(i, 2) : c.ToString();
                if (op == "!")
                {
                    throw new FormatException("Unknown operator '!'.");
                }

                tokens.Add(new Token(TokenKind.Symbol, op));
                i += op.Length;
            }
            else if (char.IsDigit(c) || (c is '-' or '+' or '.' && i + 1 < text.Length && char.IsDigit(text[i + 1])))
            {
                var start = i++;
                while (i < text.Length && (char.IsDigit(text[i]) || text[i] is '.' or 'e' or 'E' || (text[i] is '-' or '+' && text[i - 1] is 'e' or 'E')))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Number, text[start..i]));
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '.'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, text[start..i]));
            }
            else
            {
                throw new FormatException($"Unexpected character '{c}' at position {i}.");
            }
        }

        return tokens;
    }

    private enum TokenKind
    {
        Identifier,
        String,
        Number,
        Symbol,
    }

    private sealed record Token(TokenKind Kind, string Text)
    {
        public bool IsKeyword(string keyword) => Kind == TokenKind.Identifier && Text.Equals(keyword, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class Parser(List<Token> tokens)
    {
        private int _position;

        private Token? Current => _position < tokens.Count ? tokens[_position] : null;

        public VisibilityQuery ParseQuery()
        {
            Func<Func<string, object?>, bool> predicate = _ => true;
            if (Current is not null && !Current.IsKeyword("ORDER") && !Current.IsKeyword("GROUP"))
            {
                predicate = ParseOr();
            }

            string? orderBy = null;
            var descending = false;
            if (Current?.IsKeyword("ORDER") == true)
            {
                _position++;
                Expect("BY");
                orderBy = ExpectIdentifier();
                if (Current?.IsKeyword("DESC") == true)
                {
                    descending = true;
                    _position++;
                }
                else if (Current?.IsKeyword("ASC") == true)
                {
                    _position++;
                }
            }

            string? groupBy = null;
            if (orderBy is null && Current?.IsKeyword("GROUP") == true)
            {
                _position++;
                Expect("BY");
                groupBy = ExpectIdentifier();
                if (groupBy != "ExecutionStatus")
                {
                    throw new FormatException("'GROUP BY' clause is only supported for ExecutionStatus.");
                }
            }

            if (Current is not null)
            {
                throw new FormatException($"Unexpected '{Current.Text}'.");
            }

            return new VisibilityQuery(predicate, orderBy, descending, groupBy);
        }

        private Func<Func<string, object?>, bool> ParseOr()
        {
            var left = ParseAnd();
            while (Current?.IsKeyword("OR") == true)
            {
                _position++;
                var l = left;
                var r = ParseAnd();
                left = f => l(f) || r(f);
            }

            return left;
        }

        private Func<Func<string, object?>, bool> ParseAnd()
        {
            var left = ParseFactor();
            while (Current?.IsKeyword("AND") == true)
            {
                _position++;
                var l = left;
                var r = ParseFactor();
                left = f => l(f) && r(f);
            }

            return left;
        }

        private Func<Func<string, object?>, bool> ParseFactor()
        {
            if (Current is { Kind: TokenKind.Symbol, Text: "(" })
            {
                _position++;
                var inner = ParseOr();
                ExpectSymbol(")");
                return inner;
            }

            if (Current?.IsKeyword("NOT") == true)
            {
                _position++;
                var inner = ParseFactor();
                return f => !inner(f);
            }

            var field = ExpectIdentifier();
            if (Current?.IsKeyword("BETWEEN") == true)
            {
                _position++;
                var low = ExpectLiteral();
                Expect("AND");
                var high = ExpectLiteral();
                return f => Compare(f(field), low) is >= 0 && Compare(f(field), high) is <= 0;
            }

            if (Current?.IsKeyword("IN") == true || (Current?.IsKeyword("NOT") == true && tokens.ElementAtOrDefault(_position + 1)?.IsKeyword("IN") == true))
            {
                var negate = Current!.IsKeyword("NOT");
                _position += negate ? 2 : 1;
                ExpectSymbol("(");
                var values = new List<object> { ExpectLiteral() };
                while (Current is { Kind: TokenKind.Symbol, Text: "," })
                {
                    _position++;
                    values.Add(ExpectLiteral());
                }

                ExpectSymbol(")");
                return f => values.Any(v => Equal(f(field), v)) != negate;
            }

            if (Current?.IsKeyword("IS") == true)
            {
                _position++;
                var negate = Current?.IsKeyword("NOT") == true;
                if (negate)
                {
                    _position++;
                }

                Expect("NULL");
                return f => f(field) is null != negate;
            }

            if (Current?.IsKeyword("STARTS_WITH") == true)
            {
                _position++;
                var prefix = ExpectLiteral().ToString()!;
                return f => f(field) is string s && s.StartsWith(prefix, StringComparison.Ordinal);
            }

            var op = Current is { Kind: TokenKind.Symbol } symbol ? symbol.Text : throw new FormatException($"Expected an operator after {field}.");
            _position++;
            var literal = ExpectLiteral();
            return op switch
            {
                "=" => f => Equal(f(field), literal),
                "!=" or "<>" => f => !Equal(f(field), literal),
                ">" => f => Compare(f(field), literal) is > 0,
                ">=" => f => Compare(f(field), literal) is >= 0,
                "<" => f => Compare(f(field), literal) is < 0,
                "<=" => f => Compare(f(field), literal) is <= 0,
                _ => throw new FormatException($"Unknown operator '{op}'."),
            };
        }

        private static bool Equal(object? fieldValue, object literal) => fieldValue switch
        {
            IReadOnlyList<string> list => list.Contains(Convert.ToString(literal, CultureInfo.InvariantCulture)),
            _ => Compare(fieldValue, literal) == 0,
        };

        /// <summary>Compares a field value with a literal, converting the literal to the field's type; null when they do not compare.</summary>
        private static int? Compare(object? fieldValue, object literal)
        {
            switch (fieldValue)
            {
                case null:
                    return null;
                case double d:
                    return literal is double n ? d.CompareTo(n)
                        : double.TryParse(literal.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? d.CompareTo(parsed) : null;
                case DateTimeOffset t:
                    return DateTimeOffset.TryParse(literal.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
                        ? t.CompareTo(time) : null;
                case bool b:
                    return bool.TryParse(literal.ToString(), out var flag) ? b.CompareTo(flag) : null;
                default:
                    return string.CompareOrdinal(Convert.ToString(fieldValue, CultureInfo.InvariantCulture), Convert.ToString(literal, CultureInfo.InvariantCulture));
            }
        }

        private object ExpectLiteral()
        {
            var token = Current ?? throw new FormatException("Expected a value.");
            _position++;
            return token.Kind switch
            {
                TokenKind.String => token.Text,
                TokenKind.Number => double.Parse(token.Text, CultureInfo.InvariantCulture),
                TokenKind.Identifier when token.IsKeyword("true") || token.IsKeyword("false") => token.Text.ToLowerInvariant(),
                _ => throw new FormatException($"Expected a value, found '{token.Text}'."),
            };
        }

        private string ExpectIdentifier()
        {
            var token = Current;
            if (token is not { Kind: TokenKind.Identifier })
            {
                throw new FormatException($"Expected a search attribute name, found '{token?.Text ?? "end of query"}'.");
            }

            _position++;
            return token.Text;
        }

        private void Expect(string keyword)
        {
            if (Current?.IsKeyword(keyword) != true)
            {
                throw new FormatException($"Expected {keyword}, found '{Current?.Text ?? "end of query"}'.");
            }

            _position++;
        }

        private void ExpectSymbol(string symbol)
        {
            if (Current is not { Kind: TokenKind.Symbol } token || token.Text != symbol)
            {
                throw new FormatException($"Expected '{symbol}', found '{Current?.Text ?? "end of query"}'.");
            }

            _position++;
        }
    }
}

using System.Text.RegularExpressions;

namespace Stateset.Gateway.Validation;

/// <summary>
/// Collects every problem with a request body or query string, each under the name of its field, so a client
/// sees all of them at once in one 400 ValidationProblem.
/// </summary>
public sealed partial class RequestValidator
{
    // Made with the first problem: nearly every request has none, and every request makes a validator.
    private Dictionary<string, List<string>>? _errors;

    /// <summary>Gets a value indicating whether no problem was found.</summary>
    public bool IsValid => _errors is null;

    /// <summary>Gets the problems by field, in the shape <c>TypedResults.ValidationProblem</c> takes.</summary>
    public Dictionary<string, string[]> Errors =>
        _errors?.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal) ?? new(StringComparer.Ordinal);

    /// <summary>Records a problem with a field.</summary>
    public RequestValidator Add(string field, string problem)
    {
        _errors ??= new(StringComparer.Ordinal);
        if (!_errors.TryGetValue(field, out var problems))
        {
            _errors[field] = problems = [];
        }

        problems.Add(problem);
        return this;
    }

    /// <summary>An identifier: 1-64 letters, digits, '-', '_', '.' or ':', starting with a letter or digit.</summary>
    public RequestValidator Id(string field, string? value, bool required = true)
    {
        if (value is null)
        {
            return required ? Add(field, "is required.") : this;
        }

        return IdPattern().IsMatch(value) ? this : Add(field, "must be 1-64 letters, digits, '-', '_', '.' or ':', starting with a letter or digit.");
    }

    /// <summary>
    /// An identifier (as <see cref="Id(string, string?, bool)"/>) in one item of a list: the field is named
    /// <c>{list}[{index}].{name}</c>, spelt out only when there is a problem.
    /// </summary>
    public RequestValidator Id(string list, int index, string name, string? value) =>
        value is not null && IdPattern().IsMatch(value) ? this : Id($"{list}[{index}].{name}", value);

    /// <summary>Free text of at most <paramref name="maxLength"/> characters.</summary>
    public RequestValidator Text(string field, string? value, int maxLength, bool required = true) =>
        TextProblem(value, maxLength, required) is { } problem ? Add(field, problem) : this;

    /// <summary>A whole number in a range.</summary>
    public RequestValidator Range(string field, int? value, int min, int max) =>
        RangeProblem(value, min, max) is { } problem ? Add(field, problem) : this;

    /// <summary>A whole number in a range in one item of a list (named as <see cref="Id(string, int, string, string?)"/> names it).</summary>
    public RequestValidator Range(string list, int index, string name, int? value, int min, int max) =>
        RangeProblem(value, min, max) is { } problem ? Add($"{list}[{index}].{name}", problem) : this;

    /// <summary>An ISO 4217 currency we sell in.</summary>
    public RequestValidator Currency(string field, string? value) =>
        value is "USD" or "CAD" ? this : Add(field, "must be USD or CAD.");

    /// <summary>A positive money amount with at most two decimals.</summary>
    public RequestValidator Money(string field, decimal? value) =>
        value is null ? Add(field, "is required.")
        : value <= 0 || value > 1_000_000m ? Add(field, "must be more than 0 and at most 1000000.")
        : decimal.Round(value.Value, 2) != value ? Add(field, "must have at most two decimals.")
        : this;

    /// <summary>One of a fixed set of words.</summary>
    public RequestValidator OneOf(string field, string? value, IReadOnlyCollection<string> allowed, bool required = true)
    {
        if (value is null)
        {
            return required ? Add(field, "is required.") : this;
        }

        return allowed.Contains(value) ? this : Add(field, $"must be one of {string.Join(", ", allowed)}.");
    }

    /// <summary>A postal address in the shape every start body uses; its fields are checked for presence and size
    /// (the label workflow checks the postal rules themselves and names the field if they fail).</summary>
    public RequestValidator Address(string field, AddressBody? address, bool required = true)
    {
        if (address is null)
        {
            return required ? Add(field, "is required.") : this;
        }

        // Each part's name is spelt out only for a problem: a valid address (nearly every one) costs no strings.
        TextIn(field, "name", address.Name, 100);
        TextIn(field, "line1", address.Line1, 100);
        TextIn(field, "line2", address.Line2, 100, required: false);
        TextIn(field, "city", address.City, 60);
        TextIn(field, "region", address.Region, 40);
        TextIn(field, "postalCode", address.PostalCode, 12);
        TextIn(field, "phone", address.Phone, 30, required: false);
        return address.Country is "US" or "CA" ? this : Add($"{field}.country", "must be US or CA.");
    }

    private static string? TextProblem(string? value, int maxLength, bool required) =>
        string.IsNullOrWhiteSpace(value) ? (required ? "is required." : null)
        : value.Length <= maxLength ? null
        : $"must be at most {maxLength} characters.";

    private static string? RangeProblem(int? value, int min, int max) =>
        value is null ? "is required."
        : value < min || value > max ? $"must be between {min} and {max}."
        : null;

    private void TextIn(string field, string part, string? value, int maxLength, bool required = true)
    {
        if (TextProblem(value, maxLength, required) is { } problem)
        {
            Add($"{field}.{part}", problem);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
    private static partial Regex IdPattern();
}

/// <summary>A postal address as request bodies carry it.</summary>
public sealed record AddressBody(string? Name, string? Line1, string? Line2, string? City, string? Region, string? PostalCode, string? Country, string? Phone = null)
{
    /// <summary>The workflows' address record; call only after validation.</summary>
    public Stateset.Workflows.Activities.Address ToAddress() => new(Name!.Trim(), Line1!.Trim(), Line2?.Trim(), City!.Trim(), Region!.Trim(), PostalCode!.Trim(), Country!, Phone?.Trim());
}

using System.Text;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Shipping;

/// <summary>One problem with one address field.</summary>
/// <param name="Field">Field path, e.g. <c>to.postalCode</c>.</param>
/// <param name="Message">What is wrong, in words an operator can act on.</param>
public sealed record AddressError(string Field, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>The normalised address, or the reasons there is none.</summary>
public sealed record AddressValidationResult(Address? Address, IReadOnlyList<AddressError> Errors)
{
    /// <summary>Gets a value indicating whether the address is valid.</summary>
    public bool IsValid => Errors.Count == 0;
}

/// <summary>
/// Validates and normalises US and Canadian addresses the way carriers want them: two-letter region codes,
/// ZIP / ZIP+4 as <c>12345-6789</c>, Canadian postal codes as <c>A1A 1A1</c>, single spaces, no stray whitespace.
/// It checks format and consistency (Canadian postal code against province), not deliverability.
/// </summary>
public static class AddressValidator
{
    /// <summary>Most carrier APIs cut name and street lines at 35 characters; longer ones would be truncated on the label.</summary>
    public const int MaxLineLength = 35;

    // Canada Post never uses D, F, I, O, Q or U (they read like other characters to sorting machines);
    // W and Z may appear, but not as the first letter.
    private const string CanadianLetters = "ABCEGHJKLMNPRSTVWXYZ";

    /// <summary>Validates <paramref name="address"/>; field names in errors start with <paramref name="role"/>.</summary>
    public static AddressValidationResult Validate(Address address, string role = "to")
    {
        ArgumentNullException.ThrowIfNull(address);
        var errors = new List<AddressError>();
        string Field(string name) => string.IsNullOrEmpty(role) ? name : $"{role}.{name}";

        var name = Line(address.Name, Field("name"), required: true, errors);
        var line1 = Line(address.Line1, Field("line1"), required: true, errors);
        var line2 = Line(address.Line2, Field("line2"), required: false, errors);
        var city = Line(address.City, Field("city"), required: true, errors);
        var phone = AddressText.Collapse(address.Phone);

        var country = NormaliseCountry(address.Country);
        string region = AddressText.Collapse(address.Region).ToUpperInvariant();
        string postalCode = AddressText.Collapse(address.PostalCode).ToUpperInvariant();
        switch (country)
        {
            case "US":
                region = Region(address.Region, PostalRegions.UnitedStates, PostalRegions.UnitedStatesByName, "state", Field("region"), errors);
                postalCode = UsZip(address.PostalCode, Field("postalCode"), errors);
                break;
            case "CA":
                region = Region(address.Region, PostalRegions.Canada, PostalRegions.CanadaByName, "province", Field("region"), errors);
                postalCode = CanadianPostalCode(address.PostalCode, region, Field("postalCode"), errors);
                break;
            default:
                errors.Add(new(Field("country"), string.IsNullOrWhiteSpace(address.Country)
                    ? "is required (US or CA)"
                    : $"'{address.Country}' is not served: only US and CA addresses can be shipped to"));
                break;
        }

        return errors.Count > 0
            ? new AddressValidationResult(null, errors)
            : new AddressValidationResult(
                new Address(name, line1, line2.Length == 0 ? null : line2, city, region, postalCode, country!, phone.Length == 0 ? null : phone),
                errors);
    }

    private static string Line(string? value, string field, bool required, List<AddressError> errors)
    {
        var text = AddressText.Collapse(value);
        if (text.Length == 0 && required)
        {
            errors.Add(new(field, "is required"));
        }
        else if (text.Length > MaxLineLength)
        {
            errors.Add(new(field, $"is {text.Length} characters long; carriers accept at most {MaxLineLength}"));
        }

        return text;
    }

    private static string? NormaliseCountry(string? country) => AddressText.Key(country) switch
    {
        "US" or "USA" or "UNITED STATES" or "UNITED STATES OF AMERICA" => "US",
        "CA" or "CAN" or "CANADA" => "CA",
        _ => null,
    };

    private static string Region(
        string? value,
        IReadOnlyDictionary<string, string> codes,
        IReadOnlyDictionary<string, string> byName,
        string kind,
        string field,
        List<AddressError> errors)
    {
        var key = AddressText.Key(value);
        if (key.Length == 0)
        {
            errors.Add(new(field, $"is required (a two-letter {kind} code)"));
            return key;
        }

        var compact = key.Replace(" ", string.Empty, StringComparison.Ordinal);
        if (compact.Length == 2 && codes.ContainsKey(compact))
        {
            return compact;
        }

        if (byName.TryGetValue(key, out var code) || byName.TryGetValue(compact, out code))
        {
            return code;
        }

        errors.Add(new(field, $"'{value}' is not a {kind} code or name"));
        return key;
    }

    private static string UsZip(string? value, string field, List<AddressError> errors)
    {
        var digits = AddressText.Collapse(value).Replace(" ", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal);
        if (digits.Length == 0)
        {
            errors.Add(new(field, "is required (ZIP code 12345 or ZIP+4 12345-6789)"));
            return digits;
        }

        if ((digits.Length != 5 && digits.Length != 9) || !digits.All(char.IsAsciiDigit))
        {
            errors.Add(new(field, $"'{value}' is not a ZIP code (12345) or ZIP+4 (12345-6789)"));
            return digits;
        }

        if (digits.StartsWith("00000", StringComparison.Ordinal) || (digits.Length == 9 && digits.EndsWith("0000", StringComparison.Ordinal)))
        {
            errors.Add(new(field, $"'{value}' is not an assigned ZIP code (00000 and +4 of 0000 are never issued)"));
            return digits;
        }

        return digits.Length == 5 ? digits : $"{digits[..5]}-{digits[5..]}";
    }

    private static string CanadianPostalCode(string? value, string province, string field, List<AddressError> errors)
    {
        var code = AddressText.Collapse(value).ToUpperInvariant().Replace(" ", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal);
        if (code.Length == 0)
        {
            errors.Add(new(field, "is required (postal code A1A 1A1)"));
            return code;
        }

        if (code.Length != 6
            || !char.IsAsciiLetter(code[0]) || !char.IsAsciiDigit(code[1]) || !char.IsAsciiLetter(code[2])
            || !char.IsAsciiDigit(code[3]) || !char.IsAsciiLetter(code[4]) || !char.IsAsciiDigit(code[5]))
        {
            errors.Add(new(field, $"'{value}' is not a Canadian postal code (A1A 1A1)"));
            return code;
        }

        var formatted = $"{code[..3]} {code[3..]}";
        var unused = new[] { code[0], code[2], code[4] }.Where(c => !CanadianLetters.Contains(c, StringComparison.Ordinal)).Distinct().ToArray();
        if (unused.Length > 0)
        {
            errors.Add(new(field, $"'{formatted}' uses {string.Join(", ", unused)}, which Canada Post never uses in postal codes (D, F, I, O, Q, U)"));
        }
        else if (code[0] is 'W' or 'Z')
        {
            errors.Add(new(field, $"'{formatted}' starts with {code[0]}, which Canada Post never uses as a first letter"));
        }
        else if (PostalRegions.CanadianPostalFirstLetters.TryGetValue(province, out var letters) && !letters.Contains(code[0], StringComparison.Ordinal))
        {
            var expected = string.Join(" or ", letters.ToCharArray());
            errors.Add(new(field, $"'{formatted}' does not belong to {province}: its postal codes start with {expected}"));
        }

        return formatted;
    }
}

/// <summary>Whitespace and comparison helpers for address text.</summary>
internal static class AddressText
{
    /// <summary>Trims and collapses runs of whitespace to one space.</summary>
    public static string Collapse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return string.Empty;
        }

        var builder = new StringBuilder(value.Length);
        foreach (var c in value.Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                if (builder[^1] != ' ')
                {
                    builder.Append(' ');
                }
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// A comparison key: upper case, French accents folded, dots dropped, commas and hyphens as spaces
    /// ("Québec" → "QUEBEC", "Washington, D.C." → "WASHINGTON DC").
    /// </summary>
    public static string Key(string? value)
    {
        var builder = new StringBuilder(value?.Length ?? 0);
        foreach (var c in value ?? string.Empty)
        {
            builder.Append(char.ToUpperInvariant(c) switch
            {
                'É' or 'È' or 'Ê' or 'Ë' => 'E',
                'À' or 'Â' or 'Ä' => 'A',
                'Î' or 'Ï' => 'I',
                'Ô' or 'Ö' => 'O',
                'Ù' or 'Û' or 'Ü' => 'U',
                'Ç' => 'C',
                ',' or '-' => ' ',
                '.' => '\0',
                var other => other,
            });
        }

        return Collapse(builder.Replace("\0", string.Empty).ToString());
    }
}

using System.Text.RegularExpressions;
using Stateset.Workflows.Activities;
using Temporalio.Exceptions;

namespace Stateset.Activities;

/// <summary>
/// Builds the non-retryable failures activities raise for business outcomes and bad input (retrying cannot
/// change them), and validates the input shapes every area shares. Anything else an activity throws
/// (a dropped connection, a provider outage) stays retryable.
/// </summary>
internal static partial class BusinessFailure
{
    /// <summary>Creates a non-retryable failure of the given <see cref="CommerceErrorTypes"/> type.</summary>
    public static ApplicationFailureException Create(string errorType, string message) =>
        new(message, errorType, nonRetryable: true);

    public static void RequireId(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw Create(CommerceErrorTypes.InvalidInput, $"{name} is required.");
        }
    }

    public static void RequireQuantity(string sku, int quantity)
    {
        if (quantity <= 0)
        {
            throw Create(CommerceErrorTypes.InvalidQuantity, $"Quantity for SKU {sku} must be positive, got {quantity}.");
        }
    }

    /// <summary>Checks an ISO 4217 code and returns it upper-cased.</summary>
    public static string RequireCurrency(string? currency)
    {
        var code = currency?.Trim().ToUpperInvariant() ?? string.Empty;
        if (!CurrencyCode().IsMatch(code))
        {
            throw Create(CommerceErrorTypes.InvalidInput, $"Currency must be a three-letter ISO 4217 code, got '{currency}'.");
        }

        return code;
    }

    /// <summary>Checks a money amount: positive (or zero when allowed) and no finer than the currency's minor unit.</summary>
    public static void RequireAmount(decimal amount, string currency, string name, bool allowZero = false)
    {
        if (amount < 0 || (amount == 0 && !allowZero))
        {
            throw Create(CommerceErrorTypes.InvalidAmount, $"{name} must be {(allowZero ? "zero or more" : "positive")}, got {amount} {currency}.");
        }

        if (decimal.Round(amount, Money.MinorDigits(currency)) != amount)
        {
            throw Create(CommerceErrorTypes.InvalidAmount, $"{name} {amount} has more decimal places than {currency} allows.");
        }
    }

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyCode();
}

namespace Stateset.Activities;

/// <summary>Exact money arithmetic helpers: minor units for providers, rounding for computed amounts.</summary>
internal static class Money
{
    /// <summary>Gets the number of decimal places of a currency's minor unit (ISO 4217).</summary>
    public static int MinorDigits(string currency) => currency switch
    {
        "JPY" or "KRW" or "VND" or "CLP" or "ISK" => 0,
        "BHD" or "KWD" or "OMR" or "JOD" or "TND" => 3,
        _ => 2,
    };

    /// <summary>Converts an amount to the integer minor units payment providers speak (12.34 USD → 1234).</summary>
    public static long ToMinorUnits(decimal amount, string currency)
    {
        var scaled = amount * Pow10(MinorDigits(currency));
        if (scaled != decimal.Truncate(scaled))
        {
            throw new ArgumentException($"{amount} {currency} is not a whole number of minor units.", nameof(amount));
        }

        return (long)scaled;
    }

    /// <summary>Converts integer minor units back to an amount.</summary>
    public static decimal FromMinorUnits(long minorUnits, string currency) => minorUnits / Pow10(MinorDigits(currency));

    /// <summary>Rounds a computed amount (a percentage fee) to the currency's minor unit, halves away from zero.</summary>
    public static decimal Round(decimal amount, string currency) =>
        decimal.Round(amount, MinorDigits(currency), MidpointRounding.AwayFromZero);

    private static decimal Pow10(int digits) => digits switch { 0 => 1m, 2 => 100m, 3 => 1000m, _ => (decimal)Math.Pow(10, digits) };
}

using System.Security.Cryptography;
using System.Text;

namespace Stateset.Sandboxes.Carriers;

/// <summary>A service a sandbox carrier sells.</summary>
/// <param name="Code">Carrier service code, e.g. <c>GROUND</c>.</param>
/// <param name="Level">Speed class on the wire: <c>ground</c>, <c>two_day</c> or <c>overnight</c>.</param>
/// <param name="TransitDays">Business days within one country.</param>
/// <param name="BasePrice">Price of the first kilogram within one country.</param>
/// <param name="PricePerKg">Price of each further (billable) kilogram.</param>
public sealed record SandboxService(string Code, string Level, int TransitDays, decimal BasePrice, decimal PricePerKg);

/// <summary>
/// A fake carrier: which countries it picks up from and delivers to, its services and its tracking number format.
/// Prices are deterministic (billable weight, cross-border surcharge) so tests can name the cheapest carrier.
/// </summary>
public sealed record SandboxCarrier(
    string Code,
    string Name,
    IReadOnlySet<string> PicksUpIn,
    IReadOnlySet<string> DeliversTo,
    IReadOnlyList<SandboxService> Services,
    Func<string> NewTrackingNumber)
{
    /// <summary>Cross-border parcels cost this much more and take this many more days.</summary>
    public const decimal CrossBorderFactor = 1.6m;

    /// <summary>The carriers the sandbox runs: a US ground carrier, a US express carrier and a Canadian post.</summary>
    public static readonly IReadOnlyList<SandboxCarrier> All =
    [
        new(
            "ridgeline",
            "Ridgeline Ground",
            Set("US"),
            Set("US", "CA"),
            [new("GROUND", "ground", 4, 8.20m, 1.10m), new("GROUND_SAVER", "ground", 6, 7.40m, 0.95m)],
            () => "1R" + Digits(16)),
        new(
            "swiftair",
            "Swiftair Express",
            Set("US", "CA"),
            Set("US", "CA"),
            [new("TWO_DAY", "two_day", 2, 16.90m, 2.40m), new("OVERNIGHT", "overnight", 1, 34.50m, 3.80m)],
            () => Digits(12)),
        new(
            "maplepost",
            "Maple Post",
            Set("CA"),
            Set("CA", "US"),
            [new("REGULAR", "ground", 5, 11.05m, 1.35m), new("XPRESSPOST", "two_day", 2, 18.75m, 2.10m), new("PRIORITY", "overnight", 1, 29.90m, 3.25m)],
            () => Digits(16)),
    ];

    /// <summary>Gets the services offered from one country to another with their price for the parcel, or none.</summary>
    public IEnumerable<(SandboxService Service, decimal Amount, string Currency, int TransitDays)> Quote(string fromCountry, string toCountry, ParcelDto parcel)
    {
        if (!PicksUpIn.Contains(fromCountry) || !DeliversTo.Contains(toCountry))
        {
            yield break;
        }

        var crossBorder = fromCountry != toCountry;
        // Billable weight: the greater of actual and dimensional weight (5000 cm³ per kg), whole kilograms.
        var actualKg = parcel.WeightGrams / 1000m;
        var dimensionalKg = (decimal)parcel.LengthMm * parcel.WidthMm * parcel.HeightMm / 5_000_000m;
        var billableKg = Math.Max(1, (int)Math.Ceiling(Math.Max(actualKg, dimensionalKg)));
        var currency = fromCountry == "CA" ? "CAD" : "USD";
        foreach (var service in Services)
        {
            var amount = service.BasePrice + ((billableKg - 1) * service.PricePerKg);
            if (crossBorder)
            {
                amount *= CrossBorderFactor;
            }

            yield return (service, decimal.Round(amount, 2), currency, service.TransitDays + (crossBorder ? 2 : 0));
        }
    }

    private static HashSet<string> Set(params string[] countries) => new(countries, StringComparer.Ordinal);

    private static string Digits(int count)
    {
        var digits = new StringBuilder(count);
        for (var i = 0; i < count; i++)
        {
            digits.Append((char)('0' + RandomNumberGenerator.GetInt32(10)));
        }

        return digits.ToString();
    }
}

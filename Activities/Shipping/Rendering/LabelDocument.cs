using Stateset.Workflows.Activities;

namespace Stateset.Activities.Shipping.Rendering;

/// <summary>Everything printed on a shipping label.</summary>
public sealed record LabelDocument(
    string ShipmentId,
    string Carrier,
    string Service,
    string TrackingNumber,
    Address From,
    Address To,
    int WeightGrams)
{
    /// <summary>Gets when the label was bought: the PDF's creation date, so a re-render gives the same bytes.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>Gets the city line as carriers print it: <c>CITY REGION POSTAL</c>, upper case.</summary>
    public static string CityLine(Address address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return $"{address.City} {address.Region} {address.PostalCode}".ToUpperInvariant();
    }

    /// <summary>Gets the address lines top to bottom, upper case, without empty lines.</summary>
    public static IReadOnlyList<string> Lines(Address address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return [.. new[] { address.Name, address.Line1, address.Line2, CityLine(address), address.Country == "CA" ? "CANADA" : "UNITED STATES" }
            .Where(line => !string.IsNullOrWhiteSpace(line))
            .Select(line => line!.ToUpperInvariant())];
    }

    /// <summary>Gets the weight as printed: pounds and kilograms, one decimal.</summary>
    public string WeightText => $"{WeightGrams / 453.59237:0.0} LB / {WeightGrams / 1000.0:0.0} KG";
}

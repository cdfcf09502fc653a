using Stateset.Workflows.Activities;

namespace Stateset.Shipping.Tests;

/// <summary>Real-looking addresses shared by the tests.</summary>
public static class Addresses
{
    public static readonly Address RenoWarehouse = new("Stateset Reno FC", "1255 Gentry Way", null, "Reno", "NV", "89502", "US");

    public static readonly Address MississaugaWarehouse = new("Stateset Mississauga DC", "6300 Kennedy Rd", null, "Mississauga", "ON", "L5T 2X5", "CA");

    public static readonly Address Seattle = new("Ada Lovelace", "400 Broad St", "Apt 12", "Seattle", "WA", "98109", "US");

    public static readonly Address Montreal = new("Émile Nelligan", "1001 Rue Sherbrooke O", null, "Montréal", "QC", "H3A 1G5", "CA");

    public static readonly Address Vancouver = new("Grace Hopper", "1055 Canada Pl", null, "Vancouver", "BC", "V6C 0C3", "CA");

    public static readonly Parcel SmallBox = new(WeightGrams: 1800, LengthMm: 300, WidthMm: 200, HeightMm: 150);
}

namespace Stateset.Activities.Returns;

/// <summary>Restocking fee rules (configuration section <c>Returns</c>).</summary>
public sealed class ReturnOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Returns";

    /// <summary>Gets or sets the fee, in percent of the line, for opened items.</summary>
    public decimal OpenedFeePercent { get; set; } = 15m;

    /// <summary>Gets or sets the fee, in percent of the line, for items the customer damaged.</summary>
    public decimal DamagedFeePercent { get; set; } = 50m;

    /// <summary>Gets or sets the reasons that are the seller's fault and so waive the fee.</summary>
    public HashSet<string> FeeWaivedReasons { get; set; } = new(StringComparer.OrdinalIgnoreCase) { "defective", "wrong_item", "damaged_in_transit" };
}

namespace Stateset.Activities.Risk;

/// <summary>Risk rule thresholds (configuration section <c>Risk</c>).</summary>
public sealed class RiskOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Risk";

    /// <summary>Gets or sets the score from which an operator must approve the order.</summary>
    public int ApprovalThreshold { get; set; } = 50;

    /// <summary>Gets or sets, per currency, the order total from which the amount rule adds 30 points.</summary>
    public Dictionary<string, decimal> HighAmount { get; set; } = new(StringComparer.Ordinal) { ["USD"] = 1000m, ["CAD"] = 1350m };

    /// <summary>Gets or sets, per currency, the order total from which the amount rule adds 50 points instead.</summary>
    public Dictionary<string, decimal> VeryHighAmount { get; set; } = new(StringComparer.Ordinal) { ["USD"] = 5000m, ["CAD"] = 6750m };

    /// <summary>Gets or sets how many other orders in the last 24 hours count as unusual velocity.</summary>
    public int VelocityOrdersPerDay { get; set; } = 3;
}

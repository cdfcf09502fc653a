using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>What the risk rules look at.</summary>
public sealed record RiskCheckInput(
    string OrderId,
    string CustomerId,
    decimal Amount,
    string Currency,
    PostalAddress ShippingAddress,
    PostalAddress? BillingAddress = null)
{
    /// <summary>Gets what the step records in its transaction besides its own rows; null from runs that record it apart.</summary>
    public StepRecord? Record { get; init; }
}

/// <summary>A 0-100 score, whether an operator must approve, and the rules that fired.</summary>
public sealed record RiskAssessment(string OrderId, int Score, bool RequiresApproval, IReadOnlyList<string> Reasons);

/// <summary>Order risk rules on amount, address mismatch and customer history.</summary>
public interface IRiskActivities
{
    /// <summary>Scores the order and stores the assessment (a retry overwrites it with the same facts).</summary>
    [Activity]
    Task<RiskAssessment> AssessOrderRiskAsync(RiskCheckInput input);
}

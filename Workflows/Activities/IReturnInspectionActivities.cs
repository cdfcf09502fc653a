using Temporalio.Activities;

namespace Stateset.Workflows.Activities;

/// <summary>One SKU's condition as the warehouse found it: new, opened or damaged.</summary>
public sealed record InspectedCondition(string Sku, string Condition);

/// <summary>The warehouse's inspection of a received return.</summary>
public sealed record RecordInspectionInput(string ReturnId, string InspectedBy, IReadOnlyList<InspectedCondition> Lines);

/// <summary>The inspection of returned goods, which settles the restocking fee.</summary>
public interface IReturnInspectionActivities
{
    /// <summary>
    /// Stores each line's inspected condition and re-prices the return with the same fee rules eligibility uses
    /// (a damaged item carries a restocking fee unless the customer's reason waives it); idempotent per return.
    /// </summary>
    [Activity]
    Task<ReturnEligibility> RecordInspectionAsync(RecordInspectionInput input);
}

using Temporalio.Common;

namespace Stateset.Workflows.Common;

/// <summary>
/// Custom search attributes every workflow upserts, so runs can be found in the Temporal UI and with List
/// queries (<c>OrderId = 'o-1' AND BusinessStatus = 'awaiting_approval'</c>). A real Temporal namespace must
/// have them registered; the worker does that at start-up.
/// </summary>
public static class StatesetSearchAttributes
{
    /// <summary>The order the run belongs to (refunds, labels and returns carry their order's id too).</summary>
    public static readonly SearchAttributeKey<string> OrderId = SearchAttributeKey.CreateKeyword("OrderId");

    /// <summary>The customer.</summary>
    public static readonly SearchAttributeKey<string> CustomerId = SearchAttributeKey.CreateKeyword("CustomerId");

    /// <summary>The business status (distinct from Temporal's own ExecutionStatus).</summary>
    public static readonly SearchAttributeKey<string> BusinessStatus = SearchAttributeKey.CreateKeyword("BusinessStatus");

    /// <summary>The money amount the run is about, in its currency.</summary>
    public static readonly SearchAttributeKey<double> Amount = SearchAttributeKey.CreateDouble("Amount");

    /// <summary>Gets every key, for registration on a namespace.</summary>
    public static IReadOnlyList<SearchAttributeKey> All { get; } = [OrderId, CustomerId, BusinessStatus, Amount];
}

namespace Stateset.Activities.Orders;

/// <summary>
/// The order's state machine: for each status, the statuses an order may reach it from. Anything else
/// (backwards, out of a final status, skipping a step) is refused by the <c>WHERE status = ANY(…)</c> of the update.
/// </summary>
public static class OrderStatusTransitions
{
    private static readonly string[] Open = ["pending", "reserved", "authorized", "awaiting_approval", "approved", "captured"];

    private static readonly Dictionary<string, string[]> From = new(StringComparer.Ordinal)
    {
        ["pending"] = [],
        ["reserved"] = ["pending"],
        ["authorized"] = ["reserved"],
        ["awaiting_approval"] = ["authorized"],
        ["approved"] = ["awaiting_approval"],
        ["captured"] = ["authorized", "approved"],
        ["shipped"] = ["captured"],
        ["delivered"] = ["shipped"],
        ["completed"] = ["delivered"],

        // Before shipping an order can be cancelled or fail; only an order awaiting its decision is rejected.
        ["cancelled"] = Open,
        ["rejected"] = ["pending", "reserved", "authorized", "awaiting_approval"],

        // A shipped order that is never delivered is flagged as failed (the delivery deadline passed).
        ["failed"] = [.. Open, "shipped"],
    };

    /// <summary>Gets the statuses an order may move to <paramref name="status"/> from (none for an unknown status).</summary>
    public static string[] AllowedFrom(string status) => From.GetValueOrDefault(status) ?? [];
}

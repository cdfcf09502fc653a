namespace Stateset.Workflows.Activities;

/// <summary>
/// Payment ids derive from the order id, so a workflow can void or refund a payment whose authorisation
/// answer it never received (a lost callback, a timeout) — the provider still knows it by the same key.
/// </summary>
public static class PaymentIds
{
    /// <summary>The payment of an order.</summary>
    public static string ForOrder(string orderId) => $"{orderId}:payment";
}

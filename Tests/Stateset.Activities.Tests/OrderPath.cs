using Stateset.Activities.Orders;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests;

/// <summary>Moves a placed order along the path a fulfillment run takes (the state machine refuses shortcuts).</summary>
public static class OrderPath
{
    private static readonly string[] ToCompleted = ["reserved", "authorized", "captured", "shipped", "delivered", "completed"];

    /// <summary>Walks the order up to and including <paramref name="status"/>; the delivered time is <paramref name="at"/>.</summary>
    public static async Task WalkToAsync(OrderActivities orders, string orderId, string status, DateTimeOffset at)
    {
        foreach (var step in ToCompleted[..(Array.IndexOf(ToCompleted, status) + 1)])
        {
            await Attempts.RunAsync(() => orders.UpdateOrderStatusAsync(new UpdateOrderStatusInput(orderId, step, at)));
        }
    }
}

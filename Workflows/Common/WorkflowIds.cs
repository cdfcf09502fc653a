namespace Stateset.Workflows.Common;

/// <summary>
/// Workflow ids are the business ids with a readable prefix, so a run is found in the Temporal UI by the id a
/// person already knows, and starting the same business process twice lands on the same workflow.
/// </summary>
public static class WorkflowIds
{
    /// <summary>The order fulfillment run of an order.</summary>
    public static string Order(string orderId) => $"order-{orderId}";

    /// <summary>The refund processing run of a refund.</summary>
    public static string Refund(string refundId) => $"refund-{refundId}";

    /// <summary>The label printing run of a shipment.</summary>
    public static string Label(string shipmentId) => $"label-{shipmentId}";

    /// <summary>The return authorization run of a return.</summary>
    public static string Return(string returnId) => $"rma-{returnId}";
}

/// <summary>Task queue names; workers poll them and clients start workflows on them.</summary>
public static class TaskQueues
{
    /// <summary>The queue every Stateset workflow and activity runs on unless configured otherwise.</summary>
    public const string Commerce = "stateset";
}

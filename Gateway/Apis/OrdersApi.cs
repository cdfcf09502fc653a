using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Stateset.Gateway.Security;
using Stateset.Gateway.Validation;
using Stateset.Gateway.Workflows;
using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.OrderFulfillment;

namespace Stateset.Gateway.Apis;

/// <summary>Place an order and fulfil it.</summary>
/// <param name="OrderId">Your order id; omitted, one is derived from the Idempotency-Key.</param>
/// <param name="ServiceLevel">ground (default), two_day or overnight.</param>
/// <param name="PrintStationId">Where the label prints; omitted, the shipping warehouse's default station.</param>
public sealed record PlaceOrderRequest(
    string? OrderId,
    string? CustomerId,
    string? Currency,
    IReadOnlyList<OrderLineBody>? Lines,
    AddressBody? ShippingAddress,
    AddressBody? BillingAddress,
    string? PaymentMethod,
    string? ServiceLevel,
    string? PrintStationId);

/// <summary>One order line.</summary>
public sealed record OrderLineBody(string? Sku, int? Quantity);

/// <summary>An operator's decision; who decided is the API key's name.</summary>
public sealed record DecisionBody(string? Reason);

/// <summary>Orders: start fulfillment, read it, and the operator decisions and cancellation it waits for.</summary>
public static class OrdersApi
{
    private static readonly Dictionary<string, ServiceLevel> ServiceLevels = new(StringComparer.Ordinal)
    {
        ["ground"] = ServiceLevel.Ground,
        ["two_day"] = ServiceLevel.TwoDay,
        ["overnight"] = ServiceLevel.Overnight,
    };

    /// <summary>Maps <c>/orders</c>.</summary>
    public static RouteGroupBuilder MapOrdersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/orders").WithTags("Orders").RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        group.MapResourceList("orders", "OrderFulfillment", "ListOrders");
        group.MapPost("/", PlaceAsync).RequireAuthorization(ApiScopes.Client)
            .WithName("PlaceOrder").WithSummary("Starts an order's fulfillment; the same Idempotency-Key and body always answer the same order.");
        group.MapGet("/{orderId}", GetAsync).RequireAuthorization(ApiScopes.ReadPolicy).DocumentsStatusAs<OrderStatus>()
            .WithName("GetOrder").WithSummary("The order's status (stage, timeline, money, shipment, compensations) from the read model, live or closed.");
        group.MapApprovalDecisions<OrderFulfillmentWorkflow>("Order", "orders", WorkflowIds.Order, d => wf => wf.ApproveAsync(d), d => wf => wf.RejectAsync(d));
        group.MapPost("/{orderId}/cancel", CancelAsync).RequireAuthorization(ApiScopes.CancelPolicy)
            .WithName("CancelOrder").WithSummary("Cancels an order that has not shipped; compensations run in reverse.");
        return group;
    }

    private static async Task<Results<Accepted<StartedResource>, ValidationProblem, ProblemHttpResult>> PlaceAsync(
        PlaceOrderRequest request, HttpContext http, WorkflowGateway workflows, ReferenceChecks references)
    {
        var check = new RequestValidator()
            .Id("orderId", request.OrderId, required: false)
            .Id("customerId", request.CustomerId)
            .Currency("currency", request.Currency)
            .Address("shippingAddress", request.ShippingAddress)
            .Address("billingAddress", request.BillingAddress, required: false)
            .Text("paymentMethod", request.PaymentMethod, 64)
            .OneOf("serviceLevel", request.ServiceLevel, ServiceLevels.Keys, required: false)
            .Id("printStationId", request.PrintStationId, required: false);
        if (request.Lines is not { Count: > 0 and <= 100 })
        {
            check.Add("lines", "must hold 1 to 100 lines.");
        }
        else
        {
            for (var i = 0; i < request.Lines.Count; i++)
            {
                check.Id("lines", i, "sku", request.Lines[i]?.Sku).Range("lines", i, "quantity", request.Lines[i]?.Quantity, 1, 1000);
            }

            if (request.Lines.Count > 1 && request.Lines.GroupBy(l => l?.Sku).Any(g => g.Key is not null && g.Count() > 1))
            {
                check.Add("lines", "must name each SKU once.");
            }
        }

        if (check.IsValid)
        {
            await references.CheckOrderAsync(check, request.CustomerId!, request.Currency!, "lines", request.Lines!.Select(l => l!.Sku!).ToList(), http.RequestAborted);
        }

        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        return await workflows.StartAsync<OrderFulfillmentWorkflow, FulfillOrderResult>(
            http,
            "orders",
            "o",
            request,
            request.OrderId,
            WorkflowIds.Order,
            orderId =>
            {
                var input = new FulfillOrderInput(
                    orderId,
                    request.CustomerId!,
                    request.Currency!,
                    request.Lines!.Select(l => new OrderLine(l.Sku!, l.Quantity!.Value)).ToList(),
                    request.ShippingAddress!.ToAddress(),
                    request.PaymentMethod!,
                    request.BillingAddress?.ToAddress(),
                    ServiceLevels[request.ServiceLevel ?? "ground"],
                    request.PrintStationId);
                return wf => wf.RunAsync(input);
            });
    }

    private static Task<Results<StoredResourceView, NotFound, ValidationProblem>> GetAsync(string orderId, WorkflowGateway workflows, CancellationToken ct) =>
        workflows.GetAsync("orders", "orderId", orderId, WorkflowIds.Order, ct);

    private static Task<Results<Accepted, NotFound, ProblemHttpResult>> CancelAsync(string orderId, DecisionBody? body, ClaimsPrincipal user, WorkflowGateway workflows, CancellationToken ct)
    {
        var request = new CancelRequest(user.Identity!.Name!, body?.Reason);
        return workflows.SignalIfAsync<OrderFulfillmentWorkflow>(
            "orders",
            orderId,
            WorkflowIds.Order(orderId),
            run => run.Shipped ? "The order has shipped and can no longer be cancelled."
                : run.Stage is "compensating" or "done" ? "The order is already ending." : null,
            wf => wf.CancelAsync(request),
            ct);
    }
}

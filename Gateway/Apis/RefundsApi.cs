using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Stateset.Gateway.Security;
using Stateset.Gateway.Validation;
using Stateset.Gateway.Workflows;
using Stateset.Workflows.Common;
using Stateset.Workflows.RefundProcessing;

namespace Stateset.Gateway.Apis;

/// <summary>Refund part or all of an order's captured payment.</summary>
/// <param name="RefundId">Your refund id; omitted, one is derived from the Idempotency-Key.</param>
public sealed record RequestRefundRequest(string? RefundId, string? OrderId, string? CustomerId, decimal? Amount, string? Currency, string? Reason);

/// <summary>Refunds: start, read, and the operator decisions they may wait for.</summary>
public static class RefundsApi
{
    /// <summary>Maps <c>/refunds</c>.</summary>
    public static RouteGroupBuilder MapRefundsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/refunds").WithTags("Refunds").RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        group.MapResourceList("refunds", "RefundProcessing", "ListRefunds");
        group.MapPost("/", RequestAsync).RequireAuthorization(ApiScopes.Client)
            .WithName("RequestRefund").WithSummary("Starts a refund; refused if it would exceed what was captured minus what was refunded.");
        group.MapGet("/{refundId}", GetAsync).RequireAuthorization(ApiScopes.ReadPolicy).DocumentsStatusAs<RefundStatus>()
            .WithName("GetRefund").WithSummary("The refund's status.");
        group.MapApprovalDecisions<RefundProcessingWorkflow>("Refund", "refunds", WorkflowIds.Refund, d => wf => wf.ApproveAsync(d), d => wf => wf.RejectAsync(d));
        return group;
    }

    private static async Task<Results<Accepted<StartedResource>, ValidationProblem, ProblemHttpResult>> RequestAsync(
        RequestRefundRequest request, HttpContext http, ClaimsPrincipal user, WorkflowGateway workflows, ReferenceChecks references)
    {
        var check = new RequestValidator()
            .Id("refundId", request.RefundId, required: false)
            .Id("orderId", request.OrderId)
            .Id("customerId", request.CustomerId)
            .Money("amount", request.Amount)
            .Currency("currency", request.Currency)
            .Text("reason", request.Reason, 500);
        if (check.IsValid)
        {
            await references.CheckOrderExistsAsync(check, "orderId", request.OrderId!, http.RequestAborted);
        }

        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        return await workflows.StartAsync<RefundProcessingWorkflow, RefundResult>(
            http,
            "refunds",
            "r",
            request,
            request.RefundId,
            WorkflowIds.Refund,
            refundId =>
            {
                var input = new RefundRequest(refundId, request.OrderId!, request.CustomerId!, request.Amount!.Value, request.Currency!, request.Reason!, user.Identity!.Name!);
                return wf => wf.RunAsync(input);
            });
    }

    private static Task<Results<StoredResourceView, NotFound, ValidationProblem>> GetAsync(string refundId, WorkflowGateway workflows, CancellationToken ct) =>
        workflows.GetAsync("refunds", "refundId", refundId, WorkflowIds.Refund, ct);
}

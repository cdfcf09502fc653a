using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Stateset.Gateway.Security;
using Stateset.Gateway.Validation;
using Stateset.Gateway.Workflows;
using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.ReturnAuthorization;

namespace Stateset.Gateway.Apis;

/// <summary>Ask to return items of a delivered order.</summary>
/// <param name="ReturnId">Your return id; omitted, one is derived from the Idempotency-Key.</param>
public sealed record RequestReturnRequest(string? ReturnId, string? OrderId, string? CustomerId, IReadOnlyList<ReturnLineBody>? Lines, string? Reason);

/// <summary>One returned SKU: how many, in what condition (new, opened, damaged), and why.</summary>
public sealed record ReturnLineBody(string? Sku, int? Quantity, string? Condition, string? Reason);

/// <summary>The warehouse received the parcel.</summary>
public sealed record ReceiptBody(string? Note);

/// <summary>The warehouse's inspection: each SKU's condition as found.</summary>
public sealed record InspectionBody(IReadOnlyList<InspectedLineBody>? Lines);

/// <summary>One SKU's condition as found.</summary>
public sealed record InspectedLineBody(string? Sku, string? Condition);

/// <summary>Returns: start, read, operator decisions, and the warehouse's receipt and inspection.</summary>
public static class ReturnsApi
{
    private static readonly string[] Conditions = ["new", "opened", "damaged"];

    /// <summary>Maps <c>/returns</c>.</summary>
    public static RouteGroupBuilder MapReturnsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/returns").WithTags("Returns").RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        group.MapResourceList("returns", "ReturnAuthorization", "ListReturns");
        group.MapPost("/", RequestAsync).RequireAuthorization(ApiScopes.Client)
            .WithName("RequestReturn").WithSummary("Starts a return authorization; refused outside the return window.");
        group.MapGet("/{returnId}", GetAsync).RequireAuthorization(ApiScopes.ReadPolicy).DocumentsStatusAs<ReturnStatus>()
            .WithName("GetReturn").WithSummary("The return's status.");
        group.MapApprovalDecisions<ReturnAuthorizationWorkflow>("Return", "returns", WorkflowIds.Return, d => wf => wf.ApproveAsync(d), d => wf => wf.RejectAsync(d));
        group.MapPost("/{returnId}/received", ReceivedAsync).RequireAuthorization(ApiScopes.ReturnsDeskPolicy)
            .WithName("ReturnReceived").WithSummary("The warehouse received the return parcel.");
        group.MapPost("/{returnId}/inspected", InspectedAsync).RequireAuthorization(ApiScopes.ReturnsDeskPolicy)
            .WithName("ReturnInspected").WithSummary("The warehouse inspected the returned items.");
        return group;
    }

    private static async Task<Results<Accepted<StartedResource>, ValidationProblem, ProblemHttpResult>> RequestAsync(
        RequestReturnRequest request, HttpContext http, WorkflowGateway workflows, ReferenceChecks references)
    {
        var check = new RequestValidator()
            .Id("returnId", request.ReturnId, required: false)
            .Id("orderId", request.OrderId)
            .Id("customerId", request.CustomerId)
            .Text("reason", request.Reason, 500, required: false);
        if (request.Lines is not { Count: > 0 and <= 100 })
        {
            check.Add("lines", "must hold 1 to 100 lines.");
        }
        else
        {
            for (var i = 0; i < request.Lines.Count; i++)
            {
                check.Id($"lines[{i}].sku", request.Lines[i]?.Sku)
                    .Range($"lines[{i}].quantity", request.Lines[i]?.Quantity, 1, 1000)
                    .OneOf($"lines[{i}].condition", request.Lines[i]?.Condition, Conditions, required: false)
                    .Text($"lines[{i}].reason", request.Lines[i]?.Reason, 200, required: false);
            }
        }

        if (check.IsValid)
        {
            await references.CheckOrderExistsAsync(check, "orderId", request.OrderId!, http.RequestAborted);
        }

        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        return await workflows.StartAsync<ReturnAuthorizationWorkflow, AuthorizeReturnResult>(
            http,
            "returns",
            "ret",
            request,
            request.ReturnId,
            WorkflowIds.Return,
            returnId =>
            {
                var lines = request.Lines!.Select(l => new ReturnLine(l.Sku!, l.Quantity!.Value, l.Condition ?? "new", l.Reason)).ToList();
                var input = new AuthorizeReturnInput(returnId, request.OrderId!, request.CustomerId!, lines, request.Reason);
                return wf => wf.RunAsync(input);
            });
    }

    private static Task<Results<StoredResourceView, NotFound, ValidationProblem>> GetAsync(string returnId, WorkflowGateway workflows, CancellationToken ct) =>
        workflows.GetAsync("returns", "returnId", returnId, WorkflowIds.Return, ct);

    private static Task<Results<Accepted, NotFound, ProblemHttpResult>> ReceivedAsync(string returnId, ReceiptBody? body, ClaimsPrincipal user, WorkflowGateway workflows, CancellationToken ct)
    {
        var receipt = new ReturnReceipt(user.Identity!.Name!, body?.Note);
        return workflows.SignalIfAsync<ReturnAuthorizationWorkflow>(
            "returns",
            returnId,
            WorkflowIds.Return(returnId),
            run => run.Stage == "awaiting receipt" ? null : $"The return is not waiting for its parcel (stage: {run.Stage}).",
            wf => wf.ReceivedAsync(receipt),
            ct);
    }

    private static async Task<Results<Accepted, NotFound, ProblemHttpResult, ValidationProblem>> InspectedAsync(
        string returnId, InspectionBody body, ClaimsPrincipal user, WorkflowGateway workflows, CancellationToken ct)
    {
        var check = new RequestValidator();
        if (body.Lines is not { Count: > 0 and <= 100 })
        {
            check.Add("lines", "must hold 1 to 100 lines.");
        }
        else
        {
            for (var i = 0; i < body.Lines.Count; i++)
            {
                check.Id($"lines[{i}].sku", body.Lines[i]?.Sku).OneOf($"lines[{i}].condition", body.Lines[i]?.Condition, Conditions);
            }
        }

        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        var report = new InspectionReport(user.Identity!.Name!, body.Lines!.Select(l => new InspectedLine(l.Sku!, l.Condition!)).ToList());
        var signalled = await workflows.SignalIfAsync<ReturnAuthorizationWorkflow>(
            "returns",
            returnId,
            WorkflowIds.Return(returnId),
            run => run.Stage == "awaiting inspection" ? null : $"The return is not waiting for an inspection (stage: {run.Stage}).",
            wf => wf.InspectedAsync(report),
            ct);
        return signalled.Result switch
        {
            Accepted accepted => accepted,
            NotFound notFound => notFound,
            _ => (ProblemHttpResult)signalled.Result,
        };
    }
}

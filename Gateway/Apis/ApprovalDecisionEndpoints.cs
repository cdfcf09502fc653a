using System.Linq.Expressions;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Stateset.Gateway.Security;
using Stateset.Gateway.Workflows;
using Stateset.Workflows.Common;

namespace Stateset.Gateway.Apis;

/// <summary>
/// The approve and reject endpoints every approvable resource has: the decision is a signal carrying the API key's
/// name as who decided, sent only while the run's read-model row shows a pending approval (409 otherwise).
/// </summary>
public static class ApprovalDecisionEndpoints
{
    /// <summary>
    /// Maps <c>POST /{id}/approve</c> and <c>POST /{id}/reject</c> on a resource group (operator scope);
    /// <paramref name="resource"/> is its path segment (<c>orders</c>), the scope its starts are kept under.
    /// </summary>
    public static RouteGroupBuilder MapApprovalDecisions<TWorkflow>(
        this RouteGroupBuilder group,
        string resourceName,
        string resource,
        Func<string, string> workflowId,
        Func<OperatorDecision, Expression<Func<TWorkflow, Task>>> approve,
        Func<OperatorDecision, Expression<Func<TWorkflow, Task>>> reject)
    {
        string? NotAwaiting(StoredRunState run) =>
            run.AwaitsApproval ? null : $"The {resourceName.ToLowerInvariant()} is not waiting for an approval (stage: {run.Stage}).";

        Task<Results<Accepted, NotFound, ProblemHttpResult>> Decide(
            string id, DecisionBody? body, ClaimsPrincipal user, WorkflowGateway workflows, Func<OperatorDecision, Expression<Func<TWorkflow, Task>>> signal, CancellationToken ct) =>
            workflows.SignalIfAsync(resource, id, workflowId(id), NotAwaiting, signal(new OperatorDecision(user.Identity!.Name!, body?.Reason)), ct);

        group.MapPost("/{id}/approve", (string id, DecisionBody? body, ClaimsPrincipal user, WorkflowGateway workflows, CancellationToken ct) =>
                Decide(id, body, user, workflows, approve, ct))
            .RequireAuthorization(ApiScopes.Operator)
            .WithName($"Approve{resourceName}")
            .WithSummary($"Approves a {resourceName.ToLowerInvariant()} waiting for an operator.");
        group.MapPost("/{id}/reject", (string id, DecisionBody? body, ClaimsPrincipal user, WorkflowGateway workflows, CancellationToken ct) =>
                Decide(id, body, user, workflows, reject, ct))
            .RequireAuthorization(ApiScopes.Operator)
            .WithName($"Reject{resourceName}")
            .WithSummary($"Rejects a {resourceName.ToLowerInvariant()} waiting for an operator; its compensations run.");
        return group;
    }
}

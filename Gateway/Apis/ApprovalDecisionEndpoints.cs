using System.Linq.Expressions;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Stateset.Gateway.Security;
using Stateset.Gateway.Workflows;
using Stateset.Workflows.Common;

namespace Stateset.Gateway.Apis;

/// <summary>
/// The approve and reject endpoints every approvable resource has: the decision is a signal carrying the API key's
/// name as who decided, sent only while the workflow's status shows a pending approval (409 otherwise).
/// </summary>
public static class ApprovalDecisionEndpoints
{
    /// <summary>Maps <c>POST /{id}/approve</c> and <c>POST /{id}/reject</c> on a resource group (operator scope).</summary>
    public static RouteGroupBuilder MapApprovalDecisions<TWorkflow, TStatus>(
        this RouteGroupBuilder group,
        string resourceName,
        Func<string, string> workflowId,
        Expression<Func<TWorkflow, TStatus>> statusQuery,
        Func<TStatus, (PendingApproval? Pending, string Stage)> approvalOf,
        Func<OperatorDecision, Expression<Func<TWorkflow, Task>>> approve,
        Func<OperatorDecision, Expression<Func<TWorkflow, Task>>> reject)
    {
        string? NotAwaiting(TStatus status)
        {
            var (pending, stage) = approvalOf(status);
            return pending is null ? $"The {resourceName.ToLowerInvariant()} is not waiting for an approval (stage: {stage})." : null;
        }

        Task<Results<Accepted, NotFound, ProblemHttpResult>> Decide(
            string id, DecisionBody? body, ClaimsPrincipal user, WorkflowGateway workflows, Func<OperatorDecision, Expression<Func<TWorkflow, Task>>> signal, CancellationToken ct) =>
            workflows.SignalIfAsync(workflowId(id), statusQuery, NotAwaiting, signal(new OperatorDecision(user.Identity!.Name!, body?.Reason)), ct);

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

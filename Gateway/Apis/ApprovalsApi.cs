using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Gateway.Security;

namespace Stateset.Gateway.Apis;

/// <summary>A request for a human decision and, once made, the decision.</summary>
public sealed record ApprovalItem(
    long Id,
    string WorkflowId,
    string SubjectType,
    string SubjectId,
    string RequestedReason,
    DateTime RequestedAt,
    DateTime? ExpiresAt,
    string? Decision,
    string? DecidedBy,
    DateTime? DecidedAt,
    string? DecisionReason);

/// <summary>The operators' approval queue, read from the <c>approvals</c> table the workflows write.</summary>
public static class ApprovalsApi
{
    private static readonly string[] Statuses = ["pending", "decided"];
    private static readonly string[] SubjectTypes = ["order", "refund", "return"];

    /// <summary>Maps <c>/approvals</c>.</summary>
    public static RouteGroupBuilder MapApprovalsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/approvals")
            .WithTags("Approvals")
            .RequireAuthorization(ApiScopes.Operator)
            .RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        group.MapGet("/", ListAsync)
            .WithName("ListApprovals")
            .WithSummary("Lists approvals, newest first: pending (the default) or decided, optionally of one subject type.");
        return group;
    }

    private static async Task<Results<Ok<PagedList<ApprovalItem>>, ValidationProblem>> ListAsync(
        string? status, string? subjectType, string? page, string? pageSize, NpgsqlDataSource database, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        status = QueryParameters.OneOf(status, "status", Statuses, errors) ?? "pending";
        subjectType = QueryParameters.OneOf(subjectType, "subjectType", SubjectTypes, errors);
        var (pageNumber, size) = QueryParameters.Paging(page, pageSize, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var filter = new { Pending = status == "pending", SubjectType = subjectType, Limit = size, Offset = (pageNumber - 1) * size };
        await using var connection = await database.OpenConnectionAsync(ct);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            SELECT count(*) FROM approvals
            WHERE (decision IS NULL) = @Pending AND (@SubjectType::text IS NULL OR subject_type = @SubjectType)
            """,
            filter,
            cancellationToken: ct));
        var items = await connection.QueryAsync<ApprovalItem>(new CommandDefinition(
            """
            SELECT id AS Id, workflow_id AS WorkflowId, subject_type AS SubjectType, subject_id AS SubjectId,
                   requested_reason AS RequestedReason, requested_at AS RequestedAt, expires_at AS ExpiresAt,
                   decision AS Decision, decided_by AS DecidedBy, decided_at AS DecidedAt, decision_reason AS DecisionReason
            FROM approvals
            WHERE (decision IS NULL) = @Pending AND (@SubjectType::text IS NULL OR subject_type = @SubjectType)
            ORDER BY requested_at DESC, id DESC
            LIMIT @Limit OFFSET @Offset
            """,
            filter,
            cancellationToken: ct));
        return TypedResults.Ok(new PagedList<ApprovalItem>(items.AsList(), pageNumber, size, total));
    }
}

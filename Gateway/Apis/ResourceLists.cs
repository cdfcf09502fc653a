using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Gateway.Security;
using Stateset.Gateway.Workflows;

namespace Stateset.Gateway.Apis;

/// <summary>One resource in a list: where to read it whole, its run in the Temporal UI, and its read-model row.</summary>
/// <param name="Id">The business id (order, refund, return or shipment id).</param>
/// <param name="Url">The resource's own GET.</param>
/// <param name="TemporalUiUrl">The run in the Temporal UI, when one is configured.</param>
/// <param name="Run">The run's read-model row.</param>
public sealed record ResourceListItem(string Id, string Url, string? TemporalUiUrl, RunItem Run);

/// <summary>A list's query string, taken as text so that a malformed value is a 400 naming it.</summary>
/// <param name="Status">The run's status (e.g. awaiting_approval, completed).</param>
/// <param name="CustomerId">The customer's id.</param>
/// <param name="From">Started at or after this instant.</param>
/// <param name="To">Started before this instant.</param>
/// <param name="Q">The resource's id, the customer's email, or a tracking number.</param>
/// <param name="Cursor">The nextCursor of the previous page.</param>
/// <param name="Limit">Items per page, 1 to 100 (default 25).</param>
public sealed record ListQuery(string? Status, string? CustomerId, string? From, string? To, string? Q, string? Cursor, string? Limit);

/// <summary>A keyset page of a list, newest first; <see cref="NextCursor"/> asks for the next one, null on the last.</summary>
public sealed record ResourcePage(IReadOnlyList<ResourceListItem> Items, string? NextCursor);

/// <summary>
/// <c>GET /orders</c>, <c>/refunds</c>, <c>/returns</c>, <c>/labels</c>: the runs of one workflow type from their
/// read-model rows, newest start first, with the filters of <c>/runs</c> plus a search and keyset paging (a page
/// deep in the list costs what the first one does, and rows started meanwhile do not shift it).
/// </summary>
internal static class ResourceLists
{
    /// <summary>Maps <c>GET /</c> of a resource group to the list of its runs.</summary>
    public static RouteHandlerBuilder MapResourceList(this RouteGroupBuilder group, string resource, string workflowType, string name) =>
        group.MapGet("/", ([AsParameters] ListQuery query, NpgsqlDataSource database, WorkflowGateway workflows, CancellationToken ct) =>
                ListAsync(resource, workflowType, query, database, workflows, ct))
            .RequireAuthorization(ApiScopes.ReadPolicy)
            .WithName(name)
            .WithSummary($"Lists {resource}, newest first, by status, customerId, start time (from inclusive, to exclusive) and q (the id, "
                + "the customer's email or a tracking number); limit (1 to 100, default 25) and nextCursor page through it.");

    private static async Task<Results<Ok<ResourcePage>, ValidationProblem>> ListAsync(
        string resource,
        string workflowType,
        ListQuery query,
        NpgsqlDataSource database,
        WorkflowGateway workflows,
        CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var runs = RunFilter.Parse(query.Status, query.CustomerId, query.From, query.To, errors);
        var search = QueryParameters.Text(query.Q, "q", errors, maxLength: 254);
        var after = QueryParameters.Cursor(query.Cursor, errors);
        var size = QueryParameters.Limit(query.Limit, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        await using var connection = await database.OpenConnectionAsync(ct);

        // One more row than the page tells whether another page follows.
        var rows = await RunReadModel.QueryWithRunIdsAsync(connection, new CommandDefinition(
            $"""
            SELECT {RunReadModel.Columns}
            FROM workflow_runs
            WHERE workflow_type = @WorkflowType AND {RunFilter.Where}
              AND (@Search::text IS NULL OR business_id = @Search OR details ->> 'trackingNumber' = @Search
                   OR customer_id IN (SELECT id FROM customers WHERE lower(email) = lower(@Search)))
              AND (@AfterStartedAt::timestamptz IS NULL OR (started_at, workflow_id) < (@AfterStartedAt, @AfterWorkflowId))
            ORDER BY started_at DESC, workflow_id DESC
            LIMIT @Limit
            """,
            new
            {
                WorkflowType = workflowType,
                runs.Status,
                runs.CustomerId,
                runs.From,
                runs.To,
                Search = search,
                AfterStartedAt = after is { } a ? new DateTimeOffset(a.StartedAt, TimeSpan.Zero) : (DateTimeOffset?)null,
                AfterWorkflowId = after?.WorkflowId,
                Limit = size + 1,
            },
            cancellationToken: ct));
        var page = rows.Take(size).Select(row => new ResourceListItem(
            row.Item.BusinessId, $"/{resource}/{row.Item.BusinessId}", workflows.TemporalUiUrl(row.Item.WorkflowId, row.RunId), row.Item)).ToList();
        var next = rows.Count > size ? QueryParameters.Cursor(page[^1].Run.StartedAt, page[^1].Run.WorkflowId) : null;
        return TypedResults.Ok(new ResourcePage(page, next));
    }
}

using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Gateway.Security;
using Stateset.Gateway.Workflows;

namespace Stateset.Gateway.Apis;

/// <summary>Lists and searches workflow runs from <c>workflow_runs</c>, the read model each workflow writes itself.</summary>
public static class RunsApi
{
    private static readonly string[] WorkflowTypes = ["OrderFulfillment", "RefundProcessing", "LabelPrinting", "ReturnAuthorization"];

    /// <summary>Maps <c>/runs</c>.</summary>
    public static RouteGroupBuilder MapRunsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/runs")
            .WithTags("Runs")
            .RequireAuthorization(ApiScopes.Client)
            .RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        group.MapGet("/", ListAsync)
            .WithName("ListRuns")
            .WithSummary("Lists workflow runs, newest start first, by type, status, customer and start time (from inclusive, to exclusive).");
        return group;
    }

    private static async Task<Results<Ok<PagedList<RunItem>>, ValidationProblem>> ListAsync(
        string? type,
        string? status,
        string? customerId,
        string? from,
        string? to,
        string? page,
        string? pageSize,
        NpgsqlDataSource database,
        CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        type = QueryParameters.OneOf(type, "type", WorkflowTypes, errors);
        var runs = RunFilter.Parse(status, customerId, from, to, errors);
        var (pageNumber, size) = QueryParameters.Paging(page, pageSize, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var filter = new
        {
            Type = type,
            runs.Status,
            runs.CustomerId,
            runs.From,
            runs.To,
            Limit = size,
            Offset = (pageNumber - 1) * size,
        };
        const string Where = $"WHERE (@Type::text IS NULL OR workflow_type = @Type) AND {RunFilter.Where}";
        await using var connection = await database.OpenConnectionAsync(ct);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT count(*) FROM workflow_runs {Where}", filter, cancellationToken: ct));
        var items = await RunReadModel.QueryAsync(connection, new CommandDefinition(
            $"""
            SELECT {RunReadModel.Columns}
            FROM workflow_runs
            {Where}
            ORDER BY started_at DESC, workflow_id
            LIMIT @Limit OFFSET @Offset
            """,
            filter,
            cancellationToken: ct));
        return TypedResults.Ok(new PagedList<RunItem>(items, pageNumber, size, total));
    }
}

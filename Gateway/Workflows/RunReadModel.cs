using System.Text.Json;
using Dapper;
using Npgsql;

namespace Stateset.Gateway.Workflows;

/// <summary>A workflow run as its read-model row (table <c>workflow_runs</c>, written by the workflow itself) shows it.</summary>
/// <param name="Details">
/// Small facts the run recorded for lists, such as its tracking number or why it failed: a JSON object of strings.
/// </param>
public sealed record RunItem(
    string WorkflowId,
    string WorkflowType,
    string BusinessId,
    string? CustomerId,
    string Status,
    string Stage,
    decimal? Amount,
    string? Currency,
    DateTime StartedAt,
    DateTime UpdatedAt,
    DateTime? ClosedAt,
    IReadOnlyDictionary<string, string> Details);

/// <summary>Reads <c>workflow_runs</c> rows as <see cref="RunItem"/>s, for the runs list and for closed runs' GETs alike.</summary>
internal static class RunReadModel
{
    /// <summary>The select list a query passed to <see cref="QueryAsync"/> must use.</summary>
    public const string Columns =
        """
        workflow_id AS WorkflowId, workflow_type AS WorkflowType, business_id AS BusinessId, customer_id AS CustomerId,
        status AS Status, stage AS Stage, amount AS Amount, currency AS Currency, started_at AS StartedAt,
        updated_at AS UpdatedAt, closed_at AS ClosedAt, details::text AS Details, run_id AS RunId
        """;

    /// <summary>
    /// A row's answer to a resource GET, as JSON text: the status view its workflow stored, over the row's own facts
    /// (the view wins where both name a field, such as status and stage), so one shape serves live and closed runs.
    /// Times are written as UTC instants ending in Z whatever the session's time zone.
    /// </summary>
    public const string StatusView =
        """
        (jsonb_build_object(
            'workflowId', workflow_id, 'workflowType', workflow_type, 'businessId', business_id, 'customerId', customer_id,
            'status', status, 'stage', stage, 'amount', amount, 'currency', currency,
            'startedAt', to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'updatedAt', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'closedAt', to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'details', details) || coalesce(view, '{}'::jsonb))::text
        """;

    /// <summary>Runs a query that selects <see cref="Columns"/>.</summary>
    public static async Task<List<RunItem>> QueryAsync(NpgsqlConnection connection, CommandDefinition query) =>
        (await connection.QueryAsync<Row>(query)).Select(row => row.ToItem()).ToList();

    /// <summary>Runs a query that selects <see cref="Columns"/>; each item comes with the Temporal run id that last wrote it.</summary>
    public static async Task<List<(RunItem Item, string? RunId)>> QueryWithRunIdsAsync(NpgsqlConnection connection, CommandDefinition query) =>
        (await connection.QueryAsync<Row>(query)).Select(row => (row.ToItem(), row.RunId)).ToList();

    // Dapper receives jsonb as text; handing that text on would answer a string inside the JSON. The workflows
    // write string-valued facts only (IReadModelActivities' WorkflowRunUpdate.Details), so that is the type here.
    private sealed record Row(
        string WorkflowId,
        string WorkflowType,
        string BusinessId,
        string? CustomerId,
        string Status,
        string Stage,
        decimal? Amount,
        string? Currency,
        DateTime StartedAt,
        DateTime UpdatedAt,
        DateTime? ClosedAt,
        string Details,
        string? RunId)
    {
        public RunItem ToItem() => new(
            WorkflowId,
            WorkflowType,
            BusinessId,
            CustomerId,
            Status,
            Stage,
            Amount,
            Currency,
            StartedAt,
            UpdatedAt,
            ClosedAt,
            JsonSerializer.Deserialize<Dictionary<string, string>>(Details) ?? []);
    }
}

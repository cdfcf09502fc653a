using System.Linq.Expressions;
using System.Security.Claims;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.ServiceDefaults;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Stateset.Gateway.Workflows;

/// <summary>A started (or already started) business process.</summary>
/// <param name="Id">The business id (order, refund, return or shipment id).</param>
/// <param name="StatusUrl">Where its status is read.</param>
/// <param name="TemporalUiUrl">The run in the Temporal UI, when one is configured (<c>Temporal:UiUrl</c>).</param>
public sealed record StartedResource(string Id, string WorkflowId, string? RunId, string StatusUrl, string? TemporalUiUrl);

/// <summary>A business process as read from its read-model row, which its workflow writes with every step.</summary>
/// <param name="Live">True while the run is open; false once it has closed.</param>
/// <param name="Version">Grows with every write of the run; a bigger version is newer (also the <c>ETag</c>).</param>
/// <param name="Status">
/// The run's status view (what its status query answered when it last wrote the row) together with the row's facts
/// (a <see cref="RunItem"/>); a row written before status views were stored carries the row's facts only.
/// </param>
public sealed record ResourceView(string Id, string WorkflowId, bool Live, long Version, object Status)
{
    /// <summary>Gets the run in the Temporal UI, when one is configured (<c>Temporal:UiUrl</c>).</summary>
    public string? TemporalUiUrl { get; init; }
}

/// <summary>
/// What every resource API does with Temporal: start a workflow once per idempotency key, read a resource from
/// the workflow or the read model, and deliver an operator's signal only while the workflow waits for it.
/// </summary>
public sealed class WorkflowGateway(ITemporalClient temporal, TemporalSettings settings, IdempotentStarts starts, NpgsqlDataSource database, IConfiguration configuration)
{
    /// <summary>The header carrying the client's idempotency key.</summary>
    public const string IdempotencyHeader = "Idempotency-Key";

    /// <summary>Gets the Temporal client.</summary>
    public ITemporalClient Temporal => temporal;

    /// <summary>
    /// Starts <typeparamref name="TWorkflow"/> for a validated request, once per idempotency key: the same key and
    /// body answer the same resource; the same key with another body, or a business id another key claimed, is 409.
    /// </summary>
    public async Task<Results<Accepted<StartedResource>, ValidationProblem, ProblemHttpResult>> StartAsync<TWorkflow, TResult>(
        HttpContext http,
        string resource,
        string idPrefix,
        object request,
        string? requestedId,
        Func<string, string> workflowId,
        Func<string, Expression<Func<TWorkflow, Task<TResult>>>> run)
    {
        var key = http.Request.Headers[IdempotencyHeader].ToString();
        if (key.Length is 0 or > 200)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [IdempotencyHeader] = ["An Idempotency-Key header of 1 to 200 characters is required on start requests."],
            });
        }

        var client = http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? "anonymous";
        var claim = await starts.ClaimAsync(client, resource, key, request, requestedId, idPrefix, workflowId, http.RequestAborted);
        switch (claim)
        {
            case StartClaim.KeyReused:
                return TypedResults.Problem("This Idempotency-Key was already used with a different request body.", statusCode: StatusCodes.Status409Conflict, title: "Idempotency key reused");
            case StartClaim.ResourceTaken taken:
                return TypedResults.Problem($"{taken.ResourceId} was already started by another request.", statusCode: StatusCodes.Status409Conflict, title: "Already exists");
        }

        var id = ((StartClaim.Owned)claim).ResourceId;
        var options = new WorkflowOptions(workflowId(id), settings.TaskQueue)
        {
            // A retry of the same request (or a race with it) joins the run the first one started, and learns its id.
            IdConflictPolicy = WorkflowIdConflictPolicy.UseExisting,
            IdReusePolicy = WorkflowIdReusePolicy.RejectDuplicate,
            Rpc = new() { CancellationToken = http.RequestAborted },
        };
        string? runId;
        try
        {
            var handle = await temporal.StartWorkflowAsync(run(id), options);
            runId = handle.ResultRunId;
        }
        catch (WorkflowAlreadyStartedException e)
        {
            // Closed already (the retry came after the run finished): the same resource, not a new one.
            runId = e.RunId;
        }

        var started = new StartedResource(id, workflowId(id), runId, $"/{resource}/{id}", TemporalUiUrl(workflowId(id), runId));
        return TypedResults.Accepted(started.StatusUrl, started);
    }

    /// <summary>
    /// The GET of a resource: validates its id, then answers from the run's read-model row alone (404 when there is
    /// none yet), live or closed, never asking the workflow. The row holds the status view the workflow wrote with
    /// its last step, merged over the row's own facts (workflow id and type, amounts, times, details).
    /// </summary>
    public async Task<Results<StoredResourceView, NotFound, ValidationProblem>> GetAsync(
        string resource, string idField, string id, Func<string, string> workflowId, CancellationToken ct)
    {
        var check = new Validation.RequestValidator().Id(idField, id);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        var view = await ReadAsync(resource, id, workflowId(id), ct);
        return view is null ? TypedResults.NotFound() : view;
    }

    /// <summary>
    /// Reads a resource's stored view from its read-model row. Between a start's 202 and the run's first write (a
    /// few milliseconds) there is no row yet: a resource this gateway started then answers as just started, version
    /// 0, rather than 404 to the client that follows the 202's Location. Null when nothing is known of it.
    /// </summary>
    public async Task<StoredResourceView?> ReadAsync(string resource, string id, string workflowId, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<StoredRow>(new CommandDefinition(
            $"SELECT version AS Version, closed_at IS NULL AS Live, run_id AS RunId, {RunReadModel.StatusView} AS Status FROM workflow_runs WHERE workflow_id = @workflowId",
            new { workflowId },
            cancellationToken: ct));
        row ??= await connection.QuerySingleOrDefaultAsync<StoredRow>(new CommandDefinition(
            """
            SELECT 0::bigint AS Version, true AS Live, NULL::text AS RunId,
                   jsonb_build_object('workflowId', workflow_id, 'businessId', resource_id, 'status', 'started', 'stage', 'starting',
                                      'timeline', '[]'::jsonb, 'compensationsRun', '[]'::jsonb, 'details', '{}'::jsonb,
                                      'startedAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text AS Status
            FROM idempotent_starts WHERE scope = @resource AND resource_id = @id AND workflow_id = @workflowId
            """,
            new { resource, id, workflowId },
            cancellationToken: ct));
        return row is null ? null : new StoredResourceView(id, workflowId, row.Live, row.Version, row.Status, TemporalUiUrl(workflowId, row.RunId));
    }

    /// <summary>
    /// Sends an operator's signal if the workflow, asked through its status query, waits for that decision now;
    /// otherwise 409. A race where the state changes in between is harmless: the workflow ignores a late signal.
    /// </summary>
    public async Task<Results<Accepted, NotFound, ProblemHttpResult>> SignalIfAsync<TWorkflow, TStatus>(
        string workflowId,
        Expression<Func<TWorkflow, TStatus>> statusQuery,
        Func<TStatus, string?> refusal,
        Expression<Func<TWorkflow, Task>> signal,
        CancellationToken ct)
    {
        var handle = temporal.GetWorkflowHandle<TWorkflow>(workflowId);
        string? closedRunId;
        try
        {
            var description = await handle.DescribeAsync(new() { Rpc = new() { CancellationToken = ct } });
            closedRunId = description.RunId;
            if (description.Status != WorkflowExecutionStatus.Running)
            {
                return TypedResults.Problem("The process has finished; there is nothing left to decide.", statusCode: StatusCodes.Status409Conflict, title: "Not waiting");
            }

            var status = await handle.QueryAsync(statusQuery, new() { Rpc = new() { CancellationToken = ct } });
            if (refusal(status) is { } why)
            {
                return TypedResults.Problem(why, statusCode: StatusCodes.Status409Conflict, title: "Not waiting");
            }

            await handle.SignalAsync(signal, new() { Rpc = new() { CancellationToken = ct } });
            return TypedResults.Accepted((string?)null);
        }
        catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
        {
            return TypedResults.NotFound();
        }
    }

    /// <summary>The run in the Temporal UI, when one is configured (<c>Temporal:UiUrl</c>).</summary>
    internal string? TemporalUiUrl(string workflowId, string? runId) =>
        configuration["Temporal:UiUrl"] is { Length: > 0 } ui
            ? $"{ui.TrimEnd('/')}/namespaces/{Uri.EscapeDataString(settings.Namespace)}/workflows/{Uri.EscapeDataString(workflowId)}" + (runId is null ? string.Empty : $"/{runId}")
            : null;

    private sealed record StoredRow(long Version, bool Live, string? RunId, string Status);
}

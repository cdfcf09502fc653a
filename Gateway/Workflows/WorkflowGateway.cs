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

/// <summary>What a run's read-model row says of it, as much as deciding whether a signal is awaited needs.</summary>
/// <param name="Live">The run is open.</param>
/// <param name="Stage">Its stage as its status view last stored it.</param>
/// <param name="AwaitsApproval">Its view shows a pending approval.</param>
/// <param name="Shipped">Its view shows the parcel shipped.</param>
public sealed record StoredRunState(bool Live, string Stage, bool AwaitsApproval, bool Shipped);

/// <summary>
/// What every resource API does with Temporal: start a workflow once per idempotency key, read a resource from
/// the read model, and deliver a signal only while the read model says the workflow waits for it.
/// </summary>
public sealed class WorkflowGateway(ITemporalClient temporal, TemporalSettings settings, IdempotentStarts starts, NpgsqlDataSource database, IConfiguration configuration)
{
    // Read once: asking the configuration walks every provider, and each start and read names the UI.
    private readonly string? _temporalUi = configuration["Temporal:UiUrl"] is { Length: > 0 } ui
        ? $"{ui.TrimEnd('/')}/namespaces/{Uri.EscapeDataString(settings.Namespace)}"
        : null;

    /// <summary>The header carrying the client's idempotency key.</summary>
    public const string IdempotencyHeader = "Idempotency-Key";

    /// <summary>The title of the 409 a signal gets when its run does not wait for it (clients, like the load generator, match on it).</summary>
    public const string NotWaitingTitle = "Not waiting";

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
        var claim = await starts.ClaimAsync(client, resource, key, request, requestedId, idPrefix, workflowId);
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

            // Not cancelled when the client goes away: its claim stands and its retry joins this run anyway, and a
            // cancellable RPC costs the SDK a native cancellation token and a registration per start.
        };
        string? runId;
        try
        {
            var handle = await temporal.StartAsync(run(id), options);
            runId = handle.ResultRunId;
        }
        catch (WorkflowAlreadyStartedException e)
        {
            // Closed already (the retry came after the run finished): the same resource, not a new one.
            runId = e.RunId;
        }

        var started = new StartedResource(id, options.Id!, runId, $"/{resource}/{id}", TemporalUiUrl(options.Id!, runId));
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
    /// Sends a signal if the run's read-model row says the run waits for it; otherwise 409 (404 when nothing is known
    /// of the run). The row is the one <c>GET /{resource}/{id}</c> answers from, and the workflow writes it where it
    /// starts to wait (after opening the wait), so one SQL read and one signal replace asking the workflow, which
    /// costs a workflow task per question and times out with many runs open.
    /// </summary>
    /// <remarks>
    /// The row may be a step behind the run. A signal that finds the run moved on is recorded by the workflow as
    /// ignored (every handler checks its own state), so it cannot move a run backwards or leave it stuck; a run
    /// that closed since the read answers 409, as a closed row does.
    /// </remarks>
    public async Task<Results<Accepted, NotFound, ProblemHttpResult>> SignalIfAsync<TWorkflow>(
        string resource,
        string id,
        string workflowId,
        Func<StoredRunState, string?> refusal,
        Expression<Func<TWorkflow, Task>> signal,
        CancellationToken ct)
    {
        var state = await StateAsync(resource, id, workflowId, ct);
        if (state is null)
        {
            return TypedResults.NotFound();
        }

        if (!state.Live)
        {
            return Finished();
        }

        if (refusal(state) is { } why)
        {
            return TypedResults.Problem(why, statusCode: StatusCodes.Status409Conflict, title: NotWaitingTitle);
        }

        var signalled = await SignalAsync(workflowId, signal, ct);
        return signalled.Result switch
        {
            Accepted accepted => accepted,
            _ => (ProblemHttpResult)signalled.Result,
        };
    }

    /// <summary>
    /// Sends a signal the caller already checked against SQL: 202, or 409 when the run closed in the meantime (or
    /// is no longer in Temporal at all), which is what a closed read-model row answers too.
    /// </summary>
    public async Task<Results<Accepted, ProblemHttpResult>> SignalAsync<TWorkflow>(string workflowId, Expression<Func<TWorkflow, Task>> signal, CancellationToken ct)
    {
        try
        {
            await temporal.SignalAsync(workflowId, signal, new() { Rpc = new() { CancellationToken = ct } });
            return TypedResults.Accepted((string?)null);
        }
        catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
        {
            return Finished();
        }
    }

    /// <summary>
    /// What a run's read-model row says of it now; before the run's first write (a few milliseconds after a start
    /// this gateway made) it is live and starting. Null when nothing is known of the run.
    /// </summary>
    public async Task<StoredRunState?> StateAsync(string resource, string id, string workflowId, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var state = await connection.QuerySingleOrDefaultAsync<StoredRunState>(new CommandDefinition(
            """
            SELECT closed_at IS NULL AS Live, coalesce(view->>'stage', stage) AS Stage,
                   coalesce(jsonb_typeof(view->'pendingApproval') = 'object', false) AS AwaitsApproval,
                   view #>> '{shipment,shippedAt}' IS NOT NULL AS Shipped
            FROM workflow_runs WHERE workflow_id = @workflowId
            """,
            new { workflowId },
            cancellationToken: ct));
        return state ?? (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM idempotent_starts WHERE scope = @resource AND resource_id = @id AND workflow_id = @workflowId)",
            new { resource, id, workflowId },
            cancellationToken: ct))
            ? new StoredRunState(Live: true, Stage: "starting", AwaitsApproval: false, Shipped: false)
            : null);
    }

    /// <summary>The run in the Temporal UI, when one is configured (<c>Temporal:UiUrl</c>).</summary>
    internal string? TemporalUiUrl(string workflowId, string? runId) =>
        _temporalUi is { } ui
            ? $"{ui}/workflows/{Uri.EscapeDataString(workflowId)}" + (runId is null ? string.Empty : $"/{runId}")
            : null;

    private static ProblemHttpResult Finished() =>
        TypedResults.Problem("The process has finished; there is nothing left to decide.", statusCode: StatusCodes.Status409Conflict, title: NotWaitingTitle);

    private sealed record StoredRow(long Version, bool Live, string? RunId, string Status);
}

using System.Diagnostics.Metrics;
using System.Text.Json;
using Dapper;
using Npgsql;
using Stateset.Activities.Outbox;
using Stateset.Activities.Steps;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Activities.ReadModels;

/// <summary>
/// The workflows' read-model rows and approval records. Updates are ordered by the workflow's own sequence
/// number, so retries and late duplicates never move a row backwards; each change writes its outbox event, which
/// is what the gateway's status stream (LISTEN/NOTIFY) pushes. The row also keeps the run's whole status view,
/// which is what the gateway answers <c>GET /{resource}/{id}</c> with: the version guard keeps it the newest one.
/// </summary>
public sealed class ReadModelActivities(NpgsqlDataSource dataSource) : IReadModelActivities
{
    private static readonly HashSet<string> SubjectTypes = new(StringComparer.Ordinal) { "order", "refund", "return" };
    private static readonly HashSet<string> Decisions = new(StringComparer.Ordinal) { "approved", "rejected", "expired" };

    // Published under the business meter the hosts export ("Stateset.Workflows"); recorded here because only
    // this step knows both when the approval was requested and when it was decided, and runs once per decision.
    private static readonly Histogram<double> ApprovalWait = new Meter("Stateset.Workflows").CreateHistogram<double>(
        "stateset.approval.wait", "s", "Time from an approval request to the operator's decision.");

    /// <inheritdoc />
    [Activity]
    public async Task<bool> UpsertWorkflowRunAsync(WorkflowRunUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (!await UpsertRunAsync(transaction, update, ct))
        {
            return false;
        }

        await transaction.CommitAsync(ct);
        return true;
    }

    /// <inheritdoc />
    [Activity]
    public async Task RecordStepAsync(StepRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await StepRecordWriter.ApplyAsync(transaction, record, ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>Advances the run's row inside the caller's transaction and writes <c>workflow.updated</c> when it moved.</summary>
    /// <returns>False when the row already held this or a newer version (a retry or an out-of-order write): nothing was written.</returns>
    internal static async Task<bool> UpsertRunAsync(NpgsqlTransaction transaction, WorkflowRunUpdate update, CancellationToken ct)
    {
        BusinessFailure.RequireId(update.WorkflowId, "Workflow id");
        BusinessFailure.RequireId(update.WorkflowType, "Workflow type");
        BusinessFailure.RequireId(update.BusinessId, "Business id");
        BusinessFailure.RequireId(update.Status, "Status");
        BusinessFailure.RequireId(update.Stage, "Stage");
        var currency = update.Currency is null ? null : BusinessFailure.RequireCurrency(update.Currency);
        var occurredAt = update.OccurredAt.ToUniversalTime();
        return await OutboxWriter.AppendIfChangedAsync(
            transaction,
            """
            INSERT INTO workflow_runs (workflow_id, workflow_type, business_id, customer_id, status, stage, amount, currency, version,
                                       started_at, updated_at, closed_at, details, view, run_id)
            VALUES (@WorkflowId, @WorkflowType, @BusinessId, @CustomerId, @Status, @Stage, @Amount, @Currency, @Sequence,
                    @OccurredAt, @OccurredAt, CASE WHEN @Closed THEN @OccurredAt END, @Details::jsonb, @View::jsonb, @RunId)
            ON CONFLICT (workflow_id) DO UPDATE
            SET status = EXCLUDED.status,
                view = coalesce(EXCLUDED.view, workflow_runs.view),
                run_id = coalesce(EXCLUDED.run_id, workflow_runs.run_id),
                stage = EXCLUDED.stage,
                customer_id = coalesce(EXCLUDED.customer_id, workflow_runs.customer_id),
                amount = coalesce(EXCLUDED.amount, workflow_runs.amount),
                currency = coalesce(EXCLUDED.currency, workflow_runs.currency),
                version = EXCLUDED.version,
                updated_at = EXCLUDED.updated_at,
                closed_at = coalesce(EXCLUDED.closed_at, workflow_runs.closed_at),
                details = workflow_runs.details || EXCLUDED.details
            WHERE workflow_runs.version < EXCLUDED.version
            RETURNING 1
            """,
            new
            {
                update.WorkflowId,
                update.WorkflowType,
                update.BusinessId,
                update.CustomerId,
                update.Status,
                update.Stage,
                update.Amount,
                Currency = currency,
                update.Sequence,
                OccurredAt = occurredAt,
                update.Closed,
                Details = JsonSerializer.Serialize(update.Details ?? new Dictionary<string, string>()),
                View = update.View is { ValueKind: JsonValueKind.Object } view ? view.GetRawText() : null,
                update.RunId,
            },
            "workflow",
            update.WorkflowId,
            "workflow.updated",
            update,
            ct);
    }

    /// <inheritdoc />
    [Activity]
    public async Task RequestApprovalAsync(ApprovalRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateSubject(request.WorkflowId, request.SubjectType, request.SubjectId);
        BusinessFailure.RequireId(request.Reason, "Reason");
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO approvals (workflow_id, subject_type, subject_id, requested_reason, requested_at, expires_at)
            VALUES (@WorkflowId, @SubjectType, @SubjectId, @Reason, @RequestedAt, @ExpiresAt)
            ON CONFLICT (workflow_id, subject_type, subject_id) DO NOTHING
            """,
            new
            {
                request.WorkflowId,
                request.SubjectType,
                request.SubjectId,
                request.Reason,
                RequestedAt = request.RequestedAt.ToUniversalTime(),
                ExpiresAt = request.ExpiresAt?.ToUniversalTime(),
            },
            transaction,
            cancellationToken: ct));
        if (inserted == 1)
        {
            await OutboxWriter.AppendAsync(transaction, request.SubjectType, request.SubjectId, "approval.requested", request, ct);
        }

        await StepRecordWriter.ApplyAsync(transaction, request.Record, ct);
        await transaction.CommitAsync(ct);
    }

    /// <inheritdoc />
    [Activity]
    public async Task RecordApprovalDecisionAsync(ApprovalDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ValidateSubject(decision.WorkflowId, decision.SubjectType, decision.SubjectId);
        BusinessFailure.RequireId(decision.DecidedBy, "Decided by");
        if (!Decisions.Contains(decision.Decision))
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"Decision must be approved, rejected or expired, got '{decision.Decision}'.");
        }

        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var current = await connection.QueryFirstOrDefaultAsync<(long Id, string? Decision, DateTime RequestedAt)>(new CommandDefinition(
            "SELECT id, decision, requested_at FROM approvals WHERE workflow_id = @WorkflowId AND subject_type = @SubjectType AND subject_id = @SubjectId FOR UPDATE",
            new { decision.WorkflowId, decision.SubjectType, decision.SubjectId },
            transaction,
            cancellationToken: ct));
        if (current.Id == 0)
        {
            throw BusinessFailure.Create(
                CommerceErrorTypes.NotFound, $"No approval was requested for {decision.SubjectType} {decision.SubjectId} in workflow {decision.WorkflowId}.");
        }

        if (current.Decision == decision.Decision)
        {
            // A retry after the commit: the decision and its record were written together.
            return;
        }

        if (current.Decision is not null)
        {
            throw BusinessFailure.Create(
                CommerceErrorTypes.InvalidState, $"The approval for {decision.SubjectType} {decision.SubjectId} was already {current.Decision}.");
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE approvals SET decision = @Decision, decided_by = @DecidedBy, decided_at = @DecidedAt, decision_reason = @Reason
            WHERE id = @Id
            """,
            new { current.Id, decision.Decision, decision.DecidedBy, DecidedAt = decision.DecidedAt.ToUniversalTime(), decision.Reason },
            transaction,
            cancellationToken: ct));
        await OutboxWriter.AppendAsync(transaction, decision.SubjectType, decision.SubjectId, "approval.decided", decision, ct);
        await StepRecordWriter.ApplyAsync(transaction, decision.Record, ct);
        await transaction.CommitAsync(ct);
        ApprovalWait.Record(
            (decision.DecidedAt.UtcDateTime - current.RequestedAt.ToUniversalTime()).TotalSeconds,
            new KeyValuePair<string, object?>("subject.type", decision.SubjectType),
            new KeyValuePair<string, object?>("decision", decision.Decision));
    }

    private static void ValidateSubject(string workflowId, string subjectType, string subjectId)
    {
        BusinessFailure.RequireId(workflowId, "Workflow id");
        BusinessFailure.RequireId(subjectId, "Subject id");
        if (!SubjectTypes.Contains(subjectType))
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"Subject type must be order, refund or return, got '{subjectType}'.");
        }
    }
}

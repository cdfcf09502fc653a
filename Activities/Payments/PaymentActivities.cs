using Dapper;
using Npgsql;
using Stateset.Activities.Outbox;
using Stateset.Activities.Steps;
using Stateset.Workflows.Activities;
using Temporalio.Activities;
using Temporalio.Exceptions;

namespace Stateset.Activities.Payments;

/// <summary>
/// Payments at the provider, recorded in PostgreSQL. Authorisations and refunds complete asynchronously: the
/// activity stores its attempt's task token with the record, asks the provider, and throws
/// <see cref="CompleteAsyncException"/>; <see cref="PaymentWebhookProcessor"/> completes it when the provider's
/// signed webhook settles the outcome. Provider idempotency keys are derived from our ids, and state changes are
/// conditional updates (<c>WHERE status = …</c>), so retries and concurrent duplicates act once.
/// </summary>
public sealed class PaymentActivities(NpgsqlDataSource dataSource, IPaymentProvider provider) : IPaymentActivities
{
    /// <inheritdoc />
    [Activity]
    public async Task<PaymentAuthorization> AuthorizePaymentAsync(AuthorizePaymentInput input)
    {
        var ct = ActivityCancellation.Token;
        var opened = await OpenPaymentAsync(input, ActivityExecutionContext.Current.Info.TaskToken, ct);
        if (opened.Settled is { } settled)
        {
            return settled;
        }

        await RequestAuthorizationAsync(input, opened.Currency, ct);
        throw new CompleteAsyncException();
    }

    /// <inheritdoc />
    [Activity]
    public async Task<PaymentAuthorizationRequested> CreatePaymentAuthorizationAsync(AuthorizePaymentInput input)
    {
        var ct = ActivityCancellation.Token;
        var opened = await OpenPaymentAsync(input, taskToken: null, ct);
        if (opened.Settled is { } settled)
        {
            return new PaymentAuthorizationRequested(settled.PaymentId, settled.ProviderPaymentId, "authorized");
        }

        var created = await RequestAuthorizationAsync(input, opened.Currency, ct);
        return new PaymentAuthorizationRequested(PaymentIds.ForOrder(input.OrderId), created.Id, "pending");
    }

    /// <inheritdoc />
    [Activity]
    public async Task<PaymentAuthorization> AwaitPaymentAuthorizationAsync(string paymentId)
    {
        BusinessFailure.RequireId(paymentId, "Payment id");
        var ct = ActivityCancellation.Token;
        var info = ActivityExecutionContext.Current.Info;
        var known = await ReadPaymentAsync(paymentId, ct);
        if (info.Attempt > 1 && known.Status == "pending" && known.ProviderPaymentId is { } providerPaymentId)
        {
            // The previous attempt waited its whole slot without a webhook: ask the provider instead of waiting on.
            var current = await provider.GetPaymentAsync(providerPaymentId, ct);
            var verdict = current.Status switch
            {
                "requires_capture" or "succeeded" => "authorized",
                "declined" => "declined",
                "canceled" => "failed",
                _ => null,
            };
            if (verdict is not null)
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                await PaymentSettlements.SettlePaymentAsync(
                    connection, paymentId, verdict, current.Id, current.FailureCode ?? current.Status, current.FailureMessage, ct);
            }
        }

        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            // Under the row lock: a webhook settling now either commits first (and is seen here) or finds this token.
            var payment = await LockPaymentAsync(transaction, paymentId, ct);
            if (SettledAuthorization(paymentId, payment) is { } settled)
            {
                return settled;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE payments SET task_token = @TaskToken, updated_at = now() WHERE id = @PaymentId",
                new { info.TaskToken, PaymentId = paymentId },
                transaction,
                cancellationToken: ct));
            await transaction.CommitAsync(ct);
        }

        throw new CompleteAsyncException();
    }

    /// <inheritdoc />
    [Activity]
    public async Task<PaymentCapture> CapturePaymentAsync(CapturePaymentInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        BusinessFailure.RequireId(input.PaymentId, "Payment id");
        var ct = ActivityCancellation.Token;
        var payment = await ReadPaymentAsync(input.PaymentId, ct);
        var amount = input.Amount ?? payment.Amount;
        BusinessFailure.RequireAmount(amount, payment.Currency, "Capture amount");
        if (amount > payment.Amount)
        {
            throw BusinessFailure.Create(
                CommerceErrorTypes.InvalidAmount, $"Cannot capture {amount} {payment.Currency}; payment {input.PaymentId} authorised {payment.Amount}.");
        }

        switch (payment.Status)
        {
            case "captured" or "partially_refunded" or "refunded":
                return new PaymentCapture(input.PaymentId, payment.CapturedAmount, payment.Currency);
            case not "authorized":
                throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"Payment {input.PaymentId} is {payment.Status}; only an authorised payment can be captured.");
        }

        try
        {
            await provider.CaptureAsync(payment.ProviderPaymentId!, amount, payment.Currency, $"{input.PaymentId}:capture", ct);
        }
        catch (PaymentRequestRejectedException rejected)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"The payment provider refused to capture {input.PaymentId}: {rejected.Message}");
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var captured = await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE payments SET status = 'captured', captured_amount = @Amount, captured_at = now(), updated_at = now()
            WHERE id = @PaymentId AND status = 'authorized'
            """,
            new { input.PaymentId, Amount = amount },
            transaction,
            cancellationToken: ct));
        if (captured == 1)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO ledger_entries (idempotency_key, order_id, payment_id, kind, amount, currency)
                VALUES (@Key, @OrderId, @PaymentId, 'capture', @Amount, @Currency)
                ON CONFLICT (idempotency_key) DO NOTHING
                """,
                new { Key = $"{input.PaymentId}:capture", payment.OrderId, input.PaymentId, Amount = amount, payment.Currency },
                transaction,
                cancellationToken: ct));
            await OutboxWriter.AppendAsync(
                transaction, "payment", input.PaymentId, "payment.captured", new { input.PaymentId, payment.OrderId, Amount = amount, payment.Currency }, ct);
        }

        await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
        await transaction.CommitAsync(ct);
        return new PaymentCapture(input.PaymentId, amount, payment.Currency);
    }

    /// <inheritdoc />
    [Activity]
    public async Task VoidPaymentAsync(string paymentId)
    {
        BusinessFailure.RequireId(paymentId, "Payment id");
        var ct = ActivityCancellation.Token;
        var payment = await ReadPaymentAsync(paymentId, ct);
        switch (payment.Status)
        {
            case "voided" or "declined" or "failed":
                return;
            case "captured" or "partially_refunded" or "refunded":
                throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"Payment {paymentId} is already captured; refund it instead of voiding.");
        }

        if (payment.ProviderPaymentId is { } providerPaymentId)
        {
            try
            {
                await provider.VoidAsync(providerPaymentId, $"{paymentId}:void", ct);
            }
            catch (PaymentRequestRejectedException rejected)
            {
                throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"The payment provider refused to void {paymentId}: {rejected.Message}");
            }
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var voided = await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE payments SET status = 'voided', voided_at = now(), task_token = NULL, updated_at = now()
            WHERE id = @PaymentId AND status IN ('pending', 'authorized')
            """,
            new { PaymentId = paymentId },
            transaction,
            cancellationToken: ct));
        if (voided == 1)
        {
            await OutboxWriter.AppendAsync(transaction, "payment", paymentId, "payment.voided", new { PaymentId = paymentId, payment.OrderId }, ct);
        }

        await transaction.CommitAsync(ct);
    }

    /// <inheritdoc />
    [Activity]
    public async Task<RefundableAmount> GetRefundableAmountAsync(string paymentId)
    {
        BusinessFailure.RequireId(paymentId, "Payment id");
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var payment = await connection.QueryFirstOrDefaultAsync<RefundableRow>(new CommandDefinition(
            """
            SELECT p.order_id AS OrderId, p.captured_amount AS Captured,
                   coalesce((SELECT sum(amount) FROM refunds r WHERE r.payment_id = p.id AND r.status IN ('pending', 'succeeded')), 0) AS Refunded,
                   p.currency
            FROM payments p WHERE p.id = @PaymentId
            """,
            new { PaymentId = paymentId },
            cancellationToken: ct))
            ?? throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Payment {paymentId} does not exist.");
        return new RefundableAmount(paymentId, payment.OrderId, payment.Captured, payment.Refunded, payment.Captured - payment.Refunded, payment.Currency);
    }

    /// <inheritdoc />
    [Activity]
    public async Task<RefundSettlement> RefundPaymentAsync(RefundPaymentInput input)
    {
        var ct = ActivityCancellation.Token;
        var opened = await OpenRefundAsync(input, ActivityExecutionContext.Current.Info.TaskToken, ct);
        if (opened.Settled is { } settled)
        {
            return settled;
        }

        await RequestRefundAsync(input, opened.Currency, opened.ProviderPaymentId, ct);
        throw new CompleteAsyncException();
    }

    /// <inheritdoc />
    [Activity]
    public async Task<RefundRequested> CreateRefundAsync(RefundPaymentInput input)
    {
        var ct = ActivityCancellation.Token;
        var opened = await OpenRefundAsync(input, taskToken: null, ct);
        if (opened.Settled is { } settled)
        {
            return new RefundRequested(input.RefundId, input.PaymentId, settled.ProviderRefundId, "succeeded");
        }

        var created = await RequestRefundAsync(input, opened.Currency, opened.ProviderPaymentId, ct);
        return new RefundRequested(input.RefundId, input.PaymentId, created.Id, "pending");
    }

    /// <inheritdoc />
    [Activity]
    public async Task<RefundSettlement> AwaitRefundSettlementAsync(string refundId)
    {
        BusinessFailure.RequireId(refundId, "Refund id");
        var ct = ActivityCancellation.Token;
        var info = ActivityExecutionContext.Current.Info;
        if (info.Attempt > 1)
        {
            // The previous attempt waited its whole slot without a webhook: ask the provider instead of waiting on.
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var known = await connection.QueryFirstOrDefaultAsync<(string Status, string? ProviderRefundId)>(new CommandDefinition(
                "SELECT status, provider_refund_id FROM refunds WHERE id = @RefundId", new { RefundId = refundId }, cancellationToken: ct));
            if (known.Status == "pending" && known.ProviderRefundId is { } providerRefundId)
            {
                var current = await provider.GetRefundAsync(providerRefundId, ct);
                if (current.Status is "succeeded" or "failed")
                {
                    await PaymentSettlements.SettleRefundAsync(connection, refundId, current.Status == "succeeded", current.Id, current.FailureReason, ct);
                }
            }
        }

        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            // Under the row lock: a webhook settling now either commits first (and is seen here) or finds this token.
            var refund = await connection.QueryFirstOrDefaultAsync<(string Status, decimal Amount, string Currency, string? ProviderRefundId, string? Failure)>(
                new CommandDefinition(
                    "SELECT status, amount, currency, provider_refund_id, failure_message FROM refunds WHERE id = @RefundId FOR UPDATE",
                    new { RefundId = refundId },
                    transaction,
                    cancellationToken: ct));
            switch (refund.Status)
            {
                case null:
                    throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Refund {refundId} does not exist.");
                case "succeeded":
                    return new RefundSettlement(refundId, refund.ProviderRefundId!, refund.Amount, refund.Currency);
                case "failed":
                    throw BusinessFailure.Create(CommerceErrorTypes.RefundFailed, $"Refund {refundId} failed: {refund.Failure}");
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE refunds SET task_token = @TaskToken, updated_at = now() WHERE id = @RefundId",
                new { info.TaskToken, RefundId = refundId },
                transaction,
                cancellationToken: ct));
            await transaction.CommitAsync(ct);
        }

        throw new CompleteAsyncException();
    }

    /// <inheritdoc />
    [Activity]
    public Task RecordRefundLedgerEntryAsync(string refundId) => BookRefundAsync(refundId, record: null);

    /// <inheritdoc />
    [Activity]
    public Task CloseRefundAsync(CloseRefundInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return BookRefundAsync(input.RefundId, input.Record);
    }

    private async Task BookRefundAsync(string refundId, StepRecord? record)
    {
        BusinessFailure.RequireId(refundId, "Refund id");
        var ct = ActivityCancellation.Token;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var refund = await connection.QueryFirstOrDefaultAsync<(string PaymentId, string OrderId, decimal Amount, string Currency, string Status)>(new CommandDefinition(
            "SELECT payment_id, order_id, amount, currency, status FROM refunds WHERE id = @RefundId",
            new { RefundId = refundId },
            transaction,
            cancellationToken: ct));
        if (refund.PaymentId is null)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Refund {refundId} does not exist.");
        }

        if (refund.Status != "succeeded")
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"Refund {refundId} is {refund.Status}; only a settled refund is booked.");
        }

        await PaymentSettlements.BookRefundAsync(transaction, refundId, refund.OrderId, refund.PaymentId, refund.Amount, refund.Currency, ct);
        await StepRecordWriter.ApplyAsync(transaction, record, ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>
    /// Validates the refund, inserts it once under the payment's row lock (never above captured minus refunded) and
    /// returns the answer for one already settled; stores <paramref name="taskToken"/> on a pending refund.
    /// </summary>
    private async Task<(string Currency, string ProviderPaymentId, RefundSettlement? Settled)> OpenRefundAsync(
        RefundPaymentInput input, byte[]? taskToken, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        BusinessFailure.RequireId(input.RefundId, "Refund id");
        BusinessFailure.RequireId(input.PaymentId, "Payment id");
        var currency = BusinessFailure.RequireCurrency(input.Currency);
        BusinessFailure.RequireAmount(input.Amount, currency, "Refund amount");
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        // The payment row lock serialises refunds of one payment, so two cannot both fit under "captured minus refunded".
        var payment = await LockPaymentAsync(transaction, input.PaymentId, ct);
        if (payment.Currency != currency)
        {
            throw BusinessFailure.Create(
                CommerceErrorTypes.CurrencyMismatch, $"Refund {input.RefundId} is in {currency} but payment {input.PaymentId} was taken in {payment.Currency}.");
        }

        var existing = await connection.QueryFirstOrDefaultAsync<RefundRow>(new CommandDefinition(
            "SELECT payment_id AS PaymentId, amount, status, provider_refund_id AS ProviderRefundId, failure_message AS FailureMessage FROM refunds WHERE id = @RefundId",
            new { input.RefundId },
            transaction,
            cancellationToken: ct));
        if (existing is not null)
        {
            if (existing.PaymentId != input.PaymentId || existing.Amount != input.Amount)
            {
                throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"Refund {input.RefundId} already exists for a different payment or amount.");
            }

            switch (existing.Status)
            {
                case "succeeded":
                    return (currency, payment.ProviderPaymentId ?? string.Empty, new RefundSettlement(input.RefundId, existing.ProviderRefundId!, existing.Amount, currency));
                case "failed":
                    throw BusinessFailure.Create(CommerceErrorTypes.RefundFailed, $"Refund {input.RefundId} failed: {existing.FailureMessage}");
            }

            if (taskToken is not null)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE refunds SET task_token = @TaskToken, updated_at = now() WHERE id = @RefundId",
                    new { TaskToken = taskToken, input.RefundId },
                    transaction,
                    cancellationToken: ct));
            }
        }
        else
        {
            if (payment.Status is not ("captured" or "partially_refunded" or "refunded"))
            {
                throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"Payment {input.PaymentId} is {payment.Status}; only captured payments can be refunded.");
            }

            var committed = await connection.ExecuteScalarAsync<decimal>(new CommandDefinition(
                "SELECT coalesce(sum(amount), 0) FROM refunds WHERE payment_id = @PaymentId AND status IN ('pending', 'succeeded')",
                new { input.PaymentId },
                transaction,
                cancellationToken: ct));
            var refundable = payment.CapturedAmount - committed;
            if (input.Amount > refundable)
            {
                throw BusinessFailure.Create(
                    CommerceErrorTypes.RefundExceedsCaptured,
                    $"Refund {input.RefundId} of {input.Amount} {currency} exceeds the {refundable} {currency} still refundable on payment {input.PaymentId} (captured {payment.CapturedAmount}, refunded or pending {committed}).");
            }

            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO refunds (id, payment_id, order_id, return_id, idempotency_key, amount, currency, reason, task_token)
                VALUES (@RefundId, @PaymentId, @OrderId, @ReturnId, @RefundId, @Amount, @Currency, @Reason, @TaskToken)
                """,
                new { input.RefundId, input.PaymentId, payment.OrderId, input.ReturnId, input.Amount, Currency = currency, input.Reason, TaskToken = taskToken },
                transaction,
                cancellationToken: ct));
            await OutboxWriter.AppendAsync(
                transaction, "refund", input.RefundId, "refund.requested", new { input.RefundId, input.PaymentId, payment.OrderId, input.Amount, Currency = currency }, ct);
            await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
        }

        var providerPaymentId = payment.ProviderPaymentId
            ?? throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"Payment {input.PaymentId} has no provider reference.");
        await transaction.CommitAsync(ct);
        return (currency, providerPaymentId, null);
    }

    /// <summary>Creates the refund at the provider (same key every attempt) and records the provider's id; a refusal fails the refund for good.</summary>
    private async Task<ProviderRefund> RequestRefundAsync(RefundPaymentInput input, string currency, string providerPaymentId, CancellationToken ct)
    {
        ProviderRefund created;
        try
        {
            created = await provider.RefundAsync(
                new ProviderRefundRequest(input.RefundId, input.PaymentId, providerPaymentId, input.Amount, currency), $"{input.RefundId}:refund", ct);
        }
        catch (PaymentRequestRejectedException rejected)
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var failed = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE refunds SET status = 'failed', failure_message = @Message, task_token = NULL, updated_at = now() WHERE id = @RefundId AND status = 'pending'",
                new { input.RefundId, rejected.Message },
                transaction,
                cancellationToken: ct));
            if (failed == 1)
            {
                await OutboxWriter.AppendAsync(transaction, "refund", input.RefundId, "refund.failed", new { input.RefundId, Reason = rejected.Message }, ct);
            }

            await transaction.CommitAsync(ct);
            throw BusinessFailure.Create(CommerceErrorTypes.RefundFailed, $"The payment provider refused refund {input.RefundId}: {rejected.Message}");
        }

        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE refunds SET provider_refund_id = @ProviderId, updated_at = now() WHERE id = @RefundId AND provider_refund_id IS NULL",
                new { ProviderId = created.Id, input.RefundId },
                cancellationToken: ct));
        }

        return created;
    }

    /// <summary>The answer for a payment that is no longer pending; null while it is (declines and voids throw).</summary>
    private static PaymentAuthorization? SettledAuthorization(string paymentId, PaymentRow payment) => payment.Status switch
    {
        // Settled while an earlier attempt waited (its completion went to a stale token): answer directly.
        "authorized" or "captured" or "partially_refunded" or "refunded" => new PaymentAuthorization(paymentId, payment.ProviderPaymentId!, payment.Amount, payment.Currency),
        "declined" or "failed" => throw Declined(paymentId, payment.FailureCode, payment.FailureMessage),
        "voided" => throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"Payment {paymentId} was voided."),
        _ => null,
    };

    /// <summary>
    /// Validates the input, inserts the payment once (with <c>payment.authorization_requested</c>) and checks a stored
    /// one matches; stores <paramref name="taskToken"/> on a pending payment so the webhook can complete that attempt.
    /// </summary>
    private async Task<(string Currency, PaymentAuthorization? Settled)> OpenPaymentAsync(AuthorizePaymentInput input, byte[]? taskToken, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        BusinessFailure.RequireId(input.OrderId, "Order id");
        BusinessFailure.RequireId(input.PaymentMethod, "Payment method");
        var currency = BusinessFailure.RequireCurrency(input.Currency);
        BusinessFailure.RequireAmount(input.Amount, currency, "Amount");
        var paymentId = PaymentIds.ForOrder(input.OrderId);

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO payments (id, order_id, customer_id, idempotency_key, provider, amount, currency, payment_method)
            VALUES (@PaymentId, @OrderId, @CustomerId, @IdempotencyKey, @Provider, @Amount, @Currency, @Method)
            ON CONFLICT (idempotency_key) DO NOTHING
            """,
            new
            {
                PaymentId = paymentId,
                input.OrderId,
                input.CustomerId,
                IdempotencyKey = $"{input.OrderId}:authorize",
                Provider = provider.Name,
                input.Amount,
                Currency = currency,
                Method = MaskPaymentMethod(input.PaymentMethod),
            },
            transaction,
            cancellationToken: ct));
        if (inserted == 1)
        {
            var requested = new { PaymentId = paymentId, input.OrderId, input.Amount, Currency = currency };
            await OutboxWriter.AppendAsync(transaction, "payment", paymentId, "payment.authorization_requested", requested, ct);
            await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
        }

        var payment = await LockPaymentAsync(transaction, paymentId, ct);
        if (payment.Currency != currency)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.CurrencyMismatch, $"Payment {paymentId} is in {payment.Currency}, not {currency}.");
        }

        if (payment.Amount != input.Amount)
        {
            throw BusinessFailure.Create(
                CommerceErrorTypes.InvalidState, $"Payment {paymentId} was authorised for {payment.Amount} {currency}, not {input.Amount}.");
        }

        if (SettledAuthorization(paymentId, payment) is { } settled)
        {
            return (currency, settled);
        }

        if (taskToken is not null)
        {
            // The newest attempt's token replaces older ones: only the running attempt can be completed.
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE payments SET task_token = @TaskToken, updated_at = now() WHERE id = @PaymentId",
                new { TaskToken = taskToken, PaymentId = paymentId },
                transaction,
                cancellationToken: ct));
        }

        await transaction.CommitAsync(ct);
        return (currency, null);
    }

    /// <summary>Creates the authorisation at the provider (same key every attempt) and records the provider's id.</summary>
    private async Task<ProviderPayment> RequestAuthorizationAsync(AuthorizePaymentInput input, string currency, CancellationToken ct)
    {
        var paymentId = PaymentIds.ForOrder(input.OrderId);
        ProviderPayment created;
        try
        {
            created = await provider.AuthorizeAsync(
                new ProviderAuthorizeRequest(paymentId, input.OrderId, input.Amount, currency, input.PaymentMethod), $"{input.OrderId}:authorize", ct);
        }
        catch (PaymentDeclinedException declined)
        {
            await SettleAsync(paymentId, "declined", declined.DeclineCode, declined.Message, ct);
            throw Declined(paymentId, declined.DeclineCode, declined.Message);
        }
        catch (PaymentRequestRejectedException rejected)
        {
            await SettleAsync(paymentId, "failed", rejected.Code, rejected.Message, ct);
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidState, $"The payment provider refused payment {paymentId}: {rejected.Message}");
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE payments SET provider_payment_id = @ProviderId, updated_at = now() WHERE id = @PaymentId AND provider_payment_id IS NULL",
            new { ProviderId = created.Id, PaymentId = paymentId },
            cancellationToken: ct));
        return created;
    }

    private static ApplicationFailureException Declined(string paymentId, string? code, string? message) =>
        new($"Payment {paymentId} was declined: {message ?? code}", CommerceErrorTypes.PaymentDeclined, nonRetryable: true, details: [code ?? "declined"]);

    private static string MaskPaymentMethod(string method) =>
        method.Length > 8 && method.All(char.IsDigit) ? $"card ending {method[^4..]}" : method;

    private static async Task<PaymentRow> LockPaymentAsync(NpgsqlTransaction transaction, string paymentId, CancellationToken ct) =>
        await transaction.Connection!.QueryFirstOrDefaultAsync<PaymentRow>(new CommandDefinition(
            $"{PaymentRow.Select} WHERE id = @PaymentId FOR UPDATE", new { PaymentId = paymentId }, transaction, cancellationToken: ct))
        ?? throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Payment {paymentId} does not exist.");

    private async Task<PaymentRow> ReadPaymentAsync(string paymentId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await connection.QueryFirstOrDefaultAsync<PaymentRow>(new CommandDefinition(
            $"{PaymentRow.Select} WHERE id = @PaymentId", new { PaymentId = paymentId }, cancellationToken: ct))
            ?? throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Payment {paymentId} does not exist.");
    }

    private async Task SettleAsync(string paymentId, string status, string? code, string? message, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await PaymentSettlements.SettlePaymentAsync(connection, paymentId, status, providerPaymentId: null, code, message, ct);
    }

    private sealed record PaymentRow(
        string OrderId, string Status, decimal Amount, decimal CapturedAmount, string Currency, string? ProviderPaymentId, string? FailureCode, string? FailureMessage)
    {
        public const string Select =
            """
            SELECT order_id AS OrderId, status, amount, captured_amount AS CapturedAmount, currency,
                   provider_payment_id AS ProviderPaymentId, failure_code AS FailureCode, failure_message AS FailureMessage
            FROM payments
            """;
    }

    private sealed record RefundRow(string PaymentId, decimal Amount, string Status, string? ProviderRefundId, string? FailureMessage);

    private sealed record RefundableRow(string OrderId, decimal Captured, decimal Refunded, string Currency);
}

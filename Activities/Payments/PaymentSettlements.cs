using Dapper;
using Npgsql;
using Stateset.Activities.Outbox;

namespace Stateset.Activities.Payments;

/// <summary>
/// Applies a provider's verdict on an authorisation or refund to our rows, with its outbox event, in one
/// transaction; whether the verdict came by webhook or by asking the provider when the webhook was late. Each is
/// conditional on the row still being pending, so a second verdict (a duplicate webhook, a poll racing a webhook)
/// changes nothing.
/// </summary>
internal static class PaymentSettlements
{
    /// <summary>Settles a pending payment as authorised or declined (or failed); returns whether this call changed it.</summary>
    public static async Task<bool> SettlePaymentAsync(
        NpgsqlConnection connection, string paymentId, string status, string? providerPaymentId, string? code, string? message, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE payments
            SET status = @Status,
                provider_payment_id = coalesce(provider_payment_id, @ProviderId),
                authorized_at = CASE WHEN @Status = 'authorized' THEN now() END,
                failure_code = @Code, failure_message = @Message, updated_at = now()
            WHERE id = @PaymentId AND status = 'pending'
            """,
            new { PaymentId = paymentId, Status = status, ProviderId = providerPaymentId, Code = code, Message = message },
            transaction,
            cancellationToken: ct));
        if (changed == 1)
        {
            await OutboxWriter.AppendAsync(
                transaction, "payment", paymentId, $"payment.{status}", new { PaymentId = paymentId, ProviderPaymentId = providerPaymentId, Code = code, Message = message }, ct);
        }

        await transaction.CommitAsync(ct);
        return changed == 1;
    }

    /// <summary>
    /// Settles a pending refund. A successful one also adds to the payment's refunded amount and is booked in the
    /// ledger in the same transaction, so every refund (a customer's, a return's, an unwound order's) is booked
    /// exactly when it settles and, per order, ledger = captured − refunded.
    /// </summary>
    public static async Task<bool> SettleRefundAsync(
        NpgsqlConnection connection, string refundId, bool succeeded, string? providerRefundId, string? failure, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var settled = await connection.QueryFirstOrDefaultAsync<(string PaymentId, string OrderId, decimal Amount, string Currency)>(new CommandDefinition(
            """
            UPDATE refunds
            SET status = @Status, provider_refund_id = coalesce(provider_refund_id, @ProviderId), failure_message = @Failure,
                settled_at = now(), updated_at = now()
            WHERE id = @RefundId AND status = 'pending'
            RETURNING payment_id, order_id, amount, currency
            """,
            new { RefundId = refundId, Status = succeeded ? "succeeded" : "failed", ProviderId = providerRefundId, Failure = failure },
            transaction,
            cancellationToken: ct));
        if (settled.PaymentId is null)
        {
            return false;
        }

        if (succeeded)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE payments
                SET refunded_amount = refunded_amount + @Amount,
                    status = CASE WHEN refunded_amount + @Amount >= captured_amount THEN 'refunded' ELSE 'partially_refunded' END,
                    updated_at = now()
                WHERE id = @PaymentId
                """,
                new { settled.PaymentId, settled.Amount },
                transaction,
                cancellationToken: ct));
            await BookRefundAsync(transaction, refundId, settled.OrderId, settled.PaymentId, settled.Amount, settled.Currency, ct);
        }

        var eventType = succeeded ? "refund.succeeded" : "refund.failed";
        await OutboxWriter.AppendAsync(
            transaction, "refund", refundId, eventType, new { RefundId = refundId, settled.PaymentId, settled.Amount, FailureReason = failure }, ct);
        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>Books a settled refund in the ledger once (its key is the refund's) and writes <c>ledger.refund_booked</c> the first time.</summary>
    public static async Task BookRefundAsync(
        NpgsqlTransaction transaction, string refundId, string orderId, string paymentId, decimal amount, string currency, CancellationToken ct)
    {
        var booked = await transaction.Connection!.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO ledger_entries (idempotency_key, order_id, payment_id, refund_id, kind, amount, currency)
            VALUES (@Key, @OrderId, @PaymentId, @RefundId, 'refund', -@Amount, @Currency)
            ON CONFLICT (idempotency_key) DO NOTHING
            """,
            new { Key = $"{refundId}:ledger", OrderId = orderId, PaymentId = paymentId, RefundId = refundId, Amount = amount, Currency = currency },
            transaction,
            cancellationToken: ct));
        if (booked == 1)
        {
            await OutboxWriter.AppendAsync(
                transaction, "refund", refundId, "ledger.refund_booked", new { RefundId = refundId, OrderId = orderId, Amount = amount, Currency = currency }, ct);
        }
    }
}

using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Stateset.Activities.Webhooks;
using Stateset.Workflows.Activities;
using Temporalio.Exceptions;

namespace Stateset.Activities.Payments;

/// <summary>What the gateway should answer the provider.</summary>
public enum PaymentWebhookOutcome
{
    /// <summary>Applied (or re-applied harmlessly); answer 200.</summary>
    Processed,

    /// <summary>Seen before; nothing new happened; answer 200 so the provider stops sending it.</summary>
    Duplicate,

    /// <summary>A type this product does not act on; answer 200.</summary>
    Ignored,

    /// <summary>Missing, wrong or stale signature; answer 401 and change nothing.</summary>
    Unauthenticated,

    /// <summary>Signed correctly but not an event we can read; answer 400.</summary>
    Malformed,
}

/// <summary>The outcome and, for refusals, why.</summary>
public sealed record PaymentWebhookResult(PaymentWebhookOutcome Outcome, string Detail);

/// <summary>
/// Handles the payment provider's settlement webhooks for the gateway's callback endpoint: verifies the signature
/// against the raw body, records the event id (providers deliver at least once), applies the settlement to the
/// payment or refund row with its outbox event in one transaction, then completes the activity waiting on the
/// stored task token. Each step is idempotent, so a duplicate webhook re-attempts only the completion, which is
/// harmless, and heals a completion that failed the first time.
/// </summary>
public sealed class PaymentWebhookProcessor(
    NpgsqlDataSource dataSource,
    IAsyncActivityCompleter completer,
    IOptions<PaymentProviderOptions> options,
    TimeProvider time)
{
    /// <summary>The header carrying <c>t=…,v1=…</c>.</summary>
    public const string SignatureHeader = "Psp-Signature";

    /// <summary>Verifies and applies one webhook delivery.</summary>
    public async Task<PaymentWebhookResult> ProcessAsync(string body, string? signature, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(body);
        var check = WebhookSignature.Verify(options.Value.WebhookSecret, body, signature, time.GetUtcNow(), options.Value.WebhookTolerance);
        if (check == WebhookSignatureCheck.Malformed)
        {
            // Unreadable rather than wrong (no t or v1, a timestamp past year 9999): the sender must fix the request.
            return new(PaymentWebhookOutcome.Malformed, $"The {SignatureHeader} header is not t=<unix seconds>,v1=<hex HMAC>.");
        }

        if (check != WebhookSignatureCheck.Valid)
        {
            return new(PaymentWebhookOutcome.Unauthenticated, $"Signature {check.ToString().ToLowerInvariant()}.");
        }

        PspEvent? webhook;
        try
        {
            webhook = JsonSerializer.Deserialize<PspEvent>(body, PspWire.Json);
        }
        catch (JsonException e)
        {
            return new(PaymentWebhookOutcome.Malformed, e.Message);
        }

        if (webhook is null || string.IsNullOrEmpty(webhook.Id) || string.IsNullOrEmpty(webhook.Type))
        {
            return new(PaymentWebhookOutcome.Malformed, "The event has no id or type.");
        }

        // The object of an event we act on is read before anything is stored, so a signed but unreadable event is
        // refused whole instead of half-recorded.
        var kind = webhook.Type switch
        {
            "payment_intent.authorized" or "payment_intent.declined" => "payment intent",
            "refund.succeeded" or "refund.failed" => "refund",
            _ => null,
        };
        PspPaymentIntent? intent = null;
        PspRefund? refund = null;
        if (kind is not null)
        {
            if (webhook.Data is not { Object.ValueKind: JsonValueKind.Object })
            {
                return new(PaymentWebhookOutcome.Malformed, $"A {webhook.Type} event needs data.object, the {kind}.");
            }

            try
            {
                intent = kind == "refund" ? null : webhook.Data.Object.Deserialize<PspPaymentIntent>(PspWire.Json);
                refund = kind == "refund" ? webhook.Data.Object.Deserialize<PspRefund>(PspWire.Json) : null;
            }
            catch (JsonException e)
            {
                return new(PaymentWebhookOutcome.Malformed, $"data.object is not a readable {kind}: {e.Message}");
            }
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var firstDelivery = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO provider_webhook_events (provider, event_id, event_type, payload) VALUES (@Provider, @Id, @Type, @Payload::jsonb)
            ON CONFLICT DO NOTHING
            """,
            new { Provider = options.Value.Name, webhook.Id, webhook.Type, Payload = body },
            cancellationToken: ct)) == 1;

        bool? applied = webhook.Type switch
        {
            "payment_intent.authorized" or "payment_intent.declined" => await SettlePaymentAsync(connection, webhook, intent!, ct),
            "refund.succeeded" or "refund.failed" => await SettleRefundAsync(connection, webhook, refund!, ct),
            _ => null,
        };
        return applied switch
        {
            null => new(PaymentWebhookOutcome.Ignored, $"Event type {webhook.Type} is not handled."),
            false => new(PaymentWebhookOutcome.Malformed, "The event names no payment or refund of ours."),
            true when !firstDelivery => new(PaymentWebhookOutcome.Duplicate, $"Event {webhook.Id} was already received."),
            true => new(PaymentWebhookOutcome.Processed, $"Event {webhook.Id} applied."),
        };
    }

    private async Task<bool> SettlePaymentAsync(NpgsqlConnection connection, PspEvent webhook, PspPaymentIntent intent, CancellationToken ct)
    {
        if (intent.Metadata?.GetValueOrDefault("payment_id") is not { } paymentId)
        {
            return false;
        }

        var authorized = webhook.Type == "payment_intent.authorized";
        await PaymentSettlements.SettlePaymentAsync(
            connection,
            paymentId,
            authorized ? "authorized" : "declined",
            intent.Id,
            intent.LastPaymentError?.DeclineCode ?? intent.LastPaymentError?.Code,
            intent.LastPaymentError?.Message,
            ct);

        var payment = await connection.QueryFirstOrDefaultAsync<(string Status, decimal Amount, string Currency, string? ProviderId, string? Code, string? Message, byte[]? Token)>(
            new CommandDefinition(
                "SELECT status, amount, currency, provider_payment_id, failure_code, failure_message, task_token FROM payments WHERE id = @PaymentId",
                new { PaymentId = paymentId },
                cancellationToken: ct));
        if (payment.Token is null)
        {
            return payment.Status is not null;
        }

        if (payment.Status == "authorized")
        {
            await completer.CompleteAsync(payment.Token, new PaymentAuthorization(paymentId, payment.ProviderId!, payment.Amount, payment.Currency), ct);
        }
        else if (payment.Status == "declined")
        {
            var failure = new ApplicationFailureException(
                $"Payment {paymentId} was declined: {payment.Message ?? payment.Code}", CommerceErrorTypes.PaymentDeclined, nonRetryable: true, details: [payment.Code ?? "declined"]);
            await completer.FailAsync(payment.Token, failure, ct);
        }

        return true;
    }

    private async Task<bool> SettleRefundAsync(NpgsqlConnection connection, PspEvent webhook, PspRefund refund, CancellationToken ct)
    {
        if (refund.Metadata?.GetValueOrDefault("refund_id") is not { } refundId)
        {
            return false;
        }

        var succeeded = webhook.Type == "refund.succeeded";
        await PaymentSettlements.SettleRefundAsync(connection, refundId, succeeded, refund.Id, refund.FailureReason, ct);

        var current = await connection.QueryFirstOrDefaultAsync<(string Status, decimal Amount, string Currency, string? ProviderId, string? Failure, byte[]? Token)>(
            new CommandDefinition(
                "SELECT status, amount, currency, provider_refund_id, failure_message, task_token FROM refunds WHERE id = @RefundId",
                new { RefundId = refundId },
                cancellationToken: ct));
        if (current.Token is null)
        {
            return current.Status is not null;
        }

        if (current.Status == "succeeded")
        {
            await completer.CompleteAsync(current.Token, new RefundSettlement(refundId, current.ProviderId!, current.Amount, current.Currency), ct);
        }
        else if (current.Status == "failed")
        {
            var failure = new ApplicationFailureException($"Refund {refundId} failed: {current.Failure}", CommerceErrorTypes.RefundFailed, nonRetryable: true);
            await completer.FailAsync(current.Token, failure, ct);
        }

        return true;
    }
}

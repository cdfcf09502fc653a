using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Stateset.Activities.Payments;

namespace Stateset.Sandboxes.PaymentProvider;

/// <summary>An HTTP answer the API endpoints send as JSON; <see cref="HoldFor"/> delays it (the timeout card).</summary>
public sealed record SandboxResponse(int StatusCode, object Body, TimeSpan HoldFor = default);

/// <summary>
/// The payment provider's state and rules: payment intents, refunds, the idempotency-key cache, and settlements queued
/// for webhooks, in memory and, with <see cref="PaymentProviderSandboxOptions.StateFile"/>, also in a file every change
/// appends to (settlements still queued are not kept). One lock guards everything; it is a test double, not a
/// throughput engine.
/// </summary>
public sealed class PaymentProviderSandbox
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PspPaymentIntent> _intents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PspRefund> _refunds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Fingerprint, SandboxResponse Response)> _idempotency = new(StringComparer.Ordinal);
    private readonly HashSet<string> _faultsInjected = new(StringComparer.Ordinal);

    // What changed since the state file's last line, so each change appends only its own records.
    private readonly HashSet<string> _unsavedIntents = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unsavedRefunds = new(StringComparer.Ordinal);
    private readonly IOptions<PaymentProviderSandboxOptions> _options;
    private readonly TimeProvider _time;
    private readonly SandboxSettlementQueue _settlements;

    /// <summary>Initializes a new instance of the <see cref="PaymentProviderSandbox"/> class, with what its state file holds.</summary>
    public PaymentProviderSandbox(IOptions<PaymentProviderSandboxOptions> options, TimeProvider time, SandboxSettlementQueue settlements)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time;
        _settlements = settlements;
        if (options.Value.StateFile is { } file)
        {
            foreach (var saved in SandboxStateFile.Load<SavedState>(file, PspWire.Json, "payment sandbox"))
            {
                foreach (var (id, intent) in saved.Intents)
                {
                    _intents[id] = intent;
                }

                foreach (var (id, refund) in saved.Refunds)
                {
                    _refunds[id] = refund;
                }

                foreach (var (key, reply) in saved.Idempotency)
                {
                    _idempotency[key] = (reply.Fingerprint, new SandboxResponse(reply.StatusCode, reply.Body));
                }
            }

            SandboxStateFile.Compact(file, new SavedState(_intents, _refunds, _idempotency.ToDictionary(e => e.Key, e => Saved(e.Value), StringComparer.Ordinal)), PspWire.Json);
        }
    }

    /// <summary>Gets how many requests actually acted (idempotent replays and injected faults excluded), for tests.</summary>
    public int EffectiveRequests { get; private set; }

    /// <summary>Gets a payment intent as it stands now, or null.</summary>
    public PspPaymentIntent? FindIntent(string id)
    {
        lock (_gate)
        {
            return _intents.GetValueOrDefault(id);
        }
    }

    /// <summary>Gets a refund as it stands now, or null.</summary>
    public PspRefund? FindRefund(string id)
    {
        lock (_gate)
        {
            return _refunds.GetValueOrDefault(id);
        }
    }

    /// <summary>POST payment_intents.</summary>
    public SandboxResponse CreatePaymentIntent(string idempotencyKey, PspCreatePaymentIntent request) =>
        Idempotent($"create:{idempotencyKey}", request, request.PaymentMethod, () =>
        {
            if (request.Amount <= 0 || request.Currency.Length != 3)
            {
                return Error(400, "invalid_request_error", "parameter_invalid", "amount must be positive and currency a 3-letter code.");
            }

            if (request.PaymentMethod == SandboxTestCards.DeclinedImmediately)
            {
                return Error(402, "card_error", "card_declined", "Your card was declined.", "generic_decline");
            }

            var intent = new PspPaymentIntent(
                Id: NewId("pi"),
                Amount: request.Amount,
                AmountCapturable: 0,
                AmountReceived: 0,
                AmountRefunded: 0,
                Currency: request.Currency.ToLowerInvariant(),
                Status: "processing",
                PaymentMethod: request.PaymentMethod,
                Metadata: request.Metadata ?? new Dictionary<string, string>(),
                LastPaymentError: null,
                Created: _time.GetUtcNow().ToUnixTimeSeconds());
            Put(intent);
            _settlements.Enqueue(new SandboxSettlement(intent.Id, IsRefund: false, _time.GetUtcNow() + _options.Value.SettleDelay, Duplicated(request.PaymentMethod)));
            return new SandboxResponse(200, intent);
        });

    /// <summary>POST payment_intents/{id}/capture.</summary>
    public SandboxResponse Capture(string idempotencyKey, string id, PspCapture request) =>
        Idempotent($"capture:{id}:{idempotencyKey}", request, _intents.GetValueOrDefault(id)?.PaymentMethod, () =>
        {
            if (!_intents.TryGetValue(id, out var intent))
            {
                return Error(404, "invalid_request_error", "resource_missing", $"No such payment_intent: '{id}'.");
            }

            if (intent.Status != "requires_capture")
            {
                return Error(400, "invalid_request_error", "payment_intent_unexpected_state", $"This PaymentIntent could not be captured because it has a status of {intent.Status}.");
            }

            var amount = request.AmountToCapture ?? intent.Amount;
            if (amount <= 0 || amount > intent.AmountCapturable)
            {
                return Error(400, "invalid_request_error", "amount_too_large", $"Cannot capture {amount}; {intent.AmountCapturable} is capturable.");
            }

            intent = intent with { Status = "succeeded", AmountReceived = amount, AmountCapturable = 0 };
            Put(intent);
            return new SandboxResponse(200, intent);
        });

    /// <summary>POST payment_intents/{id}/cancel.</summary>
    public SandboxResponse Cancel(string idempotencyKey, string id) =>
        Idempotent($"cancel:{id}:{idempotencyKey}", new { id }, _intents.GetValueOrDefault(id)?.PaymentMethod, () =>
        {
            if (!_intents.TryGetValue(id, out var intent))
            {
                return Error(404, "invalid_request_error", "resource_missing", $"No such payment_intent: '{id}'.");
            }

            if (intent.Status is "succeeded")
            {
                return Error(400, "invalid_request_error", "payment_intent_unexpected_state", "A captured PaymentIntent cannot be canceled; refund it.");
            }

            intent = intent with { Status = "canceled", AmountCapturable = 0 };
            Put(intent);
            return new SandboxResponse(200, intent);
        });

    /// <summary>POST refunds.</summary>
    public SandboxResponse CreateRefund(string idempotencyKey, PspCreateRefund request) =>
        Idempotent($"refund:{idempotencyKey}", request, _intents.GetValueOrDefault(request.PaymentIntent)?.PaymentMethod, () =>
        {
            if (!_intents.TryGetValue(request.PaymentIntent, out var intent))
            {
                return Error(404, "invalid_request_error", "resource_missing", $"No such payment_intent: '{request.PaymentIntent}'.");
            }

            var pending = _refunds.Values.Where(r => r.PaymentIntent == intent.Id && r.Status == "pending").Sum(r => r.Amount);
            if (intent.Status != "succeeded")
            {
                return Error(400, "invalid_request_error", "charge_not_captured", "Only a captured payment can be refunded.");
            }

            if (request.Amount <= 0 || request.Amount > intent.AmountReceived - intent.AmountRefunded - pending)
            {
                return Error(400, "invalid_request_error", "amount_too_large", $"Refund amount {request.Amount} is greater than the unrefunded amount.");
            }

            var refund = new PspRefund(
                Id: NewId("re"),
                PaymentIntent: intent.Id,
                Amount: request.Amount,
                Currency: intent.Currency,
                Status: "pending",
                FailureReason: null,
                Metadata: request.Metadata ?? new Dictionary<string, string>(),
                Created: _time.GetUtcNow().ToUnixTimeSeconds());
            Put(refund);
            _settlements.Enqueue(new SandboxSettlement(refund.Id, IsRefund: true, _time.GetUtcNow() + _options.Value.SettleDelay, Duplicated(intent.PaymentMethod)));
            return new SandboxResponse(200, refund);
        });

    /// <summary>Settles a queued authorisation or refund and returns the webhook event describing it.</summary>
    public PspEvent? Settle(SandboxSettlement settlement)
    {
        ArgumentNullException.ThrowIfNull(settlement);
        lock (_gate)
        {
            object settled;
            string type;
            if (settlement.IsRefund)
            {
                if (!_refunds.TryGetValue(settlement.ObjectId, out var refund) || refund.Status != "pending")
                {
                    return null;
                }

                var intent = _intents[refund.PaymentIntent];
                var fails = intent.PaymentMethod == SandboxTestCards.RefundFails;
                refund = refund with { Status = fails ? "failed" : "succeeded", FailureReason = fails ? "expired_or_canceled_card" : null };
                if (!fails)
                {
                    Put(intent with { AmountRefunded = intent.AmountRefunded + refund.Amount });
                }

                Put(refund);
                (settled, type) = (refund, fails ? "refund.failed" : "refund.succeeded");
            }
            else
            {
                if (!_intents.TryGetValue(settlement.ObjectId, out var intent) || intent.Status != "processing")
                {
                    return null;
                }

                intent = intent.PaymentMethod == SandboxTestCards.DeclinedAsynchronously
                    ? intent with { Status = "declined", LastPaymentError = new PspLastError("card_declined", "insufficient_funds", "Your card has insufficient funds.") }
                    : intent with { Status = "requires_capture", AmountCapturable = intent.Amount };
                Put(intent);
                (settled, type) = (intent, intent.Status == "declined" ? "payment_intent.declined" : "payment_intent.authorized");
            }

            Save(idempotencyKey: null);
            var data = new PspEventData(JsonSerializer.SerializeToElement(settled, PspWire.Json));
            return new PspEvent(NewId("evt"), type, _time.GetUtcNow().ToUnixTimeSeconds(), data);
        }
    }

    private static SandboxResponse Error(int status, string type, string code, string message, string? declineCode = null) =>
        new(status, new PspErrorBody(new PspError(type, code, message, declineCode)));

    private static string NewId(string prefix) => $"{prefix}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12))}";

    private static bool Duplicated(string? paymentMethod) => paymentMethod == SandboxTestCards.DuplicateWebhooks;

    /// <summary>
    /// Stripe's idempotency semantics: the first response under a key (success or client error) is stored and
    /// replayed for every retry with the same parameters; the same key with different parameters is an error.
    /// </summary>
    private SandboxResponse Idempotent(string key, object request, string? paymentMethod, Func<SandboxResponse> act)
    {
        var fingerprint = JsonSerializer.Serialize(request, PspWire.Json);
        lock (_gate)
        {
            if (_idempotency.TryGetValue(key, out var stored))
            {
                return stored.Fingerprint == fingerprint
                    ? stored.Response with { HoldFor = TimeSpan.Zero }
                    : Error(409, "idempotency_error", "idempotency_key_in_use", "Keys for idempotent requests can only be used with the same parameters they were first used with.");
            }

            if (paymentMethod == SandboxTestCards.ProviderErrorOnce && _faultsInjected.Add(key))
            {
                return Error(500, "api_error", "processing_error", "An error occurred while processing the request (sandbox fault injection).");
            }

            var response = act();
            EffectiveRequests++;
            if (paymentMethod == SandboxTestCards.TimeoutOnce && _faultsInjected.Add(key))
            {
                response = response with { HoldFor = _options.Value.TimeoutDelay };
            }

            _idempotency[key] = (fingerprint, response);
            Save(key);
            return response;
        }
    }

    private static SavedReply Saved((string Fingerprint, SandboxResponse Response) reply) =>
        new(reply.Fingerprint, reply.Response.StatusCode, JsonSerializer.SerializeToElement(reply.Response.Body, PspWire.Json));

    private void Put(PspPaymentIntent intent)
    {
        _intents[intent.Id] = intent;
        _unsavedIntents.Add(intent.Id);
    }

    private void Put(PspRefund refund)
    {
        _refunds[refund.Id] = refund;
        _unsavedRefunds.Add(refund.Id);
    }

    /// <summary>
    /// Appends to the state file (under the lock) the intents and refunds changed since the last save and the reply
    /// stored under <paramref name="idempotencyKey"/>: one line per change, not the whole state again.
    /// </summary>
    private void Save(string? idempotencyKey)
    {
        if (_options.Value.StateFile is { } file)
        {
            var change = new SavedState(
                _unsavedIntents.ToDictionary(id => id, id => _intents[id], StringComparer.Ordinal),
                _unsavedRefunds.ToDictionary(id => id, id => _refunds[id], StringComparer.Ordinal),
                idempotencyKey is null
                    ? new Dictionary<string, SavedReply>(StringComparer.Ordinal)
                    : new Dictionary<string, SavedReply>(StringComparer.Ordinal) { [idempotencyKey] = Saved(_idempotency[idempotencyKey]) });
            SandboxStateFile.Append(file, change, PspWire.Json);
        }

        _unsavedIntents.Clear();
        _unsavedRefunds.Clear();
    }

    private sealed record SavedReply(string Fingerprint, int StatusCode, JsonElement Body);

    private sealed record SavedState(
        Dictionary<string, PspPaymentIntent> Intents, Dictionary<string, PspRefund> Refunds, Dictionary<string, SavedReply> Idempotency);
}

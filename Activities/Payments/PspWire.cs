using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stateset.Activities.Payments;

/// <summary>
/// The JSON shapes of the PSP API the sandbox serves (modelled on Stripe's PaymentIntents): amounts in integer
/// minor units, lower-case currencies, snake_case names. <see cref="PspPaymentProvider"/> speaks it; the sandbox
/// serves it.
/// </summary>
public static class PspWire
{
    /// <summary>Gets the serializer settings of the wire format.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>POST payment_intents.</summary>
public sealed record PspCreatePaymentIntent(long Amount, string Currency, string PaymentMethod, string CaptureMethod, IReadOnlyDictionary<string, string>? Metadata);

/// <summary>POST payment_intents/{id}/capture.</summary>
public sealed record PspCapture(long? AmountToCapture);

/// <summary>POST refunds.</summary>
public sealed record PspCreateRefund(string PaymentIntent, long Amount, IReadOnlyDictionary<string, string>? Metadata);

/// <summary>A payment intent.</summary>
public sealed record PspPaymentIntent(
    string Id,
    long Amount,
    long AmountCapturable,
    long AmountReceived,
    long AmountRefunded,
    string Currency,
    string Status,
    string PaymentMethod,
    IReadOnlyDictionary<string, string> Metadata,
    PspLastError? LastPaymentError,
    long Created)
{
    /// <summary>Gets the object kind, as Stripe tags every object.</summary>
    public string Object => "payment_intent";
}

/// <summary>Why the last authorisation attempt failed.</summary>
public sealed record PspLastError(string Code, string? DeclineCode, string Message);

/// <summary>A refund.</summary>
public sealed record PspRefund(
    string Id,
    string PaymentIntent,
    long Amount,
    string Currency,
    string Status,
    string? FailureReason,
    IReadOnlyDictionary<string, string> Metadata,
    long Created)
{
    /// <summary>Gets the object kind.</summary>
    public string Object => "refund";
}

/// <summary>An error response body.</summary>
public sealed record PspErrorBody(PspError Error);

/// <summary>The error: type (card_error, invalid_request_error, idempotency_error, api_error), code and message.</summary>
public sealed record PspError(string Type, string Code, string Message, string? DeclineCode = null);

/// <summary>A webhook event; <see cref="PspEventData.Object"/> is the payment intent or refund.</summary>
/// <remarks><c>Type</c>: payment_intent.authorized, payment_intent.declined, refund.succeeded, refund.failed.</remarks>
public sealed record PspEvent(string Id, string Type, long Created, PspEventData Data);

/// <summary>The event's object.</summary>
public sealed record PspEventData(JsonElement Object);

using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;

namespace Stateset.Activities.Payments;

/// <summary>
/// <see cref="IPaymentProvider"/> over the PSP HTTP API (the sandbox's, Stripe-shaped). The typed
/// <see cref="HttpClient"/> comes from the client factory with the standard resilience handler, so transient
/// faults are retried with jittered backoff under a circuit breaker before they surface here; retried POSTs are
/// safe because each carries its <c>Idempotency-Key</c>.
/// </summary>
public sealed class PspPaymentProvider(HttpClient http, IOptions<PaymentProviderOptions> options) : IPaymentProvider
{
    private readonly PaymentProviderOptions _options = options.Value;

    /// <inheritdoc />
    public string Name => _options.Name;

    /// <inheritdoc />
    public async Task<ProviderPayment> AuthorizeAsync(ProviderAuthorizeRequest request, string idempotencyKey, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new PspCreatePaymentIntent(
            Money.ToMinorUnits(request.Amount, request.Currency),
            request.Currency.ToLowerInvariant(),
            request.PaymentMethod,
            "manual",
            new Dictionary<string, string> { ["payment_id"] = request.PaymentId, ["order_id"] = request.OrderId });
        return ToPayment(await PostAsync<PspPaymentIntent>("payment_intents", body, idempotencyKey, ct));
    }

    /// <inheritdoc />
    public async Task<ProviderPayment> CaptureAsync(string providerPaymentId, decimal amount, string currency, string idempotencyKey, CancellationToken ct) =>
        ToPayment(await PostAsync<PspPaymentIntent>(
            $"payment_intents/{Uri.EscapeDataString(providerPaymentId)}/capture",
            new PspCapture(Money.ToMinorUnits(amount, currency)),
            idempotencyKey,
            ct));

    /// <inheritdoc />
    public async Task<ProviderPayment> VoidAsync(string providerPaymentId, string idempotencyKey, CancellationToken ct) =>
        ToPayment(await PostAsync<PspPaymentIntent>($"payment_intents/{Uri.EscapeDataString(providerPaymentId)}/cancel", new { }, idempotencyKey, ct));

    /// <inheritdoc />
    public async Task<ProviderRefund> RefundAsync(ProviderRefundRequest request, string idempotencyKey, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new PspCreateRefund(
            request.ProviderPaymentId,
            Money.ToMinorUnits(request.Amount, request.Currency),
            new Dictionary<string, string> { ["refund_id"] = request.RefundId, ["payment_id"] = request.PaymentId });
        return ToRefund(await PostAsync<PspRefund>("refunds", body, idempotencyKey, ct));
    }

    /// <inheritdoc />
    public async Task<ProviderPayment> GetPaymentAsync(string providerPaymentId, CancellationToken ct) =>
        ToPayment(await SendAsync<PspPaymentIntent>(new HttpRequestMessage(HttpMethod.Get, $"payment_intents/{Uri.EscapeDataString(providerPaymentId)}"), ct));

    /// <inheritdoc />
    public async Task<ProviderRefund> GetRefundAsync(string providerRefundId, CancellationToken ct) =>
        ToRefund(await SendAsync<PspRefund>(new HttpRequestMessage(HttpMethod.Get, $"refunds/{Uri.EscapeDataString(providerRefundId)}"), ct));

    /// <summary>Maps a wire payment intent to the provider-neutral record.</summary>
    public static ProviderPayment ToPayment(PspPaymentIntent intent)
    {
        ArgumentNullException.ThrowIfNull(intent);
        var currency = intent.Currency.ToUpperInvariant();
        return new ProviderPayment(
            intent.Id,
            intent.Status,
            Money.FromMinorUnits(intent.Amount, currency),
            Money.FromMinorUnits(intent.AmountReceived, currency),
            currency,
            intent.LastPaymentError?.DeclineCode ?? intent.LastPaymentError?.Code,
            intent.LastPaymentError?.Message);
    }

    private static ProviderRefund ToRefund(PspRefund refund)
    {
        var currency = refund.Currency.ToUpperInvariant();
        return new ProviderRefund(refund.Id, refund.Status, Money.FromMinorUnits(refund.Amount, currency), currency, refund.FailureReason);
    }

    private async Task<T> PostAsync<T>(string path, object body, string idempotencyKey, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, options: PspWire.Json) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await SendAsync<T>(request, ct);
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage message, CancellationToken ct)
    {
        using var request = message;
        var path = request.RequestUri?.OriginalString ?? string.Empty;
        if (_options.ApiKey.Length > 0)
        {
            request.Headers.Authorization = new("Bearer", _options.ApiKey);
        }

        using var response = await http.SendAsync(request, ct);
        if (response.IsSuccessStatusCode)
        {
            return await response.Content.ReadFromJsonAsync<T>(PspWire.Json, ct)
                ?? throw new HttpRequestException($"The payment provider answered {path} with an empty body.");
        }

        // 5xx, 408 and 429 already went through the resilience pipeline's retries: still transient, let Temporal retry.
        var status = (int)response.StatusCode;
        if (status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
        {
            throw new HttpRequestException($"The payment provider answered {path} with {status}.", null, response.StatusCode);
        }

        var error = (await ReadErrorAsync(response, ct))
            ?? new PspError("invalid_request_error", $"http_{status}", $"The payment provider refused {path} with {status}.");
        if (response.StatusCode == HttpStatusCode.PaymentRequired)
        {
            throw new PaymentDeclinedException(error.DeclineCode ?? error.Code, error.Message);
        }

        throw new PaymentRequestRejectedException(error.Code, error.Message);
    }

    private static async Task<PspError?> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            return (await response.Content.ReadFromJsonAsync<PspErrorBody>(PspWire.Json, ct))?.Error;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Polly.CircuitBreaker;
using Polly.Timeout;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Shipping.Carriers;

/// <summary>
/// A carrier reached over the sandbox carrier protocol (JSON over HTTP: <c>POST rates</c>, <c>POST labels</c> with an
/// <c>Idempotency-Key</c> header, <c>POST labels/{id}/void</c>) through an <see cref="HttpClient"/> whose handler
/// chain carries the standard resilience pipeline (timeouts, jittered retries, circuit breaker). The pipeline retries
/// POSTs too: rates are read-only and purchases carry an idempotency key, so a repeated request cannot buy twice.
/// </summary>
public sealed class HttpCarrierClient(string carrier, HttpClient http) : ICarrierClient
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <inheritdoc />
    public string Carrier { get; } = carrier;

    /// <inheritdoc />
    public async Task<IReadOnlyList<Rate>> GetRatesAsync(CarrierRateRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var quote = await SendAsync<RatesResponse>(
            () => new HttpRequestMessage(HttpMethod.Post, "rates") { Content = JsonContent.Create(request, options: Json) },
            cancellationToken);
        return [.. quote.Rates.Select(r => new Rate(Carrier, r.Service, r.ServiceLevel, r.Amount, r.Currency, r.TransitDays))];
    }

    /// <inheritdoc />
    public async Task<CarrierLabel> PurchaseLabelAsync(CarrierPurchaseRequest request, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(idempotencyKey);
        var label = await SendAsync<LabelResponse>(
            () =>
            {
                var message = new HttpRequestMessage(HttpMethod.Post, "labels") { Content = JsonContent.Create(request, options: Json) };
                message.Headers.Add("Idempotency-Key", idempotencyKey);
                return message;
            },
            cancellationToken);
        return new CarrierLabel(label.LabelId, label.TrackingNumber, label.Service, label.Amount, label.Currency);
    }

    /// <inheritdoc />
    public async Task<bool> VoidLabelAsync(string carrierLabelId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(carrierLabelId);
        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Post, $"labels/{Uri.EscapeDataString(carrierLabelId)}/void"),
            cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        await ReadAsync<LabelResponse>(response, cancellationToken);
        return true;
    }

    private async Task<T> SendAsync<T>(Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(createRequest, cancellationToken);
        return await ReadAsync<T>(response, cancellationToken);
    }

    // Transport failures and the statuses the resilience pipeline retries (408, 429, 5xx) mean "unavailable":
    // they are still failing after the retries.
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            using var request = createRequest();
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested
            && e is HttpRequestException or TimeoutRejectedException or BrokenCircuitException or TaskCanceledException)
        {
            throw new CarrierUnavailableException($"Carrier {Carrier} is unreachable: {e.Message}", e);
        }

        if (response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500)
        {
            using (response)
            {
                throw new CarrierUnavailableException($"Carrier {Carrier} answered {(int)response.StatusCode} {response.ReasonPhrase} after retries.");
            }
        }

        return response;
    }

    private async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new CarrierRejectedException($"Carrier {Carrier} refused the request ({(int)response.StatusCode}): {problem}");
        }

        return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
            ?? throw new CarrierUnavailableException($"Carrier {Carrier} answered with an empty body.");
    }

    private sealed record RatesResponse(IReadOnlyList<RateResponse> Rates);

    private sealed record RateResponse(string Service, ServiceLevel ServiceLevel, decimal Amount, string Currency, int TransitDays);

    private sealed record LabelResponse(string LabelId, string TrackingNumber, string Service, decimal Amount, string Currency, string Status);
}

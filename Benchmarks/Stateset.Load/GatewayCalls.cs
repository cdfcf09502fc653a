using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stateset.Load;

/// <summary>A customer of the seed data and where their orders ship from and print.</summary>
/// <param name="Sku">What they order; one unit stays below the risk rules' amount thresholds.</param>
/// <param name="StationId">The print station of the warehouse that ships their orders.</param>
/// <param name="Format">What that station prints: zpl or pdf.</param>
internal sealed record Customer(string Id, string Currency, string Sku, object Address, string StationId, string Format)
{
    /// <summary>
    /// The two seed customers, each shipping to their own billing address from their country's warehouse, so the risk
    /// check adds at most "first order" and "velocity" (35 points, under the approval threshold of 50).
    /// </summary>
    public static readonly Customer[] Seed =
    [
        new("cus-ava", "USD", "TENT-2P", new { name = "Ava Martin", line1 = "1600 Amphitheatre Pkwy", city = "Mountain View", region = "CA", postalCode = "94043", country = "US" }, "ps-reno-1", "zpl"),
        new("cus-liam", "CAD", "TENT-2P", new { name = "Liam Tremblay", line1 = "290 Bremner Blvd", line2 = "Unit 4", city = "Toronto", region = "ON", postalCode = "M5V 3L9", country = "CA" }, "ps-mississauga-1", "pdf"),
    ];
}

/// <summary>How the gateway answered a print acknowledgement.</summary>
internal enum AckOutcome
{
    /// <summary>202: the label run goes on.</summary>
    Accepted,

    /// <summary>409: the label run does not wait for this job yet.</summary>
    NotWaiting,

    /// <summary>5xx: the gateway failed; a station tries again.</summary>
    ServerError,
}

/// <summary>One print job as a station sees it.</summary>
internal sealed record StationJob(string Id, string ShipmentId, string Carrier, string? CarrierLabelId);

/// <summary>An order as <c>GET /orders/{id}</c> shows it.</summary>
/// <param name="ETag">Its version, for <c>If-None-Match</c>.</param>
internal sealed record OrderView(bool Live, string Status, string Stage, bool Delivered, string? Failure, string? ETag);

/// <summary>The HTTP calls the load makes, each as the party that makes it (client, operator, print station, carrier).</summary>
internal sealed class GatewayCalls(HttpClient http, Uri gateway, Uri sandboxes)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Creates an API key with the admin key.</summary>
    public async Task<string> CreateKeyAsync(string adminKey, string name, string[] scopes, string? stationId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, "api-keys"))
        {
            Content = JsonContent.Create(new { name, scopes, stationId }),
        };
        request.Headers.Add("X-Api-Key", adminKey);
        using var response = await SendAsync(request, ct);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString()!;
    }

    /// <summary>Places an order: one line of the customer's SKU, or <paramref name="quantity"/> units of it.</summary>
    public async Task PlaceOrderAsync(string key, Customer customer, string orderId, int quantity, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, "orders"))
        {
            Content = JsonContent.Create(new
            {
                orderId,
                customerId = customer.Id,
                currency = customer.Currency,
                paymentMethod = "4242424242424242",
                lines = new[] { new { sku = customer.Sku, quantity } },
                shippingAddress = customer.Address,
                printStationId = customer.StationId,
            }),
        };
        request.Headers.Add("X-Api-Key", key);
        request.Headers.Add("Idempotency-Key", orderId);
        using var response = await SendAsync(request, ct);
    }

    /// <summary>Reads an order from the read model; null when it has not changed since <paramref name="etag"/>.</summary>
    public async Task<OrderView?> GetOrderAsync(string key, string orderId, string? etag, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, $"orders/{orderId}"));
        request.Headers.Add("X-Api-Key", key);
        if (etag is not null)
        {
            request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(etag));
        }

        using var response = await http.SendAsync(request, ct);
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            return null;
        }

        await EnsureSuccessAsync(request, response, ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        var status = body.GetProperty("status");
        string? Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        var delivered = status.TryGetProperty("shipment", out var shipment) && shipment.ValueKind == JsonValueKind.Object
            && Text(shipment, "deliveredAt") is not null;
        return new OrderView(
            body.GetProperty("live").GetBoolean(),
            Text(status, "status") ?? "?",
            Text(status, "stage") ?? "?",
            delivered,
            Text(status, "failureReason"),
            response.Headers.ETag?.ToString());
    }

    /// <summary>A station's queued jobs, waiting up to <paramref name="waitSeconds"/> for one.</summary>
    public async Task<IReadOnlyList<StationJob>> WaitForJobsAsync(string key, string stationId, int waitSeconds, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, $"print-stations/{stationId}/jobs?status=queued&waitSeconds={waitSeconds}&limit=200"));
        request.Headers.Add("X-Api-Key", key);
        using var response = await SendAsync(request, ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        return body.GetProperty("items").EnumerateArray().Select(item =>
        {
            var label = item.GetProperty("label");
            return new StationJob(
                item.GetProperty("id").GetString()!,
                item.GetProperty("shipmentId").GetString()!,
                label.GetProperty("carrier").GetString()!,
                label.TryGetProperty("carrierLabelId", out var id) ? id.GetString() : null);
        }).ToList();
    }

    /// <summary>Fetches the label file the station prints, as its printer would get it.</summary>
    public async Task FetchLabelAsync(string key, string shipmentId, string format, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, $"labels/{shipmentId}/label.{format}"));
        request.Headers.Add("X-Api-Key", key);
        using var response = await SendAsync(request, ct);
        await response.Content.CopyToAsync(Stream.Null, ct);
    }

    /// <summary>
    /// Acknowledges a printed job. 409 "not waiting" means the job's label run does not wait for it yet (the job is
    /// listed as soon as its row commits, before the run has taken in that step's result); 5xx means the gateway failed.
    /// </summary>
    public async Task<AckOutcome> TryAcknowledgeAsync(string key, string jobId, string stationId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, $"print-jobs/{jobId}/ack")) { Content = JsonContent.Create(new { stationId }) };
        request.Headers.Add("X-Api-Key", key);
        using var response = await http.SendAsync(request, ct);
        if (response.StatusCode == HttpStatusCode.Conflict
            && (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).TryGetProperty("title", out var title) && title.GetString() == "Not waiting")
        {
            return AckOutcome.NotWaiting;
        }

        if ((int)response.StatusCode >= 500)
        {
            return AckOutcome.ServerError;
        }

        await EnsureSuccessAsync(request, response, ct);
        return AckOutcome.Accepted;
    }

    /// <summary>Has the carrier sandbox move the parcel and send its signed webhook; fails unless the gateway took it.</summary>
    public async Task CarrierEventAsync(string carrier, string carrierLabelId, string status, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(sandboxes, $"carriers/{carrier}/sandbox/labels/{carrierLabelId}/events"))
        {
            Content = JsonContent.Create(new { status }),
        };
        using var response = await SendAsync(request, ct);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>(Json, ct);
        if (!result.GetProperty("delivered").GetBoolean())
        {
            var receiver = result.TryGetProperty("receiverStatus", out var code) && code.ValueKind == JsonValueKind.Number ? code.GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture) : "no answer";
            throw new LoadException($"The gateway did not take {carrier}'s {status} webhook for label {carrierLabelId} ({receiver}).");
        }
    }

    /// <summary>An operator decides an order that waits for approval.</summary>
    public async Task DecideAsync(string key, string orderId, string decision, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, $"orders/{orderId}/{decision}"))
        {
            Content = JsonContent.Create(new { reason = "load generator" }),
        };
        request.Headers.Add("X-Api-Key", key);
        using var response = await SendAsync(request, ct);
    }

    private static async Task EnsureSuccessAsync(HttpRequestMessage request, HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            throw new LoadException($"{request.Method} {request.RequestUri!.PathAndQuery} answered {(int)response.StatusCode}: {body}");
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var response = await http.SendAsync(request, ct);
        try
        {
            await EnsureSuccessAsync(request, response, ct);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Stateset.Sandboxes.Carriers;

/// <summary>
/// POSTs tracking events to the configured receiver, signed the way real carriers sign webhooks: header
/// <c>Carrier-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "t.body"&gt;</c>. Signing the timestamp with the
/// body lets the receiver refuse replays of old events as well as tampered ones.
/// </summary>
public sealed class TrackingWebhookSender(HttpClient http, IOptions<CarrierSandboxOptions> options, TimeProvider time)
{
    /// <summary>The signature header's name.</summary>
    public const string SignatureHeader = "Carrier-Signature";

    /// <summary>Computes the signature header value for a body sent at <paramref name="timestamp"/>.</summary>
    public static string Sign(string secret, string body, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(body);
        var t = timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{t}.{body}"));
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <summary>Sends one event; an unreachable receiver is reported, not thrown, as carriers just retry later.</summary>
    public async Task<TrackingEventResultDto> SendAsync(TrackingWebhookDto webhook, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.WebhookUrl is null)
        {
            return new TrackingEventResultDto(webhook, Delivered: false, ReceiverStatus: null);
        }

        var body = JsonSerializer.Serialize(webhook, CarrierSandboxApi.Json);
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.WebhookUrl)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(SignatureHeader, Sign(settings.WebhookSecret, body, time.GetUtcNow()));
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return new TrackingEventResultDto(webhook, response.IsSuccessStatusCode, (int)response.StatusCode);
        }
        catch (HttpRequestException)
        {
            return new TrackingEventResultDto(webhook, Delivered: false, ReceiverStatus: null);
        }
    }
}

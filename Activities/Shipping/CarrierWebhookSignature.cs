using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Stateset.Activities.Shipping;

/// <summary>Why a carrier webhook's signature was refused (or that it was not).</summary>
public enum WebhookSignatureCheck
{
    /// <summary>The signature matches and the timestamp is fresh.</summary>
    Valid,

    /// <summary>No signature header, or one that is not <c>t=…,v1=…</c>.</summary>
    Malformed,

    /// <summary>The timestamp is further from now than the tolerance: a replay or a badly skewed clock.</summary>
    Stale,

    /// <summary>The HMAC does not match: wrong secret or a body changed in transit.</summary>
    Mismatch,
}

/// <summary>
/// Carrier tracking webhooks carry <c>Carrier-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, "t.body")&gt;</c>.
/// The receiver checks the MAC over the raw body (in constant time) and that <c>t</c> is within a tolerance of its own
/// clock, so neither a tampered body nor a replay of an old, validly signed event is accepted.
/// </summary>
public static class CarrierWebhookSignature
{
    /// <summary>The header carrying the signature.</summary>
    public const string HeaderName = "Carrier-Signature";

    /// <summary>How far the signed timestamp may be from the receiver's clock by default.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>Computes the header value for <paramref name="body"/> signed at <paramref name="timestamp"/>.</summary>
    public static string Sign(string secret, string body, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(body);
        var t = timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"t={t},v1={Convert.ToHexStringLower(Mac(secret, t, body))}";
    }

    /// <summary>Checks a received signature header against the raw body.</summary>
    public static WebhookSignatureCheck Verify(string secret, string? header, string body, DateTimeOffset now, TimeSpan? tolerance = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        string? t = null;
        var signatures = new List<byte[]>();
        foreach (var part in (header ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = part.IndexOf('=', StringComparison.Ordinal) is var eq and > 0 ? (part[..eq], part[(eq + 1)..]) : (part, string.Empty);
            if (key == "t")
            {
                t = value;
            }
            else if (key == "v1" && value.Length == 64 && value.All(char.IsAsciiHexDigit))
            {
                // Several v1 entries let a carrier sign with old and new secret while rotating.
                signatures.Add(Convert.FromHexString(value));
            }
        }

        if (t is null || signatures.Count == 0
            || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return WebhookSignatureCheck.Malformed;
        }

        var expected = Mac(secret, t, body);
        if (!signatures.Any(signature => CryptographicOperations.FixedTimeEquals(signature, expected)))
        {
            return WebhookSignatureCheck.Mismatch;
        }

        var age = now - DateTimeOffset.FromUnixTimeSeconds(seconds);
        return age.Duration() > (tolerance ?? DefaultTolerance) ? WebhookSignatureCheck.Stale : WebhookSignatureCheck.Valid;
    }

    private static byte[] Mac(string secret, string timestamp, string body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}"));
    }
}

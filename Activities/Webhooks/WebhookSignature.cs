using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Stateset.Activities.Webhooks;

/// <summary>The outcome of checking a webhook signature header.</summary>
public enum WebhookSignatureCheck
{
    /// <summary>A <c>v1</c> signature matches and the timestamp is inside the tolerance.</summary>
    Valid,

    /// <summary>No header was sent.</summary>
    Missing,

    /// <summary>The header is not <c>t=…,v1=…</c>.</summary>
    Malformed,

    /// <summary>No <c>v1</c> signature matches the body and timestamp (wrong secret or tampered body).</summary>
    Mismatch,

    /// <summary>The signature matches but its timestamp is too old or too far ahead (a replay).</summary>
    Stale,
}

/// <summary>
/// Stripe-style timestamped webhook signatures: header <c>t={unix seconds},v1={hex HMAC-SHA256}</c> where the
/// HMAC is keyed by the shared secret over <c>"{t}.{raw body}"</c>. Signing the timestamp with the body lets a
/// receiver refuse replays of old deliveries. Used by the payment provider sandbox and the gateway's callback
/// (provider to us) and by the outbox dispatcher (us to subscribers).
/// </summary>
public static class WebhookSignature
{
    /// <summary>How far a signature's timestamp may be from the receiver's clock, as Stripe's libraries default.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>Computes the header value for a body sent at a time.</summary>
    public static string Create(string secret, string body, DateTimeOffset timestamp)
    {
        var seconds = timestamp.ToUnixTimeSeconds();
        return $"t={seconds.ToString(CultureInfo.InvariantCulture)},v1={Compute(secret, seconds, body)}";
    }

    /// <summary>Checks a received header against the raw body; several <c>v1</c> entries (secret rotation) are allowed.</summary>
    public static WebhookSignatureCheck Verify(string secret, string body, string? header, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return WebhookSignatureCheck.Missing;
        }

        long? timestamp = null;
        var signatures = new List<string>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var separator = part.IndexOf('=', StringComparison.Ordinal);
            if (separator <= 0)
            {
                return WebhookSignatureCheck.Malformed;
            }

            var (key, value) = (part[..separator], part[(separator + 1)..]);
            if (key == "t")
            {
                // Past year 9999 no instant exists to compare with; such a header was never made by a real sender.
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
                {
                    return WebhookSignatureCheck.Malformed;
                }

                timestamp = seconds;
            }
            else if (key == "v1")
            {
                signatures.Add(value);
            }
        }

        if (timestamp is not { } t || signatures.Count == 0)
        {
            return WebhookSignatureCheck.Malformed;
        }

        var expected = Encoding.ASCII.GetBytes(Compute(secret, t, body));
        var matches = signatures.Any(signature => CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature.ToLowerInvariant())));
        if (!matches)
        {
            return WebhookSignatureCheck.Mismatch;
        }

        var age = now - DateTimeOffset.FromUnixTimeSeconds(t);
        return age.Duration() <= tolerance ? WebhookSignatureCheck.Valid : WebhookSignatureCheck.Stale;
    }

    private static string Compute(string secret, long seconds, string body)
    {
        var signed = Encoding.UTF8.GetBytes($"{seconds.ToString(CultureInfo.InvariantCulture)}.{body}");
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }
}

using System.Security.Cryptography;

namespace Stateset.Stack;

/// <summary>
/// The local stack's first API key (admin scope). Made once and kept, readable only by its owner, in the data
/// folder, so it stays the same across restarts of the stack; the gateway stores only its hash.
/// </summary>
internal static class AdminKey
{
    public static async Task<string> LoadOrCreateAsync(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, "admin-api-key");
        if (File.Exists(path))
        {
            return (await File.ReadAllTextAsync(path)).Trim();
        }

        Directory.CreateDirectory(dataDirectory);
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var key = $"ss_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}_{secret}";
        await File.WriteAllTextAsync(path, key);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return key;
    }
}

/// <summary>
/// The shared secrets between the local sandboxes and the services that call them or verify their webhooks.
/// They protect nothing real: the sandboxes run only on loopback, for development.
/// </summary>
internal static class SandboxSecrets
{
    public const string PaymentProvider = "whsec_sandbox";

    public const string Carriers = "carrier-sandbox-webhook-secret";

    public static readonly string[] CarrierCodes = ["ridgeline", "swiftair", "maplepost"];
}

namespace Stateset.Gateway.Tests;

/// <summary>
/// A test that drives the machine's Chromium. Where the browser is missing it is reported as skipped with this
/// reason, except in CI (<c>CI</c> set): <c>.ci/run</c> installs Chromium, so there a missing browser fails the
/// test rather than hiding it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(ExecutablePath) && Environment.GetEnvironmentVariable("CI") is not { Length: > 0 })
        {
            Skip = $"no Chromium at {ExecutablePath}: apt-get install chromium, or set CHROMIUM_PATH";
        }
    }

    /// <summary>Gets the browser to drive: <c>CHROMIUM_PATH</c>, else Debian's <c>/usr/bin/chromium</c>.</summary>
    public static string ExecutablePath { get; } =
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromium";
}

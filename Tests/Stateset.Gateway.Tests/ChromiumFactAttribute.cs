namespace Stateset.Gateway.Tests;

/// <summary>
/// A test that drives the machine's Chromium. Where the browser is missing it is reported as skipped with this
/// reason, except in CI (<c>CI</c> set): <c>.ci/run</c> installs Chromium, so there a missing browser fails the
/// test rather than hiding it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ChromiumFactAttribute : FactAttribute
{
    private const string HeadlessShell = "/usr/bin/chromium-headless-shell";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ExecutablePath) && Environment.GetEnvironmentVariable("CI") is not { Length: > 0 })
        {
            Skip = $"no Chromium at {ExecutablePath}: apt-get install chromium-headless-shell (or chromium), or set CHROMIUM_PATH";
        }
    }

    /// <summary>
    /// Gets the browser to drive: <c>CHROMIUM_PATH</c>, else Debian's headless shell
    /// (<c>/usr/bin/chromium-headless-shell</c>, package <c>chromium-headless-shell</c>), else Debian's full
    /// <c>/usr/bin/chromium</c>. The headless shell is the same Blink and V8 without the browser's own UI, and what
    /// Playwright itself runs for headless Chromium; the browser tests' Chromium took 7 s of CPU with it against 18 s
    /// with the full browser.
    /// </summary>
    public static string ExecutablePath { get; } =
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path
        : File.Exists(HeadlessShell) ? HeadlessShell
        : "/usr/bin/chromium";
}

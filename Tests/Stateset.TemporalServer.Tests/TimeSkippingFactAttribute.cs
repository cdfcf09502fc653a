namespace Stateset.TemporalServer.Tests;

/// <summary>
/// A fact that needs the embedded server's virtual clock: skipped when TEMPORAL_ADDRESS points the suite at a real
/// server (xunit v2 decides skips when it discovers tests, so this reads the same variable the environment does).
/// </summary>
public sealed class TimeSkippingFactAttribute : FactAttribute
{
    public TimeSkippingFactAttribute()
    {
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS")))
        {
            Skip = "needs the embedded server's virtual clock (TEMPORAL_ADDRESS is set)";
        }
    }
}

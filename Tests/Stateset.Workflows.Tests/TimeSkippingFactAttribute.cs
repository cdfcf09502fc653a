namespace Stateset.Workflows.Tests;

/// <summary>
/// A test that waits hours or days of workflow time, which only the embedded server can skip. Against a real
/// Temporal (TEMPORAL_ADDRESS set) it is reported as skipped, with this reason, rather than waiting for days.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TimeSkippingFactAttribute : FactAttribute
{
    private const string Reason = "needs the embedded server's time skipping; TEMPORAL_ADDRESS points at a real Temporal";

    public TimeSkippingFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS") is { Length: > 0 })
        {
            Skip = Reason;
        }
    }
}

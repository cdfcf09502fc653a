using Xunit;

namespace Stateset.Testing;

/// <summary>
/// A test that waits hours or days of workflow time, which only the embedded server's virtual clock can skip. The
/// suite runs against the embedded server unless TEMPORAL_ADDRESS points it at a real Temporal (the embedded server's
/// fidelity check); there such a test is reported as skipped, with this reason, rather than waiting for days. xunit v2
/// decides skips when it discovers tests, so this reads the same variable the test environment does.
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

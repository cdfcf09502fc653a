using Xunit;

namespace Stateset.Testing;

/// <summary>
/// A test that waits hours or days of workflow time, which only a time-skipping test server's virtual clock can skip
/// (the embedded server's executable or Temporal's own, as <see cref="TemporalEnvironments"/> launches them). With
/// TEMPORAL_ADDRESS pointing the suite at a running Temporal (the embedded server's fidelity check) such a test is
/// reported as skipped, with this reason, rather than waiting for days. xunit v2 decides skips when it discovers tests,
/// so this reads the same variable the test environment does.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TimeSkippingFactAttribute : FactAttribute
{
    private const string Reason = "needs a time-skipping test server; TEMPORAL_ADDRESS points at a running Temporal";

    public TimeSkippingFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS") is { Length: > 0 })
        {
            Skip = Reason;
        }
    }
}

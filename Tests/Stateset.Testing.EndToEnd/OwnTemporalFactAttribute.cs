using Xunit;

namespace Stateset.Testing.EndToEnd;

/// <summary>
/// A test that kills and restarts the Temporal server it runs on, which it can only do to a server it launched: with
/// TEMPORAL_ADDRESS pointing the suite at a running Temporal it is reported as skipped, with this reason. (xunit v2
/// decides skips when it discovers tests, so this reads the same variable the fixture does.)
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OwnTemporalFactAttribute : FactAttribute
{
    /// <summary>Initializes a new instance of the <see cref="OwnTemporalFactAttribute"/> class.</summary>
    public OwnTemporalFactAttribute()
    {
        if (StatesetSystemOnAKillableTemporal.UsesAGivenTemporal)
        {
            Skip = "kills its Temporal server; TEMPORAL_ADDRESS points at a running Temporal no test may kill";
        }
    }
}

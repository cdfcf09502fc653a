namespace Stateset.Activities.Tests;

/// <summary>A clock tests move by hand, so rules about windows and backoff are checked without waiting.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

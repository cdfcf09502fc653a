using System.Diagnostics;

namespace Stateset.Database;

/// <summary>
/// Background statements that run on a clock whether or not there is work (polls, keep-alive pings) would bury the
/// traces people look for under one-span traces. Inside <see cref="Begin"/> spans are children of a root that is not
/// sampled, which tracers sampling by their parent (OpenTelemetry's default) drop; what such a poll finds to do is
/// traced as usual outside it.
/// </summary>
public static class UntracedStatements
{
    /// <summary>Starts the unsampled scope; disposing it brings back the ambient span.</summary>
    public static IDisposable Begin()
    {
        var previous = Activity.Current;
        Activity.Current = null;
        var root = new Activity("untraced background statements") { ActivityTraceFlags = ActivityTraceFlags.None };
        root.SetIdFormat(ActivityIdFormat.W3C);
        root.Start();
        return new Scope(root, previous);
    }

    private sealed class Scope(Activity root, Activity? previous) : IDisposable
    {
        public void Dispose()
        {
            root.Stop();
            Activity.Current = previous;
        }
    }
}

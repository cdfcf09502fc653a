using Temporalio.Activities;

namespace Stateset.Activities;

/// <summary>The running activity's cancellation token (cancel requests and worker shutdown), or none outside one.</summary>
internal static class ActivityCancellation
{
    public static CancellationToken Token =>
        ActivityExecutionContext.HasCurrent ? ActivityExecutionContext.Current.CancellationToken : CancellationToken.None;
}

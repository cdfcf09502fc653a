using System.Linq.Expressions;

namespace Stateset.Workflows.Common;

/// <summary>
/// Runs the steps that are short transactions on our own PostgreSQL and call no outside provider: as local activities
/// on the <see cref="Patches.DatabaseStepsAsLocalActivities"/> path (<see cref="ActivityProfiles.LocalBusinessStep"/>,
/// <see cref="ActivityProfiles.LocalBookkeeping"/>), else as the activities they were, with the same retries. The
/// path is chosen once per run, so a run that started on one never mixes in the other.
/// </summary>
/// <param name="local">Whether the run took the local-activity path.</param>
public sealed class DatabaseSteps(bool local)
{
    /// <summary>A business step that can fail for good (validation, stock): <see cref="ActivityProfiles.BusinessStep"/>.</summary>
    public Task<TResult> BusinessStepAsync<TActivities, TResult>(Expression<Func<TActivities, Task<TResult>>> call) =>
        local ? Calls.LocalActivityAsync(call, ActivityProfiles.LocalBusinessStep) : Calls.ActivityAsync(call, ActivityProfiles.BusinessStep);

    /// <summary>A write retried until it succeeds: <see cref="ActivityProfiles.Bookkeeping"/>.</summary>
    public Task<TResult> BookkeepingAsync<TActivities, TResult>(Expression<Func<TActivities, Task<TResult>>> call) =>
        local ? Calls.LocalActivityAsync(call, ActivityProfiles.LocalBookkeeping) : Calls.ActivityAsync(call, ActivityProfiles.Bookkeeping);

    /// <summary>
    /// A write retried until it succeeds, without a result; <paramref name="detached"/> when a cancelled run must
    /// still make it (its closing write).
    /// </summary>
    public Task BookkeepingAsync<TActivities>(Expression<Func<TActivities, Task>> call, bool detached = false) => local
        ? Calls.LocalActivityAsync(call, detached ? ActivityProfiles.DetachedLocalBookkeeping : ActivityProfiles.LocalBookkeeping)
        : Calls.ActivityAsync(call, detached ? ActivityProfiles.DetachedBookkeeping : ActivityProfiles.Bookkeeping);
}

namespace Stateset.TemporalServer.Engine;

/// <summary>
/// The time-skipping controls of Temporal's test server (its <c>TestService</c>): a lock counter, and sleeps on the
/// virtual clock. As on the Java test server, the clock jumps only while the counter is not positive and nothing is
/// outstanding; a locked clock runs at real speed. The SDK's <c>WorkflowEnvironment</c> unlocks it while a test awaits a
/// workflow result and while it calls <c>DelayAsync</c>.
/// </summary>
internal sealed partial class TemporalEngine
{
    public void LockTimeSkipping() => Execute(() => _timeSkippingLocks++);

    /// <summary>
    /// Releases one lock. The counter may go below zero: the SDK unlocks once per result it awaits and locks again when
    /// that result arrives, so a test awaiting several results at once unlocks more often than the one lock it started
    /// with (Temporal's test server has locks of its own for outstanding work that absorb these). Below zero is as
    /// unlocked as zero, and the counter is balanced again once every await has locked again.
    /// </summary>
    public void UnlockTimeSkipping() => Execute(() => _timeSkippingLocks--);

    /// <summary>Waits until the virtual clock has moved <paramref name="duration"/> on (by skipping or by real time).</summary>
    public Task SleepAsync(TimeSpan duration, CancellationToken cancellationToken) =>
        SleepUntilAsync(DateTimeOffset.MinValue, duration, unlock: false, cancellationToken);

    /// <summary>Waits until the virtual clock reaches <paramref name="until"/>.</summary>
    public Task SleepUntilAsync(DateTimeOffset until, CancellationToken cancellationToken) =>
        SleepUntilAsync(until, TimeSpan.Zero, unlock: false, cancellationToken);

    /// <summary>
    /// Unlocks time skipping, waits until the clock has moved <paramref name="duration"/> on, and locks it again at that
    /// instant, so the clock cannot run past the end of the sleep. With other locks held it waits in real time.
    /// </summary>
    public Task UnlockTimeSkippingWithSleepAsync(TimeSpan duration, CancellationToken cancellationToken) =>
        SleepUntilAsync(DateTimeOffset.MinValue, duration, unlock: true, cancellationToken);

    private async Task SleepUntilAsync(DateTimeOffset until, TimeSpan duration, bool unlock, CancellationToken cancellationToken)
    {
        RequireTimeSkipping();
        var woke = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var relocked = false;
        var timer = Execute(() =>
        {
            var due = until == DateTimeOffset.MinValue ? NowLocked() + duration : until;
            var scheduled = Schedule(due, () =>
            {
                if (unlock)
                {
                    _timeSkippingLocks++;
                    relocked = true;
                }

                woke.TrySetResult();
            });
            if (unlock)
            {
                _timeSkippingLocks--;
            }

            return scheduled;
        });

        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            await woke.Task.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            // The caller went away: take the timer back and restore the lock it lent, so the counter stays balanced.
            Execute(() =>
            {
                CancelTimer(timer);
                if (unlock && !relocked)
                {
                    _timeSkippingLocks++;
                }
            });
            throw;
        }
    }

    private void RequireTimeSkipping()
    {
        if (!TimeSkipping)
        {
            throw Errors.FailedPrecondition("The server runs in dev mode on the real clock; only a time-skipping server can skip time.");
        }
    }
}

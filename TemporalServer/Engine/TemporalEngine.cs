using Google.Protobuf.WellKnownTypes;
using Temporalio.Api.Enums.V1;
using Temporalio.Api.History.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>
/// All server state: namespaces, workflow runs, task queues and the clock. One lock guards everything, which keeps
/// cross-workflow effects (children, external signals) atomic without lock ordering; each RPC holds it for
/// microseconds, far less than the gRPC cost around it.
/// </summary>
internal sealed partial class TemporalEngine : IAsyncDisposable
{
    private static readonly TimeSpan MaxPollWait = TimeSpan.FromSeconds(55);

    private readonly object _gate = new();
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<string> _namespaces = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Ns, string WorkflowId), List<WorkflowRun>> _runsByWorkflowId = [];
    private readonly Dictionary<(string Ns, string WorkflowId, string RunId), WorkflowRun> _runs = [];
    private readonly List<WorkflowRun> _allRuns = [];
    private readonly Dictionary<(string Ns, string Name), TaskQueue<WorkflowTaskEntry>> _workflowQueues = [];
    private readonly Dictionary<(string Ns, string Name), TaskQueue<ActivityTaskEntry>> _activityQueues = [];
    private readonly Dictionary<Guid, WorkflowRun> _workflowTaskTokens = [];
    private readonly Dictionary<Guid, (WorkflowRun Run, ActivityState Activity)> _activityTokens = [];
    private readonly Dictionary<Guid, QueryTask> _queryTokens = [];
    private readonly HashSet<WorkflowRun> _possiblyBusy = [];
    private readonly SortedSet<ScheduledTimer> _timers = new(Comparer<ScheduledTimer>.Create(
        (a, b) => a.Due != b.Due ? a.Due.CompareTo(b.Due) : a.Sequence.CompareTo(b.Sequence)));

    private readonly Queue<Action> _deferred = new();
    private readonly Dictionary<HistoryEvent, Action<long>> _bufferedCallbacks = new(ReferenceEqualityComparer.Instance);
    private readonly Task _clockLoop;
    private readonly AutoTimeSkipping _autoSkipping;
    private TaskCompletionSource _clockWake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _clockSleepsUntil = DateTimeOffset.MaxValue;
    private TimeSpan _offset;
    private DateTimeOffset _lastNow;
    private long _timerSequence;
    private int _resultWaiters;
    private int _timeSkippingLocks;

    public TemporalEngine(
        bool timeSkipping, AutoTimeSkipping autoSkipping, bool startLocked, IEnumerable<string> namespaces, ILogger logger, RunStore? store = null)
    {
        TimeSkipping = timeSkipping;
        _autoSkipping = autoSkipping;
        _timeSkippingLocks = startLocked ? 1 : 0;
        _logger = logger;
        foreach (var ns in namespaces)
        {
            _namespaces.Add(ns);
        }

        _store = store;
        if (store is not null)
        {
            Restore();
            _writerLoop = Task.Run(RunWriterAsync);
        }

        _clockLoop = Task.Run(RunClockAsync);
    }

    public bool TimeSkipping { get; }

    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Gets the server's clock: real time in dev mode, real time plus every skip in time-skipping mode.</summary>
    public DateTimeOffset Now
    {
        get
        {
            lock (_gate)
            {
                return NowLocked();
            }
        }
    }

    /// <summary>Ends every long poll and stops the clock; RPCs still arriving get empty or error answers.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync();
        lock (_gate)
        {
            foreach (var queue in _workflowQueues.Values)
            {
                queue.WakeAll();
            }

            foreach (var queue in _activityQueues.Values)
            {
                queue.WakeAll();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            await _clockLoop;
        }
        catch (OperationCanceledException)
        {
            // Stopping is the expected end of the clock loop.
        }

        // The writer commits what is still dirty before it ends, so a clean stop leaves the file complete.
        await _writerLoop;
        _store?.Dispose();

        _stopping.Dispose();
    }

    public void Skip(TimeSpan duration)
    {
        if (!TimeSkipping)
        {
            throw new InvalidOperationException("The server runs in dev mode on the real clock; only a time-skipping server can skip time.");
        }

        if (duration < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), "Time only moves forward.");
        }

        Execute(() =>
        {
            _offset += duration;
            FireDueTimers();
        });
    }

    public bool RegisterNamespace(string ns) => Execute(() =>
    {
        var added = _namespaces.Add(ns);
        if (added && _store is not null)
        {
            _namespacesDirty = true;
            _writeWanted.TrySetResult();
        }

        return added;
    });

    public bool NamespaceExists(string ns)
    {
        lock (_gate)
        {
            return _namespaces.Contains(ns);
        }
    }

    public IReadOnlyList<string> ListNamespaces()
    {
        lock (_gate)
        {
            return [.. _namespaces];
        }
    }

    /// <summary>Runs a state change under the lock, then the cross-workflow effects it queued, then wakes the clock.</summary>
    private T Execute<T>(Func<T> change)
    {
        T result;
        lock (_gate)
        {
            try
            {
                result = change();
            }
            finally
            {
                DrainDeferred();
            }
        }

        PokeClock();
        return result;
    }

    private void Execute(Action change) => Execute(() =>
    {
        change();
        return true;
    });

    private void Defer(Action action) => _deferred.Enqueue(action);

    private void DrainDeferred()
    {
        while (_deferred.TryDequeue(out var action))
        {
            try
            {
                action();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _logger.LogError(e, "A deferred cross-workflow action failed");
            }
        }
    }

    private void RequireNamespace(string ns)
    {
        if (string.IsNullOrEmpty(ns))
        {
            throw Errors.InvalidArgument("Namespace is not set on request.");
        }

        if (!_namespaces.Contains(ns))
        {
            throw Errors.NamespaceNotFound(ns);
        }
    }

    private DateTimeOffset NowLocked()
    {
        var now = DateTimeOffset.UtcNow + _offset;
        if (now < _lastNow)
        {
            now = _lastNow;
        }

        _lastNow = now;
        return now;
    }

    private Timestamp NowStamp() => Timestamp.FromDateTimeOffset(NowLocked());

    private ScheduledTimer Schedule(DateTimeOffset due, Action fire)
    {
        var timer = new ScheduledTimer { Due = due, Sequence = ++_timerSequence, Fire = fire };
        _timers.Add(timer);
        if (due < _clockSleepsUntil)
        {
            _clockWake.TrySetResult();
        }

        return timer;
    }

    private ScheduledTimer Schedule(TimeSpan delay, Action fire) => Schedule(NowLocked() + delay, fire);

    private void CancelTimer(ScheduledTimer? timer)
    {
        if (timer is not null)
        {
            _timers.Remove(timer);
        }
    }

    /// <summary>
    /// Wakes the clock after a state change. Only time skipping needs it (idleness may have changed); otherwise the
    /// clock sleeps until its next timer and <see cref="Schedule(DateTimeOffset, Action)"/> wakes it for earlier ones.
    /// </summary>
    private void PokeClock()
    {
        if (TimeSkipping)
        {
            _clockWake.TrySetResult();
        }
    }

    private void FireDueTimers()
    {
        while (_timers.Min is { } next && next.Due <= NowLocked())
        {
            _timers.Remove(next);
            try
            {
                next.Fire();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _logger.LogError(e, "A timer action failed");
            }

            DrainDeferred();
        }
    }

    private async Task RunClockAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                var (wake, wait) = NextClockStep();
                await Task.WhenAny(wake, Task.Delay(wait, _stopping.Token));
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The clock must keep running whatever one step did; timers fire one by one, so retrying is safe.
                _logger.LogError(e, "The clock step failed");
                await Task.Delay(100, _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Fires due timers, skips time when allowed, and says how long the clock may sleep.</summary>
    private (Task Wake, TimeSpan Wait) NextClockStep()
    {
        while (true)
        {
            Task wake;
            TimeSpan wait;
            lock (_gate)
            {
                _clockWake = new(TaskCreationOptions.RunContinuationsAsynchronously);
                wake = _clockWake.Task;
                FireDueTimers();
                _clockSleepsUntil = DateTimeOffset.MaxValue;
                if (_timers.Min is null)
                {
                    wait = Timeout.InfiniteTimeSpan;
                }
                else if (TimeSkipping && MaySkipNow() && IsIdle())
                {
                    // Nothing can happen before the next timer: jump the clock to it.
                    var gap = _timers.Min.Due - NowLocked();
                    if (gap > TimeSpan.Zero)
                    {
                        _offset += gap;
                        _logger.LogDebug("Skipped time by {Gap}", gap);
                    }

                    continue;
                }
                else
                {
                    wait = _timers.Min.Due - NowLocked();
                    if (wait < TimeSpan.Zero)
                    {
                        wait = TimeSpan.Zero;
                    }

                    // Idleness also changes with real time (a queue nobody polls stops counting), so look again soon.
                    if (TimeSkipping && wait > TimeSpan.FromMilliseconds(250))
                    {
                        wait = TimeSpan.FromMilliseconds(250);
                    }

                    _clockSleepsUntil = NowLocked() + wait;
                }
            }

            return (wake, wait);
        }
    }

    private bool MaySkipNow() => _timeSkippingLocks <= 0 && _autoSkipping switch
    {
        AutoTimeSkipping.WheneverIdle => true,
        AutoTimeSkipping.WhileAwaitingResult => _resultWaiters > 0,
        _ => false,
    };

    /// <summary>
    /// True when no workflow or activity task is outstanding: nothing queued for a live poller and nothing dispatched and
    /// unanswered (an activity waiting for async completion is outstanding, unless the workflow asked to cancel it). Tasks queued on a queue that nobody has
    /// polled for 10 s do not count after 2 s, so an abandoned test's leftovers cannot freeze the clock for everyone.
    /// </summary>
    private bool IsIdle()
    {
        var idle = true;
        List<WorkflowRun>? done = null;
        foreach (var run in _possiblyBusy)
        {
            if (!run.HasOutstandingWork)
            {
                (done ??= []).Add(run);
                continue;
            }

            if (run.WorkflowTask is { } wft && (wft.Started || IsLive(WorkflowQueue(run.Namespace, wft.QueueName), wft.ScheduledRealUtc)))
            {
                idle = false;
                break;
            }

            foreach (var activity in run.Activities.Values)
            {
                // A started activity the workflow asked to cancel no longer holds the workflow up (TRY_CANCEL moves on).
                if ((activity.State == ActivityStatus.Started && !activity.CancelRequested) ||
                    (activity.State == ActivityStatus.Scheduled &&
                     IsLive(ActivityQueue(run.Namespace, activity.Attributes.TaskQueue.Name), activity.QueuedRealUtc)))
                {
                    idle = false;
                    break;
                }
            }

            if (!idle)
            {
                break;
            }
        }

        if (done is not null)
        {
            foreach (var run in done)
            {
                _possiblyBusy.Remove(run);
            }
        }

        return idle;
    }

    /// <summary>Only the time-skipping clock asks which runs are busy; in dev mode the set would just grow.</summary>
    private void MarkPossiblyBusy(WorkflowRun run)
    {
        if (TimeSkipping)
        {
            _possiblyBusy.Add(run);
        }
    }

    private static bool IsLive<T>(TaskQueue<T> queue, DateTime queuedRealUtc)
        where T : class =>
        queue.RecentlyPolled || DateTime.UtcNow - queuedRealUtc < TimeSpan.FromSeconds(2);

    private TaskQueue<WorkflowTaskEntry> WorkflowQueue(string ns, string name)
    {
        if (!_workflowQueues.TryGetValue((ns, name), out var queue))
        {
            queue = new(name);
            _workflowQueues[(ns, name)] = queue;
        }

        return queue;
    }

    private TaskQueue<ActivityTaskEntry> ActivityQueue(string ns, string name)
    {
        if (!_activityQueues.TryGetValue((ns, name), out var queue))
        {
            queue = new(name);
            _activityQueues[(ns, name)] = queue;
        }

        return queue;
    }

    /// <summary>
    /// Long-polls a queue: takes the first entry <paramref name="tryStart"/> accepts (stale entries are dropped), else
    /// waits until woken, the poller goes away, or the poll times out (then returns null: an empty poll response).
    /// </summary>
    private async Task<TResult?> PollAsync<TEntry, TResult>(
        Func<TaskQueue<TEntry>> queueOf, Func<TEntry, TResult?> tryStart, DateTime? deadline, CancellationToken cancellationToken)
        where TEntry : class
        where TResult : class
    {
        var wait = MaxPollWait;
        if (deadline is { } d && d != DateTime.MaxValue)
        {
            var untilDeadline = d.ToUniversalTime() - DateTime.UtcNow - TimeSpan.FromSeconds(1);
            if (untilDeadline < wait)
            {
                wait = untilDeadline < TimeSpan.Zero ? TimeSpan.Zero : untilDeadline;
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        timeout.CancelAfter(wait);
        while (true)
        {
            TaskQueue<TEntry> queue;
            LinkedListNode<TaskCompletionSource> waiter;
            var result = default(TResult);
            lock (_gate)
            {
                queue = queueOf();
                queue.LastPolledUtc = DateTime.UtcNow;
                try
                {
                    while (queue.TryTake(out var entry))
                    {
                        result = tryStart(entry);
                        if (result is not null)
                        {
                            break;
                        }
                    }
                }
                finally
                {
                    DrainDeferred();
                }

                waiter = result is null ? queue.AddWaiter() : null!;
            }

            if (result is not null)
            {
                PokeClock();
                return result;
            }

            if (timeout.IsCancellationRequested)
            {
                lock (_gate)
                {
                    queue.RemoveWaiter(waiter);
                }

                return null;
            }

            try
            {
                await waiter.Value.Task.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    queue.RemoveWaiter(waiter);
                    queue.LastPolledUtc = DateTime.UtcNow;
                }

                PokeClock();
                return null;
            }
        }
    }

    private HistoryEvent NewEvent(EventType type) => new() { EventType = type, EventTime = NowStamp() };
}

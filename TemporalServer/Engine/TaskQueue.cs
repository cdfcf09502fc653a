namespace Stateset.TemporalServer.Engine;

/// <summary>
/// A matching queue: tasks wait here for a poller and pollers wait for a task. Only touched under the engine lock;
/// pollers are woken, then take the task themselves under the lock, so a poller that went away never swallows one.
/// </summary>
internal sealed class TaskQueue<T>
    where T : class
{
    private readonly Queue<T> _pending = new();
    private readonly LinkedList<TaskCompletionSource> _waiters = new();

    public TaskQueue(string name) => Name = name;

    public string Name { get; }

    public DateTime LastPolledUtc { get; set; } = DateTime.MinValue;

    public int PendingCount => _pending.Count;

    public bool HasPollers => _waiters.Count > 0;

    /// <summary>Gets each poller's identity and when it last polled (engine clock), for DescribeTaskQueue.</summary>
    public Dictionary<string, DateTimeOffset> Pollers { get; } = new(StringComparer.Ordinal);

    public bool RecentlyPolled => _waiters.Count > 0 || DateTime.UtcNow - LastPolledUtc < TimeSpan.FromSeconds(10);

    public void Add(T task)
    {
        _pending.Enqueue(task);
        if (_waiters.First is { } first)
        {
            _waiters.RemoveFirst();
            first.Value.TrySetResult();
        }
    }

    public bool TryTake(out T task) => _pending.TryDequeue(out task!);

    public LinkedListNode<TaskCompletionSource> AddWaiter() =>
        _waiters.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void RemoveWaiter(LinkedListNode<TaskCompletionSource> node)
    {
        if (node.List == _waiters)
        {
            _waiters.Remove(node);
        }
    }

    public void WakeAll()
    {
        while (_waiters.First is { } first)
        {
            _waiters.RemoveFirst();
            first.Value.TrySetResult();
        }
    }
}

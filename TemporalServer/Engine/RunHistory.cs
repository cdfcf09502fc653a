using Temporalio.Api.History.V1;

namespace Stateset.TemporalServer.Engine;

/// <summary>
/// A run's history as the engine holds it: every event while it may still be needed, and with a store behind it only
/// the tail that the next workflow task sends (plus the started event, which the engine reads throughout the run).
/// The events before the tail are on disk and read back from there when someone asks for them; a run that waits
/// for days (an order waiting for an operator) so costs the memory of its last few events, not of its whole history.
/// </summary>
internal sealed class RunHistory
{
    private readonly List<HistoryEvent> _tail = [];
    private HistoryEvent? _started;

    /// <summary>Gets how many events the history has, in memory or not.</summary>
    public int Count => InMemoryFrom + _tail.Count;

    /// <summary>Gets the index of the first event held in memory; the events before it are read from the store.</summary>
    public int InMemoryFrom { get; private set; }

    /// <summary>Gets the first event (workflow execution started), always in memory.</summary>
    public HistoryEvent Started => _started ?? throw new InvalidOperationException("The history has no events yet.");

    /// <summary>Gets the newest event, always in memory (a result wait reads the close event).</summary>
    public HistoryEvent Last => _tail[^1];

    /// <summary>Gets the event at <paramref name="index"/>, which must be held in memory.</summary>
    public HistoryEvent this[int index] => index >= InMemoryFrom
        ? _tail[index - InMemoryFrom]
        : throw new InvalidOperationException($"Event {index + 1} is not held in memory; read it from the store.");

    public void Add(HistoryEvent e)
    {
        _started ??= e;
        _tail.Add(e);
    }

    /// <summary>The events held in memory from <paramref name="index"/> (at least <see cref="InMemoryFrom"/>) on.</summary>
    public IEnumerable<HistoryEvent> InMemory(int index, int count = int.MaxValue) =>
        _tail.Skip(index - InMemoryFrom).Take(count);

    /// <summary>Lets go of the events before <paramref name="index"/>, keeping at least the newest one.</summary>
    public void ReleaseBefore(int index)
    {
        index = Math.Min(index, Count - 1);
        if (index > InMemoryFrom)
        {
            _tail.RemoveRange(0, index - InMemoryFrom);
            InMemoryFrom = index;
        }
    }
}

using System.Runtime;
using System.Runtime.InteropServices;

namespace Stateset.Stack;

/// <summary>
/// Gives memory back once the stack goes quiet after a busy spell. A development stack is idle most of the time, with
/// its runs waiting for a person, yet the garbage of the last burst stays committed: nothing allocates, so no
/// collection comes to free it. With 1,000 orders placed and waiting, the GC heap held 130–250 MB for 44 MB of live
/// objects, and glibc's arenas kept the native memory the SDK's core had freed. So, every few seconds, this looks at
/// how much the process allocated: after at least <see cref="BusySpellBytes"/> since the last trim, the first
/// interval that allocates less than <see cref="QuietBytes"/> runs one full compacting collection that decommits what
/// it frees (<see cref="GCCollectionMode.Aggressive"/>) and asks glibc to return its free pages (<c>malloc_trim</c>).
/// A busy stack never qualifies and an idle one trims once, so the cost is one collection per burst.
/// </summary>
internal sealed class IdleMemoryTrim : IAsyncDisposable
{
    /// <summary>
    /// What a quiet interval allocates at most: an idle stack's pollers and timers allocate about 25 KB a second, a
    /// stack serving orders tens of megabytes.
    /// </summary>
    public const long QuietBytes = 8L << 20;

    /// <summary>
    /// What must have been allocated since the last trim for another one to be worth a full collection. Starting the
    /// stack allocates about 50 MB, and an idle stack would take hours to reach it, so neither trims over and over.
    /// </summary>
    public const long BusySpellBytes = 256L << 20;

    /// <summary>How often allocation is sampled.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _lastAllocated;
    private long _sinceTrim;
    private bool _nativeTrimAvailable = OperatingSystem.IsLinux();

    private IdleMemoryTrim()
    {
        _lastAllocated = GC.GetTotalAllocatedBytes();
        _loop = RunAsync(_stop.Token);
    }

    /// <summary>Starts watching the process's allocations.</summary>
    public static IdleMemoryTrim Start() => new();

    /// <summary>
    /// Decides, from the bytes allocated since the previous sample and since the last trim, whether this sample is
    /// the first quiet one after a busy spell.
    /// </summary>
    public static bool IsQuietAfterBusySpell(long allocatedThisInterval, long allocatedSinceTrim) =>
        allocatedThisInterval < QuietBytes && allocatedSinceTrim >= BusySpellBytes;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(ct))
        {
            var allocated = GC.GetTotalAllocatedBytes();
            var thisInterval = allocated - _lastAllocated;
            _lastAllocated = allocated;
            _sinceTrim += thisInterval;
            if (IsQuietAfterBusySpell(thisInterval, _sinceTrim))
            {
                Trim();
                _sinceTrim = 0;
                _lastAllocated = GC.GetTotalAllocatedBytes();
            }
        }
    }

    private void Trim()
    {
        // The large object heap is compacted only when asked; swept, its free space stays committed between survivors.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (_nativeTrimAvailable)
        {
            try
            {
                // Frees the unused pages inside every arena, not only at the top of the main heap.
                _ = NativeMethods.MallocTrim(0);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // Not glibc (musl has no malloc_trim): the managed half of the trim still runs.
                _nativeTrimAvailable = false;
            }
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "malloc_trim")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int MallocTrim(nuint pad);
    }
}

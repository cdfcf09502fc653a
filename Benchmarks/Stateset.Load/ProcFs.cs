using System.Globalization;

namespace Stateset.Load;

/// <summary>CPU time and memory of one part of the system at one moment.</summary>
/// <param name="Cpu">CPU used since the part started (user and system).</param>
/// <param name="MemoryBytes">Resident memory now (for a group of processes sharing memory, the sum of their proportional shares).</param>
internal readonly record struct ProcessSample(TimeSpan Cpu, long MemoryBytes);

/// <summary>Reads processes' CPU and memory from Linux's <c>/proc</c>.</summary>
internal static class ProcFs
{
    // Linux reports process times in clock ticks of 1/100 s (USER_HZ) on every mainstream architecture.
    private const double TicksPerSecond = 100;

    /// <summary>CPU and resident memory of one process; zero when it has ended.</summary>
    public static ProcessSample Process(int pid)
    {
        var cpu = Cpu(pid, includeReapedChildren: false);
        return new ProcessSample(cpu, StatusKilobytes(pid, "VmRSS:") * 1024);
    }

    /// <summary>
    /// A parent and its children, e.g. PostgreSQL's postmaster and its backends. CPU counts the children that have
    /// ended too (the parent's reaped-children times), so backends closed during a run still count; memory is the
    /// sum of proportional set sizes, so the shared buffers every backend maps are counted once, not once per backend.
    /// </summary>
    public static ProcessSample Group(int parent)
    {
        var cpu = Cpu(parent, includeReapedChildren: true);
        var memory = ProportionalKilobytes(parent);
        foreach (var child in Children(parent))
        {
            cpu += Cpu(child, includeReapedChildren: false);
            memory += ProportionalKilobytes(child);
        }

        return new ProcessSample(cpu, memory * 1024);
    }

    /// <summary>How many children a process has now (PostgreSQL's backends and helpers).</summary>
    public static int ChildCount(int parent) => Children(parent).Count();

    /// <summary>The parent process id of a process.</summary>
    public static int ParentOf(int pid) => int.Parse(Stat(pid)![1], CultureInfo.InvariantCulture);

    private static IEnumerable<int> Children(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/task/{pid}/children")
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(child => int.Parse(child, CultureInfo.InvariantCulture))
                .ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static TimeSpan Cpu(int pid, bool includeReapedChildren)
    {
        if (Stat(pid) is not { } fields)
        {
            return TimeSpan.Zero;
        }

        // utime, stime, cutime, cstime are fields 14-17 of /proc/<pid>/stat; counted after the command name, 11-14.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        if (includeReapedChildren)
        {
            ticks += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        }

        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    private static long StatusKilobytes(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static long ProportionalKilobytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/smaps_rollup").FirstOrDefault(l => l.StartsWith("Pss:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line[4..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0; // A backend that ended between listing and reading.
        }
    }

    // The fields after "pid (comm)": the command name may hold spaces and parentheses, so split after its last ')'.
    private static string[]? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }
}

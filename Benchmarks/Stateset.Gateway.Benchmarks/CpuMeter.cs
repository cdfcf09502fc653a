using System.Diagnostics;
using System.Globalization;
using Npgsql;

/// <summary>
/// CPU time spent by this process and by the local PostgreSQL cluster (its postmaster and every backend), read from
/// <c>/proc</c>. CPU per operation does not depend on what else the machine runs, unlike throughput on a shared
/// 2-core machine, so it is the steadier figure for comparing two paths.
/// </summary>
internal sealed class CpuMeter
{
    // Linux reports process times in clock ticks of 1/100 s (USER_HZ) on every mainstream architecture.
    private const double TicksPerSecond = 100;

    private readonly int _postmaster;

    private CpuMeter(int postmaster) => _postmaster = postmaster;

    /// <summary>Finds the cluster's postmaster: the parent of its checkpointer.</summary>
    public static async Task<CpuMeter> ForClusterAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'", connection);
        var checkpointer = (int)(await command.ExecuteScalarAsync())!;
        return new CpuMeter(int.Parse(Stat(checkpointer)[1], CultureInfo.InvariantCulture));
    }

    /// <summary>CPU used so far by this process and by PostgreSQL.</summary>
    public (TimeSpan Self, TimeSpan Postgres) Read()
    {
        var postgres = ProcessCpu(_postmaster);
        foreach (var child in File.ReadAllText($"/proc/{_postmaster}/task/{_postmaster}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            postgres += ProcessCpu(int.Parse(child, CultureInfo.InvariantCulture));
        }

        return (Process.GetCurrentProcess().TotalProcessorTime, postgres);
    }

    private static TimeSpan ProcessCpu(int pid)
    {
        try
        {
            var fields = Stat(pid);

            // utime and stime are fields 14 and 15 of /proc/<pid>/stat; after the command name they are 12 and 13.
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero; // A backend that ended between listing and reading.
        }
    }

    // The fields after "pid (comm)": the command name may hold spaces and parentheses, so split after its last ')'.
    private static string[] Stat(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }
}

using System.Globalization;
using System.Reflection;

namespace Stateset.Load;

/// <summary>What to measure: the command line of the load generator.</summary>
internal sealed record LoadOptions
{
    /// <summary>The usage text printed for <c>--help</c> and for a wrong argument.</summary>
    public const string Usage =
        """
        dotnet run -c Release --project Benchmarks/Stateset.Load -- [options]

          --orders N           orders to drive to delivered (default 200)
          --concurrency C      keep C orders in flight (default 16)
          --rate R             instead: start R orders per second, however many are in flight
          --warmup N           orders run first and not measured, so the JIT has settled (default 40)
          --settle-delay S     seconds the payment sandbox takes to settle (default 2, as the stack)
          --approvals N        memory mode: start N orders that wait for an operator and print RSS while they wait
          --hold S             memory mode: seconds to watch them wait (default 20)
          --stack              run the one-command stack (gateway, worker, embedded Temporal and sandboxes in one
                               process) on the load generator's PostgreSQL instead of each part in its own process
                               (its sandboxes settle after the stack's own delay; --settle-delay does not apply)
          --build DIR          a checkout whose Worker, Gateway, Sandboxes and TemporalServer are built in this
                               configuration; repeat it to run the same load against each and print them side by side
                               (default: the checkout this program was built in)
          --configuration C    the build configuration of those checkouts (default: this program's)
          --base-port P        gateway P, sandboxes P+1, PostgreSQL P+2, Temporal P+3, worker metrics P+4 (default: free ports)
          --data-dir DIR       where each run keeps its PostgreSQL cluster and Temporal file (default: a temp folder)

        TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) run against that Temporal instead of launching the embedded server.
        """;

    /// <summary>Gets how many orders are measured.</summary>
    public int Orders { get; init; } = 200;

    /// <summary>Gets how many orders are kept in flight (closed loop), unless <see cref="Rate"/> is set.</summary>
    public int Concurrency { get; init; } = 16;

    /// <summary>Gets the orders started per second (open loop), or null to keep <see cref="Concurrency"/> in flight.</summary>
    public double? Rate { get; init; }

    /// <summary>Gets how many orders are run before the measurement.</summary>
    public int Warmup { get; init; } = 40;

    /// <summary>Gets how long the payment sandbox takes to settle an authorisation.</summary>
    public TimeSpan SettleDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets how many orders memory mode starts to wait for approval; null runs full orders.</summary>
    public int? Approvals { get; init; }

    /// <summary>Gets how long memory mode watches the waiting orders.</summary>
    public TimeSpan Hold { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Gets a value indicating whether the one-command stack runs every service in one process.</summary>
    public bool Stack { get; init; }

    /// <summary>Gets the checkouts to measure, one run each.</summary>
    public IReadOnlyList<string> Builds { get; init; } = [];

    /// <summary>Gets the build configuration of the checkouts.</summary>
    public string Configuration { get; init; } = "Release";

    /// <summary>Gets the first of five consecutive ports, or null to pick free ones.</summary>
    public int? BasePort { get; init; }

    /// <summary>Gets where runs keep their data, or null for a temp folder.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Gets the Temporal to use instead of launching the embedded one.</summary>
    public string? TemporalAddress { get; init; }

    /// <summary>Gets the Temporal namespace.</summary>
    public string TemporalNamespace { get; init; } = "default";

    /// <summary>Reads the command line; throws <see cref="ArgumentException"/> naming a wrong argument.</summary>
    public static LoadOptions Parse(string[] args)
    {
        var options = new LoadOptions
        {
            Configuration = typeof(LoadOptions).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release",
            TemporalAddress = Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS") is { Length: > 0 } address ? address : null,
            TemporalNamespace = Environment.GetEnvironmentVariable("TEMPORAL_NAMESPACE") is { Length: > 0 } ns ? ns : "default",
        };
        var builds = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Count(int min) => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min
                ? n
                : throw new ArgumentException($"{args[i - 1]} needs a whole number of at least {min}.");
            double Seconds() => double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0
                ? s
                : throw new ArgumentException($"{args[i - 1]} needs a number of seconds.");

            options = args[i] switch
            {
                "--orders" => options with { Orders = Count(1) },
                "--concurrency" => options with { Concurrency = Count(1) },
                "--rate" => options with { Rate = Seconds() is > 0 and var r ? r : throw new ArgumentException("--rate must be above 0.") },
                "--warmup" => options with { Warmup = Count(0) },
                "--settle-delay" => options with { SettleDelay = TimeSpan.FromSeconds(Seconds()) },
                "--approvals" => options with { Approvals = Count(1) },
                "--hold" => options with { Hold = TimeSpan.FromSeconds(Seconds()) },
                "--stack" => options with { Stack = true },
                "--build" => AddBuild(options, builds, Value()),
                "--configuration" => options with { Configuration = Value() },
                "--base-port" => options with { BasePort = Count(1024) is <= 65530 and var p ? p : throw new ArgumentException("--base-port must leave room for 5 ports.") },
                "--data-dir" => options with { DataDirectory = Path.GetFullPath(Value()) },
                _ => throw new ArgumentException($"Unknown argument '{args[i]}'."),
            };
        }

        return options with { Builds = builds.Count > 0 ? builds : [RepositoryRoot()] };
    }

    private static LoadOptions AddBuild(LoadOptions options, List<string> builds, string directory)
    {
        var full = Path.GetFullPath(directory);
        if (!File.Exists(Path.Combine(full, "Stateset.Workflows.sln")))
        {
            throw new ArgumentException($"--build {directory}: no Stateset.Workflows.sln there.");
        }

        builds.Add(full);
        return options;
    }

    // The checkout this program was built in: the nearest folder above its binaries holding the solution.
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Stateset.Workflows.sln")))
            {
                return dir.FullName;
            }
        }

        throw new ArgumentException("This program is not inside a checkout of the repository: name one with --build.");
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Stateset.Database;
using Temporalio.Client;

namespace Stateset.Load;

/// <summary>One part of the system whose CPU and memory are reported, or null figures when it is not ours to read.</summary>
internal sealed record MeasuredPart(string Name, Func<ProcessSample>? Sample);

/// <summary>
/// The whole system launched from one checkout's built executables, each part in its own process so that each one's
/// CPU and memory can be read from <c>/proc</c>: PostgreSQL (a local cluster with pg_stat_statements), the embedded
/// Temporal server (unless <c>TEMPORAL_ADDRESS</c> names one), the sandboxes, the worker and the gateway, configured
/// as the one-command stack configures them in-process.
/// </summary>
internal sealed class SystemUnderTest : IAsyncDisposable
{
    private const string PaymentSecret = "whsec_sandbox";
    private const string CarrierSecret = "carrier-sandbox-webhook-secret";
    private static readonly string[] Carriers = ["ridgeline", "swiftair", "maplepost"];
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly List<ServiceProcess> _processes = [];
    private readonly string _runDirectory;
    private LocalPostgresCluster? _postgres;
    private bool _keepLogs;
    private int _postmaster;

    private SystemUnderTest(string runDirectory) => _runDirectory = runDirectory;

    /// <summary>Gets the gateway's base address.</summary>
    public Uri Gateway { get; private set; } = null!;

    /// <summary>Gets the sandboxes' base address.</summary>
    public Uri Sandboxes { get; private set; } = null!;

    /// <summary>Gets the commerce database's connection string.</summary>
    public string ConnectionString => _postgres!.ConnectionString;

    /// <summary>Gets the admin API key the gateway was started with.</summary>
    public string AdminKey { get; } = $"ss_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";

    /// <summary>Gets the worker's Prometheus endpoint.</summary>
    public Uri WorkerMetrics { get; private set; } = null!;

    /// <summary>Gets the Temporal the worker and gateway use.</summary>
    public string TemporalTarget { get; private set; } = null!;

    /// <summary>Gets the Temporal namespace.</summary>
    public string TemporalNamespace { get; private set; } = "default";

    /// <summary>Gets the parts whose CPU and memory are reported, in print order.</summary>
    public IReadOnlyList<MeasuredPart> Parts { get; private set; } = [];

    /// <summary>Gets how many processes PostgreSQL runs now (one per open connection, plus its helpers).</summary>
    public int PostgresProcesses => ProcFs.ChildCount(_postmaster);

    /// <summary>Gets a value indicating whether pg_stat_statements counts the statements.</summary>
    public bool CountsStatements { get; private set; }

    /// <summary>Gets the processes launched, to kill them if the load generator is interrupted.</summary>
    public IReadOnlyList<ServiceProcess> Processes => _processes;

    /// <summary>Starts every part; on failure stops what started and throws a <see cref="LoadException"/> saying which part and why.</summary>
    public static async Task<SystemUnderTest> StartAsync(string checkout, LoadOptions options, string runDirectory, Action<SystemUnderTest> started, CancellationToken ct)
    {
        Directory.CreateDirectory(runDirectory);
        var system = new SystemUnderTest(runDirectory);
        started(system);
        try
        {
            await system.StartPartsAsync(checkout, options, ct);
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    /// <summary>Keeps the services' logs when the run is stopped, for a run that failed.</summary>
    public void KeepLogs() => _keepLogs = true;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Reverse order: the gateway and worker stop before what they depend on.
        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            await _processes[i].DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        try
        {
            if (_keepLogs)
            {
                // The data is of no use after the run; the services' logs say why it failed.
                Directory.Delete(Path.Combine(_runDirectory, "postgres"), recursive: true);
                foreach (var file in Directory.EnumerateFiles(_runDirectory, "temporal.db*"))
                {
                    File.Delete(file);
                }

                await Console.Error.WriteLineAsync($"The services' logs are kept in {_runDirectory}.");
            }
            else
            {
                Directory.Delete(_runDirectory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover folder is harmless; failing the report over it is not.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Executable(string checkout, string project, string assembly, string configuration) =>
        Path.Combine(checkout, project, "bin", configuration, "net10.0", assembly);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StartPartsAsync(string checkout, LoadOptions options, CancellationToken ct)
    {
        int Port(int offset) => options.BasePort is { } basePort ? basePort + offset : FreePort();
        var gatewayPort = Port(0);
        var sandboxPort = Port(1);
        var postgresPort = Port(2);
        var temporalPort = Port(3);
        var metricsPort = Port(4);

        await StepAsync("PostgreSQL", async () =>
        {
            // Durable like the stack's cluster: commits wait for the disk as they would in the product.
            _postgres = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions(Path.Combine(_runDirectory, "postgres"), postgresPort, Durable: true), ct);
            CountsStatements = await DatabaseProbe.EnableStatementCountingAsync(_postgres, ct);
        });
        var postmaster = _postmaster = int.Parse(
            (await File.ReadAllLinesAsync(Path.Combine(_runDirectory, "postgres", "data", "postmaster.pid"), ct))[0], CultureInfo.InvariantCulture);
        if (options.Stack)
        {
            await StartStackAsync(checkout, options, gatewayPort, sandboxPort, temporalPort, metricsPort, postmaster, ct);
            return;
        }

        ServiceProcess? temporal = null;
        TemporalNamespace = options.TemporalNamespace;
        if (options.TemporalAddress is { } address)
        {
            TemporalTarget = address;
            await StepAsync("Temporal", () => WaitForTemporalAsync(null, ct));
        }
        else
        {
            TemporalTarget = $"127.0.0.1:{temporalPort}";
            await StepAsync("Temporal", async () =>
            {
                // File-backed as in the stack, so every change is committed to SQLite before it is answered.
                temporal = Launch(
                    "temporal",
                    Executable(checkout, "TemporalServer", "Stateset.TemporalServer", options.Configuration),
                    ["server", "start-dev", "--ip", "127.0.0.1", "--port", $"{temporalPort}", "--headless", "--namespace", TemporalNamespace,
                     "--db-filename", Path.Combine(_runDirectory, "temporal.db"), "--log-level", "warn"],
                    new Dictionary<string, string?>());
                await WaitForTemporalAsync(temporal, ct);
            });
        }

        Gateway = new Uri($"http://127.0.0.1:{gatewayPort}/");
        Sandboxes = new Uri($"http://127.0.0.1:{sandboxPort}/");
        WorkerMetrics = new Uri($"http://127.0.0.1:{metricsPort}/metrics");
        var sandboxes = await StepAsync("sandboxes", async () =>
        {
            var process = Launch(
                "sandboxes",
                Executable(checkout, "Sandboxes", "Stateset.Sandboxes", options.Configuration),
                [],
                new Dictionary<string, string?>
                {
                    ["Sandboxes__Port"] = $"{sandboxPort}",
                    ["Sandboxes__PaymentProvider__WebhookUrl"] = new Uri(Gateway, "callbacks/payments").ToString(),
                    ["Sandboxes__PaymentProvider__WebhookSecret"] = PaymentSecret,
                    ["Sandboxes__PaymentProvider__SettleDelay"] = options.SettleDelay.ToString("c", CultureInfo.InvariantCulture),
                    ["Sandboxes__CarrierSandbox__WebhookUrl"] = new Uri(Gateway, "callbacks/carriers").ToString(),
                    ["Sandboxes__CarrierSandbox__WebhookSecret"] = CarrierSecret,
                });
            await WaitForHttpAsync(process, new Uri(Sandboxes, "openapi/v1.json"), ct);
            return process;
        });

        var services = new Dictionary<string, string?>
        {
            ["ConnectionStrings__Commerce"] = ConnectionString,
            ["TEMPORAL_ADDRESS"] = TemporalTarget,
            ["TEMPORAL_NAMESPACE"] = TemporalNamespace,

            // Its own task queue, so a shared Temporal's other workers never take this run's tasks.
            ["TEMPORAL_TASK_QUEUE"] = $"load-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}",
            ["PaymentProvider__BaseUrl"] = new Uri(Sandboxes, "psp/v1/").ToString(),
            ["PaymentProvider__WebhookSecret"] = PaymentSecret,
            ["Shipping__WebhookSecret"] = CarrierSecret,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Warning",
        };
        foreach (var carrier in Carriers)
        {
            services[$"Shipping__Carriers__{carrier}__BaseUrl"] = new Uri(Sandboxes, $"carriers/{carrier}/").ToString();
        }

        var worker = await StepAsync("worker", async () =>
        {
            var process = Launch(
                "worker",
                Executable(checkout, "Worker", "Stateset.Worker", options.Configuration),
                [],
                new Dictionary<string, string?>(services) { ["Worker__MetricsUrl"] = WorkerMetrics.ToString() });
            await WaitForHttpAsync(process, WorkerMetrics, ct);
            return process;
        });
        var gateway = await StepAsync("gateway", async () =>
        {
            var process = Launch(
                "gateway",
                Executable(checkout, "Gateway", "Stateset.Gateway", options.Configuration),
                [],
                new Dictionary<string, string?>(services)
                {
                    ["ASPNETCORE_URLS"] = Gateway.ToString().TrimEnd('/'),
                    ["Gateway__AdminKey"] = AdminKey,

                    // One key per caller role drives all the traffic; the per-key limit would measure itself.
                    ["Gateway__RateLimit__PermitsPerSecond"] = "1000000",
                    ["Gateway__RateLimit__Burst"] = "1000000",
                });
            await WaitForHttpAsync(process, new Uri(Gateway, "health/ready"), ct);
            return process;
        });

        Parts =
        [
            new("gateway", gateway.Sample),
            new("worker", worker.Sample),
            new("temporal", temporal is null ? null : temporal.Sample),
            new("postgresql", () => ProcFs.Group(postmaster)),
            new("sandboxes", sandboxes.Sample),
            new("load generator", () => ProcFs.Process(Environment.ProcessId)),
        ];

        // For dotnet-counters, dotnet-trace or top while the load runs.
        Console.WriteLine($"  processes: {string.Join(", ", _processes.Select(p => $"{p.Name} {p.Id}"))}, postgresql {postmaster}, load generator {Environment.ProcessId}");
    }

    /// <summary>
    /// The one-command stack as a person runs it (embedded Temporal on its file, sandboxes, worker and gateway in one
    /// process), on this run's PostgreSQL so that statements and waiting orders are counted as for separate parts.
    /// </summary>
    private async Task StartStackAsync(
        string checkout, LoadOptions options, int gatewayPort, int sandboxPort, int temporalPort, int metricsPort, int postmaster, CancellationToken ct)
    {
        if (options.TemporalAddress is not null)
        {
            throw new LoadException("--stack runs its own embedded Temporal; unset TEMPORAL_ADDRESS.");
        }

        var dataDirectory = Path.Combine(_runDirectory, "stack");
        Directory.CreateDirectory(dataDirectory);

        // The stack keeps its admin key in its data folder and makes one only when there is none.
        await File.WriteAllTextAsync(Path.Combine(dataDirectory, "admin-api-key"), AdminKey, ct);
        TemporalTarget = $"127.0.0.1:{temporalPort}";
        Gateway = new Uri($"http://127.0.0.1:{gatewayPort}/");
        Sandboxes = new Uri($"http://127.0.0.1:{sandboxPort}/");
        WorkerMetrics = new Uri($"http://127.0.0.1:{metricsPort}/metrics");
        var stack = await StepAsync("stack", async () =>
        {
            var process = Launch(
                "stack",
                Executable(checkout, "Stack", "Stateset.Stack", options.Configuration),
                [],
                new Dictionary<string, string?>
                {
                    ["ConnectionStrings__Commerce"] = ConnectionString,
                    ["TEMPORAL_ADDRESS"] = null,
                    ["STATESET_DATA_DIR"] = dataDirectory,
                    ["STATESET_GATEWAY_URL"] = Gateway.ToString().TrimEnd('/'),
                    ["STATESET_SANDBOX_PORT"] = $"{sandboxPort}",
                    ["STATESET_TEMPORAL_PORT"] = $"{temporalPort}",
                    ["STATESET_TEMPORAL_UI_PORT"] = $"{FreePort()}",
                    ["STATESET_DASHBOARD"] = "off",
                    ["Worker__MetricsUrl"] = WorkerMetrics.ToString(),
                    ["Gateway__RateLimit__PermitsPerSecond"] = "1000000",
                    ["Gateway__RateLimit__Burst"] = "1000000",
                });
            await WaitForHttpAsync(process, new Uri(Gateway, "health/ready"), ct);
            return process;
        });

        Parts =
        [
            new("stack", stack.Sample),
            new("postgresql", () => ProcFs.Group(postmaster)),
            new("load generator", () => ProcFs.Process(Environment.ProcessId)),
        ];
        Console.WriteLine($"  processes: stack {stack.Id}, postgresql {postmaster}, load generator {Environment.ProcessId}");
    }

    private ServiceProcess Launch(string name, string executable, IEnumerable<string> arguments, Dictionary<string, string?> environment)
    {
        var process = ServiceProcess.Start(name, executable, arguments, environment, _runDirectory);
        _processes.Add(process);
        return process;
    }

    private static async Task StepAsync(string name, Func<Task> start) => await StepAsync(name, async () =>
    {
        await start();
        return true;
    });

    private static async Task<T> StepAsync<T>(string name, Func<Task<T>> start)
    {
        Console.Write($"  starting {name,-10} ... ");
        var clock = Stopwatch.StartNew();
        var result = await start();
        Console.WriteLine($"ready in {clock.Elapsed.TotalSeconds:0.0} s");
        return result;
    }

    private async Task WaitForTemporalAsync(ServiceProcess? process, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var client = await TemporalClient.ConnectAsync(new(TemporalTarget) { Namespace = TemporalNamespace }).WaitAsync(TimeSpan.FromSeconds(10), ct);
                await client.WorkflowService.DescribeNamespaceAsync(new() { Namespace = TemporalNamespace });
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                if (process is null || process.HasExited || deadline.Elapsed > StartTimeout)
                {
                    throw new LoadException($"Temporal at {TemporalTarget} did not answer: {e.Message}" + (process is null ? string.Empty : $"\n{process.Tail()}"));
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
            }
        }
    }

    private static async Task WaitForHttpAsync(ServiceProcess process, Uri url, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        var last = "no answer";
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new LoadException($"The {process.Name} ended while starting (log {process.LogPath}):\n{process.Tail()}");
            }

            try
            {
                using var response = await http.GetAsync(url, ct);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = $"{(int)response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                last = "timed out";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
        }

        throw new LoadException($"The {process.Name} was not ready at {url} within {StartTimeout.TotalSeconds:0} s ({last}):\n{process.Tail()}");
    }
}

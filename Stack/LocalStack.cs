using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Stateset.Database;
using Stateset.Gateway;
using Stateset.Sandboxes;
using Stateset.ServiceDefaults.Telemetry;
using Stateset.Worker;

namespace Stateset.Stack;

/// <summary>
/// Starts every part of the system in one process tree, prints where to find it, and on Ctrl-C (or SIGTERM)
/// stops everything in reverse order so that no process or port is left behind.
/// </summary>
internal static class LocalStack
{
    public static async Task<int> RunAsync(StackSettings settings)
    {
        using var shutdown = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            shutdown.Cancel();
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            shutdown.Cancel();
        });

        var running = new Stack<(string Name, Func<ValueTask> Stop)>();
        try
        {
            var connectionString = await StepAsync("PostgreSQL", () => StartPostgresAsync(settings, running, shutdown.Token));
            var temporal = await StepAsync("Temporal", async () =>
            {
                var started = await TemporalLauncher.StartAsync(settings, shutdown.Token);
                running.Push(("Temporal", started.StopAsync));
                return started;
            });

            var traces = await StepAsync("Dashboard", async () =>
            {
                var started = await TracesDashboard.StartAsync(settings, shutdown.Token);
                running.Push(("Dashboard", started.StopAsync));
                return started;
            });

            var gatewayUrl = settings.GatewayUrl.TrimEnd('/');
            var sandboxes = await StepAsync("Sandboxes", async () =>
            {
                TemporalLauncher.EnsurePortFree(settings.SandboxPort, "STATESET_SANDBOX_PORT");
                var sandboxConfiguration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Sandboxes:Port"] = $"{settings.SandboxPort}",
                    ["Sandboxes:PaymentProvider:WebhookUrl"] = $"{gatewayUrl}/callbacks/payments",
                    ["Sandboxes:PaymentProvider:WebhookSecret"] = SandboxSecrets.PaymentProvider,

                    // Beside PostgreSQL and Temporal's file: a restarted stack's provider still knows what it authorised.
                    ["Sandboxes:PaymentProvider:StateFile"] = Path.Combine(settings.DataDirectory, "payment-sandbox.json"),
                    ["Sandboxes:CarrierSandbox:WebhookUrl"] = $"{gatewayUrl}/callbacks/carriers",
                    ["Sandboxes:CarrierSandbox:WebhookSecret"] = SandboxSecrets.Carriers,

                    // And the carriers still know the labels they sold, so a parcel labelled before a restart can be scanned after it.
                    ["Sandboxes:CarrierSandbox:StateFile"] = Path.Combine(settings.DataDirectory, "carrier-sandbox.json"),
                }).Build();
                if (traces.OtlpEndpoint is { } otlp)
                {
                    var tracing = TelemetryExtensions.StartOwnedTracing("stateset-sandboxes", new Uri(otlp));
                    ValueTask StopTracing()
                    {
                        tracing.Dispose();
                        return ValueTask.CompletedTask;
                    }

                    running.Push(("Sandbox tracing", StopTracing));
                }

                var host = await SandboxHost.StartAsync(
                    sandboxConfiguration,
                    configureServices: services => services
                        .AddSingleton<IHostLifetime, StackOwnedLifetime>()
                        .AddSingleton(SpanOwnership.RequestsOwnedBy("stateset-sandboxes")),
                    ct: shutdown.Token);
                running.Push(("Sandboxes", host.DisposeAsync));
                return host;
            });

            var adminKey = await AdminKey.LoadOrCreateAsync(settings.DataDirectory);
            var hostConfiguration = new Dictionary<string, string?>
            {
                ["ConnectionStrings:Commerce"] = connectionString,
                ["TEMPORAL_ADDRESS"] = temporal.Target,
                ["TEMPORAL_NAMESPACE"] = settings.TemporalNamespace,

                // Start answers and resource views link to the run in the Temporal UI.
                ["Temporal:UiUrl"] = temporal.UiUrl,
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = traces.OtlpEndpoint,
                ["Logging:LogLevel:Default"] = settings.LogLevel,
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = settings.LogLevel,
                ["Gateway:AdminKey"] = adminKey,
                ["PaymentProvider:BaseUrl"] = sandboxes.PaymentProviderBaseAddress.ToString(),
                ["PaymentProvider:WebhookSecret"] = SandboxSecrets.PaymentProvider,
                ["Shipping:WebhookSecret"] = SandboxSecrets.Carriers,

                // The stack is where people look at runs: the Temporal UI's call-stack tab needs the worker to track
                // where each run waits (a cost per workflow task a worker serving orders does not pay).
                ["Worker:WorkflowStackTrace"] = nameof(Temporalio.Worker.WorkflowStackTrace.Normal),

                // Orders on a development machine mostly wait for a person: 200 cached runs instead of the SDK's
                // 10,000 kept the stack with 1,000 waiting at 378 instead of 457 MB. This in-memory source would
                // hide the variable, so the variable is read first and still wins.
                ["Worker:MaxCachedWorkflows"] = Environment.GetEnvironmentVariable("Worker__MaxCachedWorkflows") ?? "200",
            };
            foreach (var carrier in SandboxSecrets.CarrierCodes)
            {
                hostConfiguration[$"Shipping:Carriers:{carrier}:BaseUrl"] = new Uri(sandboxes.BaseAddress, $"carriers/{carrier}/").ToString();
            }

            await StepAsync("Worker", async () =>
            {
                var worker = BuildWorker(hostConfiguration);
                running.Push(("Worker", () => StopHostAsync(worker)));
                await worker.StartAsync(shutdown.Token);
                return worker;
            });
            await StepAsync("Gateway", async () =>
            {
                TemporalLauncher.EnsurePortFree(new Uri(settings.GatewayUrl).Port, "STATESET_GATEWAY_URL");
                var gateway = BuildGateway(hostConfiguration, settings.GatewayUrl);
                running.Push(("Gateway", () => StopHostAsync(gateway)));
                await gateway.StartAsync(shutdown.Token);
                return gateway;
            });

            var trim = IdleMemoryTrim.Start();
            running.Push(("Memory trim", trim.DisposeAsync));

            PrintUrls(settings, temporal, traces, connectionString, sandboxes, adminKey);
            await WaitForShutdownAsync(shutdown.Token);
            return 0;
        }
        catch (StackStartException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            await StopAllAsync(running);
        }
    }

    private static async Task<T> StepAsync<T>(string name, Func<Task<T>> start)
    {
        Console.Write($"  starting {name,-11} ... ");
        var clock = Stopwatch.StartNew();
        try
        {
            var result = await start();
            Console.WriteLine($"ready in {clock.Elapsed.TotalSeconds:0.0} s");
            return result;
        }
        catch (Exception e) when (e is not StackStartException and not OperationCanceledException)
        {
            Console.WriteLine("failed");
            throw new StackStartException($"{name} did not start: {Describe(e)}");
        }
        catch
        {
            Console.WriteLine("failed");
            throw;
        }
    }

    private static async Task<string> StartPostgresAsync(StackSettings settings, Stack<(string, Func<ValueTask>)> running, CancellationToken ct)
    {
        if (settings.PostgresConnectionString is { } configured)
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(configured) { Timeout = 5 };
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(ct);
                return configured;
            }
            catch (Exception e) when (e is NpgsqlException or ArgumentException or FormatException or InvalidOperationException)
            {
                throw new StackStartException($"Cannot connect to PostgreSQL with ConnectionStrings__Commerce: {e.Message}");
            }
        }

        TemporalLauncher.EnsurePortFree(settings.PostgresPort, "STATESET_POSTGRES_PORT");
        try
        {
            var cluster = await LocalPostgresCluster.StartAsync(
                new LocalPostgresOptions(Path.Combine(settings.DataDirectory, "postgres"), settings.PostgresPort, Durable: true),
                ct);
            running.Push(("PostgreSQL", cluster.DisposeAsync));
            return cluster.ConnectionString;
        }
        catch (PostgresUnavailableException e)
        {
            throw new StackStartException(e.Message);
        }
    }

    private static IHost BuildWorker(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = false });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddSingleton<IHostLifetime, StackOwnedLifetime>();
        builder.AddWorker();
        return builder.Build();
    }

    private static WebApplication BuildGateway(Dictionary<string, string?> configuration, string url)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(configuration);

        // The worker, hosted in the same process, exports the spans no service marked (workflow runs, activities, background work).
        builder.Configuration.AddInMemoryCollection([new("Telemetry:ClaimsUnownedSpans", "false")]);
        builder.Services.AddSingleton<IHostLifetime, StackOwnedLifetime>();
        builder.WebHost.UseUrls(url);
        builder.AddGateway();
        var app = builder.Build();
        app.MapGateway();
        return app;
    }

    private static async ValueTask StopHostAsync(IHost host)
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(grace.Token);
        host.Dispose();
    }

    private static async Task StopAllAsync(Stack<(string Name, Func<ValueTask> Stop)> running)
    {
        if (running.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        Console.WriteLine("Stopping ...");
        while (running.TryPop(out var part))
        {
            try
            {
                await part.Stop();
                Console.WriteLine($"  stopped {part.Name}");
            }
            catch (Exception e)
            {
                // Keep stopping the rest: one part failing to stop must not leave the others running.
                await Console.Error.WriteLineAsync($"  {part.Name} did not stop cleanly: {Describe(e)}");
            }
        }
    }

    private static void PrintUrls(StackSettings settings, RunningTemporal temporal, RunningTraces traces, string connectionString, SandboxHost sandboxes, string adminKey)
    {
        var gateway = settings.GatewayUrl.TrimEnd('/');
        var database = new NpgsqlConnectionStringBuilder(connectionString);
        Console.WriteLine();
        Console.WriteLine("Stateset Workflows is running:");
        Console.WriteLine($"  Gateway        {gateway}");
        Console.WriteLine($"  OpenAPI UI     {gateway}/docs   (document: {gateway}/openapi/v1.json)");
        Console.WriteLine($"  Health         {gateway}/health/ready");
        Console.WriteLine($"  Metrics        {gateway}/metrics   (Prometheus; worker and gateway share this process)");
        Console.WriteLine($"  Temporal       {temporal.Description}");
        if (temporal.UiUrl is not null)
        {
            Console.WriteLine($"  Temporal UI    {temporal.UiUrl}   (orders: search OrderId = \"<id>\" or open workflow order-<id>)");
        }
        else if (temporal.UiUnavailableReason is not null)
        {
            Console.WriteLine($"  Temporal UI    {temporal.UiUnavailableReason}");
        }

        Console.WriteLine($"  Traces         {traces.Description}");
        Console.WriteLine($"  PostgreSQL     {database.Host}:{database.Port}/{database.Database} (user {database.Username})");
        Console.WriteLine($"  Sandboxes      {sandboxes.BaseAddress} (payment provider, carriers)");
        Console.WriteLine($"  Admin API key  {adminKey}   (X-Api-Key header; kept in {settings.DataDirectory})");
        Console.WriteLine();
        Console.WriteLine("Press Ctrl-C to stop everything.");
    }

    private static async Task WaitForShutdownAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Describe(Exception e) => e is AggregateException { InnerException: { } inner } ? inner.Message : e.Message;

    /// <summary>
    /// The stack owns Ctrl-C: the hosted worker and gateway must not each react to it on their own, or they
    /// would stop in an arbitrary order while the stack is still stopping the others.
    /// </summary>
    private sealed class StackOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Stateset.Database;
using Stateset.Gateway;
using Stateset.Gateway.Security;
using Stateset.Gateway.Workflows;
using Stateset.TemporalServer;
using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.OrderFulfillment;
using Temporalio.Client;

// Usage: dotnet run -c Release --project Benchmarks/Stateset.Gateway.Benchmarks -- [callers=16] [seconds=5] [rounds=3]
// The loops only start workflows (no worker runs them), so what is measured is the start path. Three paths:
// POST /orders through the gateway (authentication, validation, idempotency claim, HTTP); POST /bare/orders, a bare
// minimal-API endpoint on the same Kestrel that starts the same workflow with the gateway's own SDK client and does
// nothing else (no auth, validation or idempotency), so the ratio to it is what the gateway's own layers cost; and
// the SDK client's start call with no HTTP at all. All paths are
// warmed up first (JIT tiering alone moved the gateway's figure by a third), then measured in alternating rounds so
// that a noisy neighbour on this shared machine, or the embedded server's growing tables, weigh on all alike.
// CPU per start (this process and PostgreSQL) is printed too: unlike throughput it does not move with the neighbours.
// With TEMPORAL_ADDRESS set, both paths start workflows on that Temporal (use a dev server: nothing runs them).
var callers = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 16;
var duration = TimeSpan.FromSeconds(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
var rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;

await using var postgres = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions());
var cpu = await CpuMeter.ForClusterAsync(postgres.ConnectionString);
await using var embedded = Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS") is { Length: > 0 }
    ? null
    : await EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { TimeSkipping = false });
var temporalAddress = embedded?.Target ?? Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS")!;
var builder = WebApplication.CreateBuilder();
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["ConnectionStrings:Commerce"] = postgres.ConnectionString,
    ["TEMPORAL_ADDRESS"] = temporalAddress,
    ["TEMPORAL_TASK_QUEUE"] = "benchmark",
    ["Logging:LogLevel:Default"] = "Warning",
    ["Gateway:RateLimit:PermitsPerSecond"] = "1000000",
    ["Gateway:RateLimit:Burst"] = "1000000",
});
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.AddGateway();
await using var app = builder.Build();

// The bare endpoint is a branch of its own, ahead of the gateway's middleware: routing, JSON binding and the start.
var gatewayClient = app.Services.GetRequiredService<ITemporalClient>();
app.MapWhen(http => http.Request.Path.StartsWithSegments("/bare", StringComparison.Ordinal), bare =>
{
    bare.UseRouting();
    bare.UseEndpoints(endpoints => endpoints.MapPost("/bare/orders", async (BareOrder order) =>
    {
        var input = new FulfillOrderInput(order.OrderId, order.CustomerId, order.Currency, order.Lines, order.ShippingAddress, order.PaymentMethod);
        // The very Temporal call the gateway makes (ClientCalls), so the two differ only by the gateway's own layers.
        var handle = await gatewayClient.StartAsync((OrderFulfillmentWorkflow wf) => wf.RunAsync(input), new WorkflowOptions(WorkflowIds.Order(order.OrderId), "benchmark"));
        return TypedResults.Accepted($"/orders/{order.OrderId}", new { id = order.OrderId, workflowId = handle.Id, runId = handle.ResultRunId });
    }));
});
app.MapGateway();
await app.StartAsync();
var (key, _) = await app.Services.GetRequiredService<ApiKeyStore>().CreateAsync("benchmark", [ApiScopes.Client], "benchmark", CancellationToken.None);

using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
http.DefaultRequestHeaders.Add("X-Api-Key", key);
var client = await TemporalClient.ConnectAsync(new(temporalAddress));
var address = new Address("Ava Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US");

Console.WriteLine($"{callers} concurrent callers, {rounds} rounds of {duration.TotalSeconds:0} s per path, {Environment.ProcessorCount} cores, Temporal at {temporalAddress}{(embedded is null ? string.Empty : " (embedded)")}; warming up ...");
var lines = new List<OrderLine> { new("TENT-2P", 1) };

// Warm both paths until the JIT has finished tiering them up: on 2 busy cores the background compiler needs tens
// of seconds, and a gateway measured before it finishes runs partly unoptimised code.
var warmUp = Stopwatch.StartNew();
for (long compiled = -1, chunk = 0; warmUp.Elapsed < TimeSpan.FromSeconds(90); chunk++)
{
    await MeasureAsync(cpu, TimeSpan.FromSeconds(2), callers, i => PostOrderAsync($"warm-gw-{chunk}-{i}"));
    await MeasureAsync(cpu, TimeSpan.FromSeconds(1), callers, i => PostBareAsync($"warm-bare-{chunk}-{i}"));
    await MeasureAsync(cpu, TimeSpan.FromSeconds(1), callers, i => StartRawAsync($"warm-raw-{chunk}-{i}"));
    var now = System.Runtime.JitInfo.GetCompiledMethodCount();
    if (now - compiled < 20)
    {
        break;
    }

    compiled = now;
}

Console.WriteLine($"warm after {warmUp.Elapsed.TotalSeconds:F0} s ({System.Runtime.JitInfo.GetCompiledMethodCount()} methods compiled)");

// How many claims each INSERT carried: the gateway groups the claims of concurrent starts into one statement.
long claims = 0, statements = 0;
using var claimGroups = new MeterListener
{
    InstrumentPublished = (instrument, listener) =>
    {
        if (instrument.Name == "stateset.gateway.claim_group.size")
        {
            listener.EnableMeasurementEvents(instrument);
        }
    },
};
claimGroups.SetMeasurementEventCallback<int>((_, size, _, _) =>
{
    Interlocked.Add(ref claims, size);
    Interlocked.Increment(ref statements);
});
claimGroups.Start();

var gateway = new List<Measurement>();
var bareRounds = new List<Measurement>();
var raw = new List<Measurement>();
for (var round = 1; round <= rounds; round++)
{
    gateway.Add(await MeasureAsync(cpu, duration, callers, i => PostOrderAsync($"gw-{round}-{i}")));
    bareRounds.Add(await MeasureAsync(cpu, duration, callers, i => PostBareAsync($"bare-{round}-{i}")));
    raw.Add(await MeasureAsync(cpu, duration, callers, i => StartRawAsync($"raw-{round}-{i}")));
    Console.WriteLine(
        $"round {round}: gateway {gateway[^1].PerSecond,6:F0} /s, bare {bareRounds[^1].PerSecond,6:F0} /s, raw {raw[^1].PerSecond,6:F0} /s, gateway / bare {gateway[^1].PerSecond / bareRounds[^1].PerSecond:P0}");
}

var gatewayAll = Measurement.Combine(gateway);
var bareAll = Measurement.Combine(bareRounds);
var rawAll = Measurement.Combine(raw);
Print("POST /orders through the gateway", gatewayAll);
Print("POST /bare/orders (same Kestrel and client)", bareAll);
Print("StartWorkflowAsync with the SDK client", rawAll);
double MedianRatio(List<Measurement> of, List<Measurement> to) => of.Zip(to, (a, b) => a.PerSecond / b.PerSecond).Order().ElementAt(of.Count / 2);
Console.WriteLine($"idempotency claims per INSERT: {(double)claims / Math.Max(1, statements):F1} on average ({claims} claims, {statements} statements)");
Console.WriteLine($"gateway / bare throughput: {gatewayAll.PerSecond / bareAll.PerSecond:P0} overall, median round {MedianRatio(gateway, bareRounds):P0} (goal: at least 85 %)");
Console.WriteLine($"bare / gateway CPU per start: {bareAll.CpuMsPerOperation / gatewayAll.CpuMsPerOperation:P0} (goal: at least 85 %: the throughput ratio when CPU is all that limits both)");
Console.WriteLine($"gateway / raw throughput: {gatewayAll.PerSecond / rawAll.PerSecond:P0} overall, median round {MedianRatio(gateway, raw):P0}");
Console.WriteLine($"raw / gateway CPU per start: {rawAll.CpuMsPerOperation / gatewayAll.CpuMsPerOperation:P0}");
await app.StopAsync();
return 0;

async Task PostOrderAsync(string id)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
    {
        Content = JsonContent.Create(new
        {
            orderId = id,
            customerId = "cus-ava",
            currency = "USD",
            lines = new[] { new { sku = "TENT-2P", quantity = 1 } },
            shippingAddress = new { name = address.Name, line1 = address.Line1, city = address.City, region = address.Region, postalCode = address.PostalCode, country = address.Country },
            paymentMethod = "4242424242424242",
        }),
    };
    request.Headers.Add("Idempotency-Key", id);
    using var response = await http.SendAsync(request);
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"POST /orders answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }
}

async Task PostBareAsync(string id)
{
    using var response = await http.PostAsJsonAsync("/bare/orders", new
    {
        orderId = id,
        customerId = "cus-ava",
        currency = "USD",
        lines = new[] { new { sku = "TENT-2P", quantity = 1 } },
        shippingAddress = new { name = address.Name, line1 = address.Line1, city = address.City, region = address.Region, postalCode = address.PostalCode, country = address.Country },
        paymentMethod = "4242424242424242",
    });
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"POST /bare/orders answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }
}

Task StartRawAsync(string id)
{
    var input = new FulfillOrderInput(id, "cus-ava", "USD", lines, address, "4242424242424242");
    return client.StartWorkflowAsync((OrderFulfillmentWorkflow wf) => wf.RunAsync(input), new WorkflowOptions(WorkflowIds.Order(id), "benchmark"));
}

static void Print(string name, Measurement result)
{
    double Percentile(double p) => result.LatenciesMs[(int)Math.Min(result.LatenciesMs.Count - 1, p * result.LatenciesMs.Count)];
    Console.WriteLine(
        $"{name,-40} {result.PerSecond,8:F0} /s   p50 {Percentile(0.50),7:F1} ms   p99 {Percentile(0.99),7:F1} ms   ({result.LatenciesMs.Count} in {result.Elapsed.TotalSeconds:F1} s)");
    Console.WriteLine(
        $"{string.Empty,-40} CPU per start {result.CpuMsPerOperation,6:F3} ms: {result.SelfCpu.TotalMilliseconds / result.LatenciesMs.Count:F3} ms in this process, {result.PostgresCpu.TotalMilliseconds / result.LatenciesMs.Count:F3} ms in PostgreSQL");
}

static async Task<Measurement> MeasureAsync(CpuMeter cpu, TimeSpan duration, int callers, Func<int, Task> operation)
{
    var next = 0;
    var latencies = new List<double>();
    var before = cpu.Read();
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
    {
        var mine = new List<double>();
        while (clock.Elapsed < duration)
        {
            var started = Stopwatch.GetTimestamp();
            await operation(Interlocked.Increment(ref next));
            mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        lock (latencies)
        {
            latencies.AddRange(mine);
        }
    }));
    var elapsed = clock.Elapsed;
    var after = cpu.Read();
    latencies.Sort();
    return new Measurement(elapsed, latencies, after.Self - before.Self, after.Postgres - before.Postgres);
}

/// <summary>The body of the bare endpoint: the workflow's input as it is, bound with no checks.</summary>
internal sealed record BareOrder(string OrderId, string CustomerId, string Currency, IReadOnlyList<OrderLine> Lines, Address ShippingAddress, string PaymentMethod);

/// <summary>Operations done in a span of time, with each one's latency (sorted).</summary>
/// <param name="SelfCpu">CPU this process used meanwhile (load generator, gateway and embedded Temporal alike).</param>
/// <param name="PostgresCpu">CPU the PostgreSQL cluster used meanwhile.</param>
internal sealed record Measurement(TimeSpan Elapsed, List<double> LatenciesMs, TimeSpan SelfCpu, TimeSpan PostgresCpu)
{
    public double PerSecond => LatenciesMs.Count / Elapsed.TotalSeconds;

    public double CpuMsPerOperation => (SelfCpu + PostgresCpu).TotalMilliseconds / LatenciesMs.Count;

    public static Measurement Combine(IEnumerable<Measurement> parts) => new(
        TimeSpan.FromTicks(parts.Sum(p => p.Elapsed.Ticks)),
        [.. parts.SelectMany(p => p.LatenciesMs).Order()],
        TimeSpan.FromTicks(parts.Sum(p => p.SelfCpu.Ticks)),
        TimeSpan.FromTicks(parts.Sum(p => p.PostgresCpu.Ticks)));
}

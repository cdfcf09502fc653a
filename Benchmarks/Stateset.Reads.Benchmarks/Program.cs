using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Stateset.Activities.ReadModels;
using Stateset.Database;
using Stateset.Gateway;
using Stateset.Gateway.Security;
using Stateset.TemporalServer;
using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.OrderFulfillment;

// Usage: dotnet run -c Release --project Benchmarks/Stateset.Reads.Benchmarks -- [connections=16] [seconds=5] [rounds=3] [orders=5000]
// Measures what a client reading orders costs: GET /orders/{id} of a running and of a closed order and a page of
// GET /orders, each beside GET /health/live (the gateway's cheapest answer: routing, HTTP, no key, no SQL) in the
// same run. The read-model rows are written by the real UpsertWorkflowRun activity with status views of a real
// order's size, and the list reads from a table of `orders` runs. Paths are warmed until the JIT settles, then
// measured in alternating rounds, so a noisy neighbour on this shared machine weighs on all of them alike.
// Goals (issue 13): each order read at least 5,000 /s with p99 under 20 ms, a list page at least 2,000 /s.
var connections = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 16;
var duration = TimeSpan.FromSeconds(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
var rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
var orderCount = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 5000;

await using var postgres = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions());

// The gateway needs a Temporal to start with; the reads measured never call it.
await using var embedded = Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS") is { Length: > 0 }
    ? null
    : await EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { TimeSkipping = false });
var builder = WebApplication.CreateBuilder();
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["ConnectionStrings:Commerce"] = postgres.ConnectionString,
    ["TEMPORAL_ADDRESS"] = embedded?.Target ?? Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS"),
    ["Temporal:UiUrl"] = "http://127.0.0.1:8233",
    ["Logging:LogLevel:Default"] = "Warning",
    ["Gateway:RateLimit:PermitsPerSecond"] = "1000000",
    ["Gateway:RateLimit:Burst"] = "1000000",
});
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.AddGateway();
await using var app = builder.Build();
app.MapGateway();
await app.StartAsync();
var (key, _) = await app.Services.GetRequiredService<ApiKeyStore>().CreateAsync("benchmark", [ApiScopes.Client], "benchmark", CancellationToken.None);

Console.WriteLine($"writing {orderCount} order runs through UpsertWorkflowRun ...");
var readModels = new ReadModelActivities(app.Services.GetRequiredService<NpgsqlDataSource>());
var start = DateTimeOffset.UtcNow.AddDays(-30);
for (var i = 0; i < orderCount; i++)
{
    var closed = i != orderCount - 1;
    await readModels.UpsertWorkflowRunAsync(Update($"bench-{i:D6}", start.AddMinutes(i), closed));
}

var runningOrder = $"bench-{orderCount - 1:D6}";
var closedOrder = $"bench-{orderCount / 2:D6}";
await using (var analyze = new NpgsqlConnection(postgres.ConnectionString))
{
    await analyze.OpenAsync();
    await using var command = new NpgsqlCommand("ANALYZE workflow_runs", analyze);
    await command.ExecuteNonQueryAsync();
}

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = new Uri(app.Urls.First()) };
http.DefaultRequestHeaders.Add("X-Api-Key", key);
var paths = new (string Name, string Path)[]
{
    ("GET /health/live", "/health/live"),
    ("GET /orders/{id} (running)", $"/orders/{runningOrder}"),
    ("GET /orders/{id} (closed)", $"/orders/{closedOrder}"),
    ("GET /orders?status=completed (25)", "/orders?status=completed&limit=25"),
};
foreach (var (_, path) in paths)
{
    using var check = await http.GetAsync(new Uri(path, UriKind.Relative));
    if (!check.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{path} answered {(int)check.StatusCode}: {await check.Content.ReadAsStringAsync()}");
    }

    Console.WriteLine($"{path}: {(await check.Content.ReadAsByteArrayAsync()).Length} bytes");
}

Console.WriteLine($"{connections} connections, {rounds} rounds of {duration.TotalSeconds:0} s per path, {Environment.ProcessorCount} cores (shared: figures move with what else runs); warming up ...");
var warmUp = Stopwatch.StartNew();
for (long compiled = -1; warmUp.Elapsed < TimeSpan.FromSeconds(60);)
{
    foreach (var (_, path) in paths)
    {
        await MeasureAsync(TimeSpan.FromSeconds(2), connections, () => GetAsync(path));
    }

    var now = System.Runtime.JitInfo.GetCompiledMethodCount();
    if (now - compiled < 20)
    {
        break;
    }

    compiled = now;
}

Console.WriteLine($"warm after {warmUp.Elapsed.TotalSeconds:F0} s");
var results = paths.Select(_ => new List<Measurement>()).ToArray();
for (var round = 1; round <= rounds; round++)
{
    for (var p = 0; p < paths.Length; p++)
    {
        var path = paths[p].Path;
        results[p].Add(await MeasureAsync(duration, connections, () => GetAsync(path)));
    }

    Console.WriteLine($"round {round}: " + string.Join(", ", paths.Select((p, i) => $"{p.Name} {results[i][^1].PerSecond:F0} /s")));
}

var combined = results.Select(Measurement.Combine).ToArray();
Console.WriteLine();
Console.WriteLine($"{"path",-36} {"req/s",8} {"p50 ms",8} {"p99 ms",8} {"vs live",8}");
for (var p = 0; p < paths.Length; p++)
{
    var r = combined[p];
    Console.WriteLine($"{paths[p].Name,-36} {r.PerSecond,8:F0} {r.Percentile(0.50),8:F2} {r.Percentile(0.99),8:F2} {r.PerSecond / combined[0].PerSecond,8:P0}");
}

await app.StopAsync();
return 0;

async Task GetAsync(string path)
{
    using var response = await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{path} answered {(int)response.StatusCode}");
    }

    await response.Content.CopyToAsync(Stream.Null);
}

// A read-model write as an order run makes it, with a status view the size of a delivered order's (14 steps).
static WorkflowRunUpdate Update(string orderId, DateTimeOffset at, bool closed)
{
    string[] steps = ["validate order", "reserve inventory", "authorize payment", "risk check", "approval", "capture payment", "prepare shipment", "label printing", "carrier shipped", "commit inventory", "carrier in_transit", "carrier delivered"];
    var timeline = steps.SelectMany((step, i) => new[]
    {
        new TimelineEntry(at.UtcDateTime.AddSeconds(i * 2), step, StepOutcome.Started),
        new TimelineEntry(at.UtcDateTime.AddSeconds((i * 2) + 1), step, StepOutcome.Completed, i % 3 == 0 ? $"detail of {step}" : null),
    }).ToList();
    var status = closed ? "completed" : "shipped";
    var view = new OrderStatus(
        orderId,
        "cus-ava",
        status,
        closed ? "done" : "awaiting delivery",
        timeline,
        null,
        null,
        new OrderMoney("USD", 349m, $"{orderId}:payment", 349m, 349m, 0m),
        new OrderShipment($"{orderId}-1", "ridgeline", "ground", "1Z999AA10123456784", at.UtcDateTime.AddHours(2), closed ? at.UtcDateTime.AddDays(2) : null, closed ? "delivered" : "in_transit"),
        [],
        null);
    return new WorkflowRunUpdate(
        WorkflowIds.Order(orderId),
        "OrderFulfillment",
        orderId,
        "cus-ava",
        status,
        view.Stage,
        Sequence: 12,
        at,
        349m,
        "USD",
        closed,
        new Dictionary<string, string> { ["trackingNumber"] = $"1Z{orderId}" })
    {
        View = StatusViewJson.Serialize(view),
        RunId = Guid.NewGuid().ToString(),
    };
}

static async Task<Measurement> MeasureAsync(TimeSpan duration, int connections, Func<Task> operation)
{
    var latencies = new List<double>();
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
    {
        var mine = new List<double>();
        while (clock.Elapsed < duration)
        {
            var started = Stopwatch.GetTimestamp();
            await operation();
            mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        lock (latencies)
        {
            latencies.AddRange(mine);
        }
    }));
    var elapsed = clock.Elapsed;
    latencies.Sort();
    return new Measurement(elapsed, latencies);
}

/// <summary>Requests done in a span of time, with each one's latency (sorted).</summary>
internal sealed record Measurement(TimeSpan Elapsed, List<double> LatenciesMs)
{
    public double PerSecond => LatenciesMs.Count / Elapsed.TotalSeconds;

    public static Measurement Combine(IEnumerable<Measurement> parts) => new(
        TimeSpan.FromTicks(parts.Sum(p => p.Elapsed.Ticks)), [.. parts.SelectMany(p => p.LatenciesMs).Order()]);

    public double Percentile(double p) => LatenciesMs[(int)Math.Min(LatenciesMs.Count - 1, p * LatenciesMs.Count)];
}

using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Stateset.Database;
using Stateset.Gateway;
using Stateset.Gateway.Security;
using Stateset.TemporalServer;
using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.OrderFulfillment;
using Temporalio.Client;

// Usage: dotnet run -c Release --project Benchmarks/Stateset.Gateway.Benchmarks -- [callers=16] [seconds=10]
// Both loops only start workflows (no worker runs them), so what is measured is the start path: the gateway's
// authentication, validation, idempotency claim and HTTP, against the SDK client's own start call.
var callers = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 16;
var duration = TimeSpan.FromSeconds(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10);

await using var postgres = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions());
await using var temporal = await EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { TimeSkipping = false });
var builder = WebApplication.CreateBuilder();
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["ConnectionStrings:Commerce"] = postgres.ConnectionString,
    ["TEMPORAL_ADDRESS"] = temporal.Target,
    ["TEMPORAL_TASK_QUEUE"] = "benchmark",
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

using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
http.DefaultRequestHeaders.Add("X-Api-Key", key);
var client = await TemporalClient.ConnectAsync(new(temporal.Target));
var address = new Address("Ava Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US");

Console.WriteLine($"{callers} concurrent callers, {duration.TotalSeconds:0} s each, 2 cores; warming up ...");
await MeasureAsync(TimeSpan.FromSeconds(2), callers, i => PostOrderAsync($"warm-{i}"));
var gateway = await MeasureAsync(duration, callers, i => PostOrderAsync($"gw-{i}"));
var lines = new List<OrderLine> { new("TENT-2P", 1) };
var raw = await MeasureAsync(duration, callers, i =>
{
    var input = new FulfillOrderInput($"raw-{i}", "cus-ava", "USD", lines, address, "4242424242424242");
    return client.StartWorkflowAsync((OrderFulfillmentWorkflow wf) => wf.RunAsync(input), new WorkflowOptions(WorkflowIds.Order($"raw-{i}"), "benchmark"));
});

Print("POST /orders through the gateway", gateway);
Print("StartWorkflowAsync with the SDK client", raw);
Console.WriteLine($"gateway / raw throughput: {gateway.Count / gateway.Elapsed.TotalSeconds / (raw.Count / raw.Elapsed.TotalSeconds):P0} (goal: at least 85 %)");
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

static void Print(string name, (int Count, TimeSpan Elapsed, List<double> LatenciesMs) result)
{
    double Percentile(double p) => result.LatenciesMs[(int)Math.Min(result.LatenciesMs.Count - 1, p * result.LatenciesMs.Count)];
    Console.WriteLine(
        $"{name,-40} {result.Count / result.Elapsed.TotalSeconds,8:F0} /s   p50 {Percentile(0.50),7:F1} ms   p99 {Percentile(0.99),7:F1} ms   ({result.Count} in {result.Elapsed.TotalSeconds:F1} s)");
}

static async Task<(int Count, TimeSpan Elapsed, List<double> LatenciesMs)> MeasureAsync(TimeSpan duration, int callers, Func<int, Task> operation)
{
    var next = 0;
    var latencies = new List<double>();
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
    latencies.Sort();
    return (latencies.Count, clock.Elapsed, latencies);
}

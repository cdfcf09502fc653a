using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stateset.ServiceDefaults;
using Stateset.ServiceDefaults.Telemetry;
using Stateset.ServiceDefaults.Temporal;
using Stateset.TemporalServer;
using Temporalio.Client;

namespace Stateset.Telemetry.Tests;

/// <summary>The host wiring: the shared Temporal client carries the interceptor and runtime; /metrics serves Prometheus text.</summary>
[Collection(TemporalCollection.Name)]
public sealed class TelemetryHostTests
{
    [Fact]
    public async Task MetricsListener_ServesBusinessRuntimeAndTemporalMetrics()
    {
        var port = FreePort();
        var builder = Host.CreateApplicationBuilder();
        builder.AddStatesetTelemetry("telemetry-tests");
        builder.AddMetricsListener($"http://127.0.0.1:{port}/metrics");
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            StatesetTelemetry.WorkflowsStarted.Add(1, new KeyValuePair<string, object?>("workflow.type", "HostTestWorkflow"));
            using var http = new HttpClient();

            using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            var body = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            Assert.Contains("stateset_workflows_started_total{", body, StringComparison.Ordinal);
            Assert.Contains("workflow_type=\"HostTestWorkflow\"", body, StringComparison.Ordinal);
            Assert.Contains("dotnet_gc_", body, StringComparison.Ordinal);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public void AddTemporal_InstallsTheInterceptorAndTheMetricsRuntime()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["TEMPORAL_ADDRESS"] = "127.0.0.1:1" });
        builder.AddTemporal();
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptionsMonitor<TemporalClientConnectOptions>>().Get(Options.DefaultName);

        Assert.Contains(options.Interceptors ?? [], interceptor => interceptor is TracingInterceptor);
        Assert.Same(TemporalMetricsBridge.Runtime, options.Runtime);
    }

    [Fact]
    public async Task MetricsBridge_ForwardsTheSdksMetricsToTheTemporalioMeter()
    {
        var recorded = new List<(string Name, long Value, string? Tag)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == TelemetryExtensions.TemporalSdkMeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (recorded)
            {
                recorded.Add((instrument.Name, value, tags.ToArray().FirstOrDefault(t => t.Key == "namespace").Value as string));
            }
        });
        listener.Start();
        var bridge = new TemporalMetricsBridge(new System.Diagnostics.Metrics.Meter(TelemetryExtensions.TemporalSdkMeterName));

        var tags = bridge.CreateTags(bridge.CreateTags(null, [new("namespace", "default")]), [new("task_queue", "tq")]);
        bridge.CreateCounter<long>("temporal_request", null, null).Add(2, tags);
        bridge.CreateGauge<long>("temporal_worker_task_slots_available", null, null).Set(7, tags);
        await Task.Yield();

        Assert.Contains(("temporal_request", 2L, "default"), recorded);
        Assert.Contains(("temporal_worker_task_slots_available", 7L, "default"), recorded);
    }

    [Fact]
    public async Task AnEmbeddedTemporalInTheSameProcess_LeavesNoServerSpans_WhileTheHostsOwnRequestsAreRecorded()
    {
        var recorded = new ConcurrentQueue<(string Path, bool Recorded)>();
        using var spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None, // OpenTelemetry decides.
            ActivityStopped = span => recorded.Enqueue((span.GetTagItem("url.path") as string ?? span.DisplayName, span.Recorded)),
        };
        ActivitySource.AddActivityListener(spans);
        await using var temporal = await EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { UiPort = 0 });
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddStatesetTelemetry("telemetry-tests");
        await using var app = builder.Build();
        app.MapGet("/orders/{id}", async (string id) =>
        {
            var client = await TemporalClient.ConnectAsync(new(temporal.Target));
            return (await client.WorkflowService.GetSystemInfoAsync(new())).ServerVersion;
        });
        await app.StartAsync();

        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        (await http.GetAsync(new Uri("/orders/o-1", UriKind.Relative))).EnsureSuccessStatusCode();

        // The Temporal UI's pages and assets (not only its /api/v1 calls) are the server's requests too.
        using var ui = new HttpClient { BaseAddress = temporal.UiUrl };
        await ui.GetAsync(new Uri("/namespaces/default/workflows", UriKind.Relative));
        await ui.GetAsync(new Uri("/favicon.ico", UriKind.Relative));
        await app.StopAsync();

        // The server's requests happened in this process (unrecorded spans carry no path), and only the host's was kept.
        Assert.Equal([("/orders/o-1", true)], recorded.Where(span => span.Recorded));
        Assert.True(recorded.Count(span => !span.Recorded) >= 3, $"expected the server's own requests, unrecorded: {string.Join(", ", recorded)}");
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stateset.ServiceDefaults;
using Stateset.Worker;
using Temporalio.Extensions.Hosting;
using Temporalio.Worker;

namespace Stateset.Gateway.Tests;

/// <summary>The worker's SDK options as configuration sets them (the host is built, never started: nothing connects).</summary>
public sealed class WorkerCompositionTests
{
    [Fact]
    public void AddWorker_Unconfigured_CapturesNoStackTracesKeepsTheTaskListenerAndTheSdksCache()
    {
        var options = WorkerOptions([]);

        Assert.Equal(WorkflowStackTrace.None, options.WorkflowStackTrace);
        Assert.False(options.DisableWorkflowTracingEventListener);
        Assert.Equal(new TemporalWorkerOptions().MaxCachedWorkflows, options.MaxCachedWorkflows);
    }

    [Fact]
    public void AddWorker_Configured_TracksStacksDropsTheTaskListenerAndBoundsTheCache()
    {
        var options = WorkerOptions(new()
        {
            ["Worker:WorkflowStackTrace"] = "Normal",
            ["Worker:DetectInvalidWorkflowTasks"] = "false",
            ["Worker:MaxCachedWorkflows"] = "200",
        });

        Assert.Equal(WorkflowStackTrace.Normal, options.WorkflowStackTrace);
        Assert.True(options.DisableWorkflowTracingEventListener);
        Assert.Equal(200, options.MaxCachedWorkflows);
    }

    private static TemporalWorkerServiceOptions WorkerOptions(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Configuration.AddInMemoryCollection([
            new("ConnectionStrings:Commerce", "Host=127.0.0.1;Database=never-opened"),
            new("TEMPORAL_ADDRESS", "127.0.0.1:1"),
        ]);
        builder.AddWorker();
        using var host = builder.Build();
        // The hosting package names the worker's options after its task queue; the configure step carries that name.
        var name = host.Services.GetServices<IConfigureOptions<TemporalWorkerServiceOptions>>()
            .OfType<ConfigureNamedOptions<TemporalWorkerServiceOptions>>()
            .Select(configure => configure.Name)
            .First(named => named is not null && named.StartsWith(TemporalSettings.DefaultTaskQueue, StringComparison.Ordinal));
        return host.Services.GetRequiredService<IOptionsMonitor<TemporalWorkerServiceOptions>>().Get(name);
    }
}

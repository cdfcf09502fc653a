using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Stateset.ServiceDefaults;
using Temporalio.Extensions.Hosting;

namespace Stateset.Worker;

/// <summary>
/// How the worker is put together, shared by its own Program and by the one-command stack that hosts it
/// in-process.
/// </summary>
public static class WorkerComposition
{
    /// <summary>Registers the database, the Temporal client and the hosted Temporal worker with our workflows and activities.</summary>
    public static IHostApplicationBuilder AddWorker(this IHostApplicationBuilder builder)
    {
        builder.AddCommerceDatabase();
        builder.AddTemporal();

        var settings = TemporalSettings.From(builder.Configuration);
        var limits = builder.Configuration.GetSection("Worker");
        var gracefulShutdown = limits.GetValue("GracefulShutdownSeconds", 20);

        // The host must wait at least as long as the worker lets running activities finish.
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(gracefulShutdown + 10));
        builder.Services
            .AddHostedTemporalWorker(settings.TaskQueue)
            .ConfigureOptions(options =>
            {
                options.MaxConcurrentActivities = limits.GetValue("MaxConcurrentActivities", 100);
                options.MaxConcurrentWorkflowTasks = limits.GetValue("MaxConcurrentWorkflowTasks", 100);
                options.GracefulShutdownTimeout = TimeSpan.FromSeconds(gracefulShutdown);
            })
            .AddWorkflowsAndActivities();
        return builder;
    }

    /// <summary>The one list of what this worker runs.</summary>
    private static ITemporalWorkerServiceOptionsBuilder AddWorkflowsAndActivities(this ITemporalWorkerServiceOptionsBuilder worker) =>
        worker;
}

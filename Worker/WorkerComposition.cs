using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Stateset.Activities;
using Stateset.Activities.Shipments;
using Stateset.Activities.Shipping;
using Stateset.ServiceDefaults;
using Stateset.ServiceDefaults.Telemetry;
using Stateset.Workflows.LabelPrinting;
using Stateset.Workflows.OrderFulfillment;
using Stateset.Workflows.RefundProcessing;
using Stateset.Workflows.ReturnAuthorization;
using Temporalio.Extensions.Hosting;
using Temporalio.Worker;

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
        builder.AddStatesetTelemetry("stateset-worker");
        builder.AddMetricsListener(builder.Configuration["Worker:MetricsUrl"]);
        builder.AddCommerceDatabase();
        builder.AddTemporal();
        builder.Services.AddCommerceActivities(builder.Configuration);
        builder.Services.AddShippingActivities(builder.Configuration);
        builder.Services.AddScoped<ShipmentActivities>();
        builder.Services.AddOutboxWebhookDispatcher(builder.Configuration);

        var settings = TemporalSettings.From(builder.Configuration);
        var limits = builder.Configuration.GetSection("Worker");
        var gracefulShutdown = limits.GetValue("GracefulShutdownSeconds", 20);

        // The host must wait at least as long as the worker lets running activities finish.
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(gracefulShutdown + 10));

        // Before the worker: a real namespace refuses upserts of unregistered search attributes.
        builder.Services.AddHostedService<SearchAttributeRegistration>();
        builder.Services
            .AddHostedTemporalWorker(settings.TaskQueue)
            .ConfigureOptions(options =>
            {
                options.MaxConcurrentActivities = limits.GetValue("MaxConcurrentActivities", 100);
                options.MaxConcurrentWorkflowTasks = limits.GetValue("MaxConcurrentWorkflowTasks", 100);
                options.GracefulShutdownTimeout = TimeSpan.FromSeconds(gracefulShutdown);

                // Data and programming errors fail their activity for good instead of being retried forever.
                options.Interceptors = [.. options.Interceptors ?? [], new ActivityFailureClassifier()];

                // The Temporal UI's call-stack tab asks the worker where each run waits (the __stack_trace query). To
                // answer it the SDK captures a stack trace with file and line at every task a workflow schedules
                // (each activity, timer and wait), which reads the PDBs: the one-command stack, made for looking at
                // runs, turns it on; a worker that serves orders leaves it off.
                options.WorkflowStackTrace = limits.GetValue("WorkflowStackTrace", WorkflowStackTrace.None);

                // The SDK listens to the TPL's event source to catch a workflow scheduling a task outside its own
                // scheduler (Task.Run in workflow code). Listening turns on async causality events for every await
                // in the process, activities and Npgsql included; the tests keep it on, where it catches the bug.
                options.DisableWorkflowTracingEventListener = !limits.GetValue("DetectInvalidWorkflowTasks", true);

                // Runs kept in memory between their tasks (sticky execution); a run evicted replays its history on
                // its next task. Waiting runs are the most of them, so this bounds the worker's memory.
                options.MaxCachedWorkflows = limits.GetValue("MaxCachedWorkflows", options.MaxCachedWorkflows);
            })
            .AddWorkflow<OrderFulfillmentWorkflow>()
            .AddWorkflow<RefundProcessingWorkflow>()
            .AddWorkflow<LabelPrintingWorkflow>()
            .AddWorkflow<ReturnAuthorizationWorkflow>()
            .AddCommerceActivities()
            .AddScopedActivities<LabelActivities>()
            .AddScopedActivities<ShipmentActivities>();
        return builder;
    }
}

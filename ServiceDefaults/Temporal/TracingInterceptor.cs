using System.Collections.Concurrent;
using System.Diagnostics;
using Stateset.ServiceDefaults.Telemetry;
using Temporalio.Activities;
using Temporalio.Api.Common.V1;
using Temporalio.Client;
using Temporalio.Client.Interceptors;
using Temporalio.Common;
using Temporalio.Converters;
using Temporalio.Exceptions;
using Temporalio.Worker.Interceptors;
using Temporalio.Workflows;

namespace Stateset.ServiceDefaults.Temporal;

/// <summary>
/// Follows one business process across processes: client calls start spans and carry their W3C trace context in
/// a Temporal header (<see cref="TraceHeader"/>, the key Temporal's own OpenTelemetry interceptor uses), workflow
/// runs, signals and activity attempts continue it as child spans. Workers also get logging scopes (workflow id,
/// run id, order id) and the business metrics of <see cref="StatesetTelemetry"/>.
/// </summary>
/// <remarks>
/// Workflow code is replayed, so workflow spans are created only when <see cref="Workflow.Unsafe.IsReplaying"/> is
/// false, are zero-length markers (a run outlives any one worker), and never change the commands a workflow issues.
/// A run that is replayed after eviction from the worker cache no longer has its own span, so activities it starts
/// from then on become children of the span that started the run instead.
/// </remarks>
public sealed class TracingInterceptor : IClientInterceptor, IWorkerInterceptor
{
    /// <summary>The header holding the trace context: a payload of a string map with traceparent/tracestate.</summary>
    public const string TraceHeader = "_tracer-data";

    /// <summary>The header carrying the order id from a workflow to its activities and children.</summary>
    public const string OrderHeader = "_stateset-order-id";

    // The statuses our workflows end with when they unwound their saga instead of completing.
    private static readonly HashSet<string> CompensatedStatuses =
        ["cancelled", "rejected", "expired", "payment_declined", "failed"];

    private static readonly SearchAttributeKey<string> OrderIdAttribute = SearchAttributeKey.CreateKeyword("OrderId");

    private static readonly ConcurrentDictionary<Type, System.Reflection.PropertyInfo?> StatusProperties = new();

    /// <inheritdoc />
    public ClientOutboundInterceptor InterceptClient(ClientOutboundInterceptor nextInterceptor) => new ClientOutbound(nextInterceptor);

    /// <inheritdoc />
    public WorkflowInboundInterceptor InterceptWorkflow(WorkflowInboundInterceptor nextInterceptor) => new WorkflowInbound(nextInterceptor);

    /// <inheritdoc />
    public ActivityInboundInterceptor InterceptActivity(ActivityInboundInterceptor nextInterceptor) => new ActivityInbound(nextInterceptor);

    /// <summary>Reads the trace context a caller put in the headers; <c>default</c> when there is none.</summary>
    public static ActivityContext ExtractContext(IReadOnlyDictionary<string, Payload>? headers)
    {
        if (headers is null || !headers.TryGetValue(TraceHeader, out var payload))
        {
            return default;
        }

        var carrier = DataConverter.Default.PayloadConverter.ToValue<Dictionary<string, string>>(payload);
        return carrier.TryGetValue("traceparent", out var traceParent)
            && ActivityContext.TryParse(traceParent, carrier.GetValueOrDefault("tracestate"), isRemote: true, out var context)
            ? context
            : default;
    }

    private static IDictionary<string, Payload>? WithContext(IDictionary<string, Payload>? headers, ActivityContext context, string? orderId = null)
    {
        if (context == default && orderId is null)
        {
            return headers;
        }

        var result = headers is null ? new Dictionary<string, Payload>() : new Dictionary<string, Payload>(headers);
        if (context != default)
        {
            var flags = (context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00";
            var carrier = new Dictionary<string, string> { ["traceparent"] = $"00-{context.TraceId}-{context.SpanId}-{flags}" };
            if (!string.IsNullOrEmpty(context.TraceState))
            {
                carrier["tracestate"] = context.TraceState;
            }

            result[TraceHeader] = DataConverter.Default.PayloadConverter.ToPayload(carrier);
        }

        if (orderId is not null)
        {
            result[OrderHeader] = DataConverter.Default.PayloadConverter.ToPayload(orderId);
        }

        return result;
    }

    private static string? OrderIdFrom(IReadOnlyDictionary<string, Payload>? headers, string? workflowId) =>
        headers is not null && headers.TryGetValue(OrderHeader, out var payload)
            ? DataConverter.Default.PayloadConverter.ToValue<string>(payload)
            : workflowId is not null && workflowId.StartsWith("order-", StringComparison.Ordinal) ? workflowId["order-".Length..] : null;

    private static Dictionary<string, object> LogScope(string? workflowId, string? runId, string? orderId)
    {
        var scope = new Dictionary<string, object>();
        if (workflowId is not null)
        {
            scope["WorkflowId"] = workflowId;
        }

        if (runId is not null)
        {
            scope["RunId"] = runId;
        }

        if (orderId is not null)
        {
            scope["OrderId"] = orderId;
        }

        return scope;
    }

    private static void RecordError(Activity? span, Exception e)
    {
        span?.SetStatus(ActivityStatusCode.Error, e.Message);
        span?.AddException(e);
    }

    // Our workflow results are records with a string Status (delivered, cancelled, refunded, ...).
    private static string StatusOf(object? result) =>
        result is null ? "completed"
            : StatusProperties.GetOrAdd(result.GetType(), type => type.GetProperty("Status") is { PropertyType: var t } p && t == typeof(string) ? p : null)
                ?.GetValue(result) as string ?? "completed";

    private sealed class ClientOutbound(ClientOutboundInterceptor next) : ClientOutboundInterceptor(next)
    {
        public override async Task<WorkflowHandle<TWorkflow, TResult>> StartWorkflowAsync<TWorkflow, TResult>(StartWorkflowInput input)
        {
            var operation = input.Options.StartSignal is null ? "StartWorkflow" : "SignalWithStartWorkflow";
            using var span = Start($"{operation}:{input.Workflow}", input.Options.Id);
            try
            {
                var handle = await base.StartWorkflowAsync<TWorkflow, TResult>(input with { Headers = WithCurrentContext(input.Headers, span) });
                StatesetTelemetry.WorkflowsStarted.Add(1, new KeyValuePair<string, object?>("workflow.type", input.Workflow));
                return handle;
            }
            catch (Exception e)
            {
                RecordError(span, e);
                throw;
            }
        }

        public override async Task SignalWorkflowAsync(SignalWorkflowInput input)
        {
            using var span = Start($"SignalWorkflow:{input.Signal}", input.Id);
            try
            {
                await base.SignalWorkflowAsync(input with { Headers = WithCurrentContext(input.Headers, span) });
            }
            catch (Exception e)
            {
                RecordError(span, e);
                throw;
            }
        }

        public override async Task<TResult> QueryWorkflowAsync<TResult>(QueryWorkflowInput input)
        {
            using var span = Start($"QueryWorkflow:{input.Query}", input.Id);
            try
            {
                return await base.QueryWorkflowAsync<TResult>(input with { Headers = WithCurrentContext(input.Headers, span) });
            }
            catch (Exception e)
            {
                RecordError(span, e);
                throw;
            }
        }

        public override async Task<WorkflowUpdateHandle<TResult>> StartWorkflowUpdateAsync<TResult>(StartWorkflowUpdateInput input)
        {
            using var span = Start($"StartWorkflowUpdate:{input.Update}", input.Id);
            try
            {
                return await base.StartWorkflowUpdateAsync<TResult>(input with { Headers = WithCurrentContext(input.Headers, span) });
            }
            catch (Exception e)
            {
                RecordError(span, e);
                throw;
            }
        }

        private static Activity? Start(string name, string? workflowId) =>
            StatesetTelemetry.TemporalSource.StartActivity(
                name, ActivityKind.Client, parentContext: default, tags: [new("temporalWorkflowID", workflowId)]);

        // Without a listener there is no span, but an ambient one (the HTTP request) still deserves to continue.
        private static IDictionary<string, Payload>? WithCurrentContext(IDictionary<string, Payload>? headers, Activity? span) =>
            (span ?? Activity.Current) is { } current ? WithContext(headers, current.Context) : headers;
    }

    private sealed class WorkflowInbound(WorkflowInboundInterceptor next) : WorkflowInboundInterceptor(next)
    {
        // What outbound calls carry: this run's span when this worker created it, else the starter's context.
        public ActivityContext Context { get; private set; }

        public string? OrderId { get; private set; }

        public override void Init(WorkflowOutboundInterceptor outbound) => base.Init(new WorkflowOutbound(this, outbound));

        public override async Task<object?> ExecuteWorkflowAsync(ExecuteWorkflowInput input)
        {
            var info = Workflow.Info;
            OrderId = OrderIdFrom(info.Headers, null)
                ?? (Workflow.TypedSearchAttributes.TryGetValue(OrderIdAttribute, out var fromAttribute) ? fromAttribute : OrderIdFrom(null, info.WorkflowId));
            var starter = ExtractContext(info.Headers);
            Context = MarkSpan($"RunWorkflow:{info.WorkflowType}", starter)?.Context ?? starter;

            using var scope = Workflow.Logger.BeginScope(LogScope(info.WorkflowId, info.RunId, OrderId));
            try
            {
                var result = await base.ExecuteWorkflowAsync(input);
                RecordCompletion(info.WorkflowType, StatusOf(result));
                return result;
            }
            catch (Exception e)
            {
                RecordCompletion(info.WorkflowType, e switch
                {
                    ContinueAsNewException => "continued_as_new",
                    CanceledFailureException or OperationCanceledException => "cancelled",
                    _ => "failed",
                });
                throw;
            }
        }

        public override async Task HandleSignalAsync(HandleSignalInput input)
        {
            MarkSpan($"HandleSignal:{input.Signal}", SenderOr(input.Headers));
            using var scope = Workflow.Logger.BeginScope(LogScope(Workflow.Info.WorkflowId, Workflow.Info.RunId, OrderId));
            await base.HandleSignalAsync(input);
        }

        public override async Task<object?> HandleUpdateAsync(HandleUpdateInput input)
        {
            MarkSpan($"HandleUpdate:{input.Update}", SenderOr(input.Headers));
            using var scope = Workflow.Logger.BeginScope(LogScope(Workflow.Info.WorkflowId, Workflow.Info.RunId, OrderId));
            return await base.HandleUpdateAsync(input);
        }

        // A handler's span continues its sender's trace; a sender without one (a console) joins the run's.
        private ActivityContext SenderOr(IReadOnlyDictionary<string, Payload>? headers) =>
            ExtractContext(headers) is var sender && sender != default ? sender : Context;

        // A zero-length span marking that the run (or handler) happened, created only on first execution. The
        // SDK's tracing event listener watches workflow code for non-deterministic calls; starting a span reads
        // the clock for the span's own timestamp only, which never reaches the workflow's commands.
        private static Activity? MarkSpan(string name, ActivityContext parent)
        {
            if (Workflow.Unsafe.IsReplaying)
            {
                return null;
            }

            return Workflow.Unsafe.WithTracingEventListenerDisabled(() =>
            {
                var ambient = Activity.Current;
                Activity.Current = null;
                try
                {
                    using var span = StatesetTelemetry.TemporalSource.StartActivity(
                        name,
                        ActivityKind.Server,
                        parent,
                        [new("temporalWorkflowID", Workflow.Info.WorkflowId), new("temporalRunID", Workflow.Info.RunId)]);
                    return span;
                }
                finally
                {
                    Activity.Current = ambient;
                }
            });
        }

        private static void RecordCompletion(string workflowType, string status)
        {
            if (Workflow.Unsafe.IsReplaying)
            {
                return;
            }

            var tags = new TagList { { "workflow.type", workflowType }, { "status", status } };
            StatesetTelemetry.WorkflowsCompleted.Add(1, tags);
            if (CompensatedStatuses.Contains(status))
            {
                StatesetTelemetry.WorkflowsCompensated.Add(1, tags);
            }
        }
    }

    private sealed class WorkflowOutbound(WorkflowInbound run, WorkflowOutboundInterceptor next) : WorkflowOutboundInterceptor(next)
    {
        public override Task<TResult> ScheduleActivityAsync<TResult>(ScheduleActivityInput input) =>
            base.ScheduleActivityAsync<TResult>(input with { Headers = WithContext(input.Headers, run.Context, run.OrderId) });

        public override Task<TResult> ScheduleLocalActivityAsync<TResult>(ScheduleLocalActivityInput input) =>
            base.ScheduleLocalActivityAsync<TResult>(input with { Headers = WithContext(input.Headers, run.Context, run.OrderId) });

        public override Task<ChildWorkflowHandle<TWorkflow, TResult>> StartChildWorkflowAsync<TWorkflow, TResult>(StartChildWorkflowInput input) =>
            base.StartChildWorkflowAsync<TWorkflow, TResult>(input with { Headers = WithContext(input.Headers, run.Context, run.OrderId) });

        public override Task SignalChildWorkflowAsync(SignalChildWorkflowInput input) =>
            base.SignalChildWorkflowAsync(input with { Headers = WithContext(input.Headers, run.Context) });

        public override Task SignalExternalWorkflowAsync(SignalExternalWorkflowInput input) =>
            base.SignalExternalWorkflowAsync(input with { Headers = WithContext(input.Headers, run.Context) });
    }

    private sealed class ActivityInbound(ActivityInboundInterceptor next) : ActivityInboundInterceptor(next)
    {
        public override async Task<object?> ExecuteActivityAsync(ExecuteActivityInput input)
        {
            var context = ActivityExecutionContext.Current;
            var info = context.Info;
            var orderId = OrderIdFrom(input.Headers, info.WorkflowId);
            using var span = StatesetTelemetry.TemporalSource.StartActivity(
                $"RunActivity:{info.ActivityType}",
                ActivityKind.Server,
                ExtractContext(input.Headers),
                [new("temporalWorkflowID", info.WorkflowId), new("temporalRunID", info.WorkflowRunId), new("temporalActivityID", info.ActivityId)]);
            using var scope = context.Logger.BeginScope(LogScope(info.WorkflowId, info.WorkflowRunId, orderId));

            var started = Stopwatch.GetTimestamp();
            var outcome = "completed";
            try
            {
                return await base.ExecuteActivityAsync(input);
            }
            catch (CompleteAsyncException)
            {
                // The attempt hands over to a callback (payment settlement): neither done nor failed.
                outcome = "async";
                throw;
            }
            catch (Exception e)
            {
                outcome = "failed";
                RecordError(span, e);
                StatesetTelemetry.ActivityFailures.Add(
                    1,
                    new("activity.type", info.ActivityType),
                    new("error.type", (e as ApplicationFailureException)?.ErrorType ?? e.GetType().Name));
                throw;
            }
            finally
            {
                StatesetTelemetry.ActivityDuration.Record(
                    Stopwatch.GetElapsedTime(started).TotalSeconds,
                    new("activity.type", info.ActivityType),
                    new("outcome", outcome));
            }
        }
    }
}

using System.Buffers;
using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Gateway.Events;
using Stateset.Gateway.Security;

namespace Stateset.Gateway.Apis;

/// <summary>
/// Server-Sent-Events streams of outbox events, so nobody polls. Each message's <c>id</c> is the event's outbox
/// position: a client that reconnects with <c>Last-Event-ID</c> first gets what it missed, from the table.
/// Because EventSource cannot send headers, these routes also take the API key as <c>?api_key=</c>.
/// </summary>
public static class EventsApi
{
    private const int ReplayPageSize = 500;
    private static readonly string[] Resources = ["orders", "refunds", "returns", "labels"];

    /// <summary>Maps <c>/events</c>.</summary>
    public static RouteGroupBuilder MapEventsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/events").WithTags("Events").RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        group.MapGet("/", AllAsync)
            .RequireAuthorization(ApiScopes.Operator)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithName("StreamAllEvents")
            .WithSummary("Streams every event of every order, refund, return, label and print job: the operator console's live feed (text/event-stream).");
        group.MapGet("/approvals", ApprovalsAsync)
            .RequireAuthorization(ApiScopes.Operator)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithName("StreamApprovalEvents")
            .WithSummary("Streams approval.requested and approval.decided events (text/event-stream).");
        group.MapGet("/{resource}/{id}", ResourceAsync)
            .RequireAuthorization(ApiScopes.Client)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithName("StreamResourceEvents")
            .WithSummary("Streams one order's, refund's, return's or label's events, its workflow's status changes included (text/event-stream).");
        return group;
    }

    // One stream per console tab carries everything the console shows live (the feed, the approval queue, the run
    // on screen, the print queue), so a tab holds one of the key's stream slots, not one per panel.
    private static Task<Results<EmptyHttpResult, ValidationProblem, ProblemHttpResult>> AllAsync(
        HttpContext http, OutboxEventHub hub, NpgsqlDataSource database, IConfiguration configuration, IHostApplicationLifetime lifetime) =>
        StreamAsync(http, EventStreamFilter.All, hub, database, configuration, lifetime);

    private static Task<Results<EmptyHttpResult, ValidationProblem, ProblemHttpResult>> ApprovalsAsync(
        HttpContext http, OutboxEventHub hub, NpgsqlDataSource database, IConfiguration configuration, IHostApplicationLifetime lifetime) =>
        StreamAsync(http, EventStreamFilter.Approvals, hub, database, configuration, lifetime);

    private static Task<Results<EmptyHttpResult, ValidationProblem, ProblemHttpResult>> ResourceAsync(
        string resource, string id, HttpContext http, OutboxEventHub hub, NpgsqlDataSource database, IConfiguration configuration, IHostApplicationLifetime lifetime)
    {
        var errors = new Dictionary<string, string[]>();
        QueryParameters.OneOf(resource, "resource", Resources, errors);
        QueryParameters.Text(id, "id", errors);
        return errors.Count > 0
            ? Task.FromResult<Results<EmptyHttpResult, ValidationProblem, ProblemHttpResult>>(TypedResults.ValidationProblem(errors))
            : StreamAsync(http, EventStreamFilter.ForResource(resource, id)!, hub, database, configuration, lifetime);
    }

    private static async Task<Results<EmptyHttpResult, ValidationProblem, ProblemHttpResult>> StreamAsync(
        HttpContext http, EventStreamFilter filter, OutboxEventHub hub, NpgsqlDataSource database, IConfiguration configuration, IHostApplicationLifetime lifetime)
    {
        long? lastEventId = null;
        if (http.Request.Headers.TryGetValue("Last-Event-ID", out var header))
        {
            if (!long.TryParse(header.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["Last-Event-ID"] = ["Last-Event-ID must be the id of an event this stream sent."] });
            }

            lastEventId = parsed;
        }

        // A stream never ends by itself, so it also ends when the gateway stops, not only when the client leaves.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var ct = ending.Token;
        var heartbeat = TimeSpan.FromSeconds(configuration.GetValue("Gateway:Events:HeartbeatSeconds", 15.0));
        EventSubscription subscription;
        try
        {
            // Subscribe before replaying, so nothing committed in between is lost. The live side then also carries
            // what the replay sends, and notices of events committed just before the subscription, the client's
            // Last-Event-ID among them: both are skipped below.
            subscription = await hub.SubscribeAsync(filter, http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? "anonymous", ct);
        }
        catch (TimeoutException)
        {
            return TypedResults.Problem("The event listener is not connected to the database; retry shortly.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Events unavailable");
        }
        catch (EventStreamLimitException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status429TooManyRequests, title: "Too many event streams");
        }

        using (subscription)
        {
            var response = http.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            try
            {
                await WriteAsync(response, "retry: 3000\n\n", ct);
                var replayed = new HashSet<Guid>();
                for (var after = lastEventId; after is not null;)
                {
                    var missed = await OutboxEventReader.AfterAsync(database, filter, after.Value, ReplayPageSize, ct);
                    foreach (var outboxEvent in missed)
                    {
                        await WriteEventAsync(response, outboxEvent, ct);
                        replayed.Add(outboxEvent.Id);
                    }

                    after = missed.Count == ReplayPageSize ? missed[^1].Position : null;
                }

                await response.Body.FlushAsync(ct);
                while (!ct.IsCancellationRequested)
                {
                    using var quiet = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    quiet.CancelAfter(heartbeat);
                    try
                    {
                        if (!await subscription.Events.WaitToReadAsync(quiet.Token))
                        {
                            // The hub ended the stream (listener lost, or this client fell behind): the client
                            // reconnects with Last-Event-ID and replays from the table.
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        await WriteAsync(response, ": heartbeat\n\n", ct);
                        await response.Body.FlushAsync(ct);
                        continue;
                    }

                    while (subscription.Events.TryRead(out var outboxEvent))
                    {
                        if (outboxEvent.Position > lastEventId.GetValueOrDefault(long.MinValue) && !replayed.Contains(outboxEvent.Id))
                        {
                            await WriteEventAsync(response, outboxEvent, ct);
                        }
                    }

                    await response.Body.FlushAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The client went away; disposing the subscription is all the cleaning up there is.
            }
        }

        return TypedResults.Empty;
    }

    private static async Task WriteEventAsync(HttpResponse response, OutboxEvent outboxEvent, CancellationToken ct)
    {
        var data = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(data))
        {
            json.WriteStartObject();
            json.WriteString("id", outboxEvent.Id);
            json.WriteNumber("position", outboxEvent.Position);
            json.WriteString("aggregateType", outboxEvent.AggregateType);
            json.WriteString("aggregateId", outboxEvent.AggregateId);
            json.WriteString("eventType", outboxEvent.EventType);
            json.WriteString("occurredAt", DateTime.SpecifyKind(outboxEvent.OccurredAt, DateTimeKind.Utc));
            json.WritePropertyName("payload");
            json.WriteRawValue(outboxEvent.PayloadJson, skipInputValidation: true);
            json.WriteEndObject();
        }

        // Compact JSON has no raw newlines, so the data fits one SSE data line.
        // No "event:" field: EventSource's onmessage then sees every event, and the data names its type.
        await WriteAsync(response, $"id: {outboxEvent.Position}\ndata: ", ct);
        await response.Body.WriteAsync(data.WrittenMemory, ct);
        await WriteAsync(response, "\n\n", ct);
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken ct) =>
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), ct);
}

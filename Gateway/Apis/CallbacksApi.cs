using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Activities.Payments;
using Stateset.Activities.Shipping;
using Stateset.Workflows.Common;
using Stateset.Workflows.OrderFulfillment;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace Stateset.Gateway.Apis;

/// <summary>
/// Callbacks from the outside world. They carry no API key: each is authenticated by the sender's timestamped
/// HMAC signature over the raw body, and each is idempotent, because providers and carriers deliver at least once.
/// </summary>
public static class CallbacksApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Maps <c>/callbacks</c>.</summary>
    public static RouteGroupBuilder MapCallbacksApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/callbacks").WithTags("Callbacks").AllowAnonymous();
        group.MapPost("/payments", PaymentAsync)
            .WithName("PaymentProviderCallback")
            .WithSummary("Settlement webhook of the payment provider; completes the waiting authorisation or refund activity.");
        group.MapPost("/carriers", CarrierAsync)
            .WithName("CarrierCallback")
            .WithSummary("Tracking webhook of a carrier; becomes a carrier-event signal to the order's workflow.");
        return group;
    }

    private static async Task<Results<Ok, ProblemHttpResult>> PaymentAsync(HttpRequest request, PaymentWebhookProcessor processor, CancellationToken ct)
    {
        var body = await ReadBodyAsync(request, ct);
        var result = await processor.ProcessAsync(body, request.Headers[PaymentWebhookProcessor.SignatureHeader], ct);
        return result.Outcome switch
        {
            PaymentWebhookOutcome.Unauthenticated => TypedResults.Problem(result.Detail, statusCode: StatusCodes.Status401Unauthorized, title: "Signature rejected"),
            PaymentWebhookOutcome.Malformed => TypedResults.Problem(result.Detail, statusCode: StatusCodes.Status400BadRequest, title: "Unreadable webhook"),
            _ => TypedResults.Ok(),
        };
    }

    private static async Task<Results<Ok, ProblemHttpResult>> CarrierAsync(
        HttpRequest request, IConfiguration configuration, NpgsqlDataSource database, ITemporalClient temporal, TimeProvider time, CancellationToken ct)
    {
        var body = await ReadBodyAsync(request, ct);
        var secret = configuration["Shipping:WebhookSecret"] ?? string.Empty;
        var check = CarrierWebhookSignature.Verify(secret, request.Headers[CarrierWebhookSignature.HeaderName], body, time.GetUtcNow());
        if (check != WebhookSignatureCheck.Valid)
        {
            return TypedResults.Problem($"Carrier signature check failed: {check}.", statusCode: StatusCodes.Status401Unauthorized, title: "Signature rejected");
        }

        TrackingWebhook? webhook;
        try
        {
            webhook = JsonSerializer.Deserialize<TrackingWebhook>(body, Json);
        }
        catch (JsonException e)
        {
            return TypedResults.Problem($"The body is not a tracking event: {e.Message}", statusCode: StatusCodes.Status400BadRequest, title: "Unreadable webhook");
        }

        if (webhook is not { Id.Length: > 0, Carrier.Length: > 0, TrackingNumber.Length: > 0 } || Kind(webhook.Status) is not { } kind)
        {
            return TypedResults.Problem("A tracking event needs id, carrier, trackingNumber and a status of in_transit, delivered or exception.", statusCode: StatusCodes.Status400BadRequest, title: "Unreadable webhook");
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        var shipment = await connection.QueryFirstOrDefaultAsync<(string Id, string OrderId, string Direction)>(
            "SELECT id, order_id, direction FROM shipments WHERE carrier = @Carrier AND tracking_number = @TrackingNumber",
            new { webhook.Carrier, webhook.TrackingNumber });
        await connection.ExecuteAsync(
            """
            INSERT INTO carrier_tracking_events (carrier, provider_event_id, tracking_number, shipment_id, status, description, occurred_at)
            VALUES (@Carrier, @Id, @TrackingNumber, @ShipmentId, @Status, @Description, @OccurredAt)
            ON CONFLICT (carrier, provider_event_id) DO NOTHING
            """,
            new { webhook.Carrier, webhook.Id, webhook.TrackingNumber, ShipmentId = shipment.Id, webhook.Status, webhook.Description, webhook.OccurredAt });

        // Outbound parcels drive their order; return parcels are received by the warehouse's own signal.
        if (shipment.Direction == "outbound")
        {
            var signal = new CarrierEvent($"{webhook.Carrier}:{webhook.Id}", kind, webhook.TrackingNumber, webhook.Description, webhook.OccurredAt.UtcDateTime);
            try
            {
                await temporal.GetWorkflowHandle<OrderFulfillmentWorkflow>(WorkflowIds.Order(shipment.OrderId))
                    .SignalAsync(wf => wf.CarrierEventAsync(signal), new() { Rpc = new() { CancellationToken = ct } });
            }
            catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
            {
                // The order has finished (or never ran here): the event is recorded, and there is nobody to tell.
            }
        }

        return TypedResults.Ok();
    }

    private static CarrierEventKind? Kind(string? status) => status switch
    {
        "in_transit" => CarrierEventKind.InTransit,
        "delivered" => CarrierEventKind.Delivered,
        "exception" => CarrierEventKind.Exception,
        _ => null,
    };

    private static async Task<string> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body);
        return await reader.ReadToEndAsync(ct);
    }

    /// <summary>The carrier's tracking webhook body.</summary>
    private sealed record TrackingWebhook(string Id, string Carrier, string TrackingNumber, string Status, string? Description, DateTimeOffset OccurredAt);
}

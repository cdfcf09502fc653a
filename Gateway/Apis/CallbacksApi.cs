using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Stateset.Activities.Payments;
using Stateset.Activities.Shipping;
using Stateset.Gateway.Workflows;
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
        HttpRequest request, TrackingWebhookReceiver receiver, ITemporalClient temporal, CancellationToken ct)
    {
        var body = await ReadBodyAsync(request, ct);
        var result = await receiver.ReceiveAsync(request.Headers[CarrierWebhookSignature.HeaderName], body, ct);
        switch (result.Outcome)
        {
            case TrackingWebhookOutcome.Rejected:
                return TypedResults.Problem($"Carrier webhook refused: {result.Reason}.", statusCode: StatusCodes.Status401Unauthorized, title: "Signature rejected");
            case TrackingWebhookOutcome.Malformed:
                return TypedResults.Problem(result.Reason, statusCode: StatusCodes.Status400BadRequest, title: "Unreadable webhook");
        }

        // Outbound parcels drive their order; return parcels are received by the warehouse's own signal. A duplicate
        // is signalled again: if the first delivery was stored but its signal was lost, the carrier's retry is the
        // only way the workflow still hears of it, and the workflow ignores an event id it has already seen.
        if (result is { Direction: "outbound", OrderId: { } orderId, Event: { } tracking })
        {
            var signal = new CarrierEvent($"{tracking.Carrier}:{tracking.Id}", Kind(tracking.Status), tracking.TrackingNumber, tracking.Description, tracking.OccurredAt.UtcDateTime);
            try
            {
                await temporal.SignalAsync<OrderFulfillmentWorkflow>(
                    WorkflowIds.Order(orderId), wf => wf.CarrierEventAsync(signal), new() { Rpc = new() { CancellationToken = ct } });
            }
            catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
            {
                // The order has finished (or never ran here): the event is recorded, and there is nobody to tell.
            }
        }

        return TypedResults.Ok();
    }

    private static CarrierEventKind Kind(string status) => status switch
    {
        "in_transit" => CarrierEventKind.InTransit,
        "delivered" => CarrierEventKind.Delivered,
        "exception" => CarrierEventKind.Exception,
        _ => throw new UnreachableException($"The tracking webhook receiver let status '{status}' through."),
    };

    private static async Task<string> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body);
        return await reader.ReadToEndAsync(ct);
    }
}

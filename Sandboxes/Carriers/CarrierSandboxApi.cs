using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Stateset.Sandboxes.Carriers;

/// <summary>
/// The carriers sandbox: <c>/carriers/{carrier}/rates</c>, <c>/labels</c> (idempotent by <c>Idempotency-Key</c>),
/// <c>/labels/{id}/void</c>, plus <c>/carriers/{carrier}/sandbox/…</c> controls to inject faults and to send tracking
/// webhooks. Carriers: see <see cref="SandboxCarrier.All"/>.
/// </summary>
public static class CarrierSandboxApi
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly string[] TrackingStatuses = ["in_transit", "delivered", "exception"];

    /// <summary>Registers the sandbox's state, options and webhook sender.</summary>
    public static IServiceCollection AddCarrierSandbox(this IServiceCollection services, IConfiguration? configuration = null)
    {
        var options = services.AddOptions<CarrierSandboxOptions>();
        if (configuration is not null)
        {
            options.Bind(configuration);
        }

        services.AddSingleton<CarrierSandboxState>();
        services.AddHttpClient<TrackingWebhookSender>();
        services.AddProblemDetails();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>Maps the carrier endpoints under <c>/carriers</c>.</summary>
    public static RouteGroupBuilder MapCarrierSandbox(this IEndpointRouteBuilder app)
    {
        var carriers = app.MapGroup("/carriers/{carrier}").WithTags("Carrier sandbox");
        var api = carriers.MapGroup(string.Empty).AddEndpointFilter(CarrierApiFilterAsync);
        api.MapPost("/rates", GetRates).WithName("CarrierSandboxRates");
        api.MapPost("/labels", PurchaseLabel).WithName("CarrierSandboxPurchaseLabel");
        api.MapGet("/labels/{labelId}", GetLabel).WithName("CarrierSandboxGetLabel");
        api.MapPost("/labels/{labelId}/void", VoidLabel).WithName("CarrierSandboxVoidLabel");

        var controls = carriers.MapGroup("/sandbox").WithTags("Carrier sandbox controls");
        controls.MapGet("/faults", (string carrier, CarrierSandboxState state) => TypedResults.Ok(state.FaultsOf(carrier)))
            .WithName("CarrierSandboxGetFaults").WithSummary("The faults injected into this carrier now.");
        controls.MapPut("/faults", (string carrier, CarrierFaults faults, CarrierSandboxState state) =>
        {
            state.SetFaults(carrier, faults);
            return TypedResults.Ok(faults);
        }).WithName("CarrierSandboxSetFaults")
            .WithSummary("Sets this carrier's faults: down (every API call 503), failPurchases (label purchases 500), latency (added delay, e.g. \"00:00:02\").");
        controls.MapPost("/fail-next/{calls:int}", (string carrier, int calls, CarrierSandboxState state) =>
        {
            state.FailNextCalls(carrier, calls);
            return TypedResults.NoContent();
        }).WithName("CarrierSandboxFailNext").WithSummary("The next {calls} API calls to this carrier answer 503, then it recovers.");
        controls.MapPost("/labels/{labelId}/events", SendTrackingEventAsync).WithName("CarrierSandboxSendTrackingEvent")
            .WithSummary("Moves a sold label (status in_transit, delivered or exception, optional description) and sends the signed tracking webhook to the configured URL.");
        return carriers;
    }

    private static SandboxCarrier? Find(string code) =>
        SandboxCarrier.All.FirstOrDefault(c => string.Equals(c.Code, code, StringComparison.OrdinalIgnoreCase));

    // Every carrier API call: unknown carrier → 404, API key, count, latency, then the "carrier is down" fault.
    private static async ValueTask<object?> CarrierApiFilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var code = (string)http.GetRouteValue("carrier")!;
        if (Find(code) is null)
        {
            return TypedResults.Problem($"No sandbox carrier '{code}'.", statusCode: StatusCodes.Status404NotFound);
        }

        var state = http.RequestServices.GetRequiredService<CarrierSandboxState>();
        var options = http.RequestServices.GetRequiredService<IOptions<CarrierSandboxOptions>>().Value;
        state.CountCall(code);
        if (!string.IsNullOrEmpty(options.ApiKey) && http.Request.Headers.Authorization != $"Bearer {options.ApiKey}")
        {
            return TypedResults.Problem("Missing or wrong API key.", statusCode: StatusCodes.Status401Unauthorized);
        }

        var faults = state.FaultsOf(code);
        var latency = options.Latency + faults.Latency;
        if (latency > TimeSpan.Zero)
        {
            var time = http.RequestServices.GetRequiredService<TimeProvider>();
            await Task.Delay(latency, time, http.RequestAborted);
        }

        if (faults.Down || state.TakeInjectedFailure(code))
        {
            return TypedResults.Problem($"{code} is down (sandbox fault).", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return await next(context);
    }

    private static Results<Ok<RatesDto>, ProblemHttpResult> GetRates(string carrier, RateRequestDto request)
    {
        var sandbox = Find(carrier)!;
        var rates = sandbox.Quote(request.From.Country, request.To.Country, request.Parcel)
            .Select(q => new RateDto(q.Service.Code, q.Service.Level, q.Amount, q.Currency, q.TransitDays))
            .ToList();
        return TypedResults.Ok(new RatesDto(sandbox.Code, rates));
    }

    private static Results<Created<LabelDto>, Ok<LabelDto>, ProblemHttpResult> PurchaseLabel(
        string carrier,
        PurchaseRequestDto request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        CarrierSandboxState state,
        TimeProvider time)
    {
        var sandbox = Find(carrier)!;
        if (string.IsNullOrWhiteSpace(idempotencyKey))
        {
            return TypedResults.Problem("An Idempotency-Key header is required to buy a label.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (state.FaultsOf(carrier).FailPurchases)
        {
            return TypedResults.Problem($"{sandbox.Code} failed to buy the label (sandbox fault).", statusCode: StatusCodes.Status500InternalServerError);
        }

        var quote = sandbox.Quote(request.From.Country, request.To.Country, request.Parcel)
            .FirstOrDefault(q => string.Equals(q.Service.Code, request.Service, StringComparison.OrdinalIgnoreCase));
        if (quote.Service is null)
        {
            return TypedResults.Problem(
                $"{sandbox.Code} does not offer service '{request.Service}' from {request.From.Country} to {request.To.Country}.",
                statusCode: StatusCodes.Status422UnprocessableEntity);
        }

        var fingerprint = JsonSerializer.Serialize(request, Json);
        var (label, replayed, conflict) = state.GetOrBuy(sandbox.Code, idempotencyKey, fingerprint, () => new LabelDto(
            LabelId: $"lbl_{Guid.NewGuid():N}",
            Carrier: sandbox.Code,
            Service: quote.Service.Code,
            TrackingNumber: sandbox.NewTrackingNumber(),
            Amount: quote.Amount,
            Currency: quote.Currency,
            Status: "purchased",
            CreatedAt: time.GetUtcNow(),
            VoidedAt: null));
        if (conflict)
        {
            return TypedResults.Problem(
                "This Idempotency-Key was already used for a different label purchase.", statusCode: StatusCodes.Status422UnprocessableEntity);
        }

        return replayed ? TypedResults.Ok(label) : TypedResults.Created($"labels/{label.LabelId}", label);
    }

    private static Results<Ok<LabelDto>, ProblemHttpResult> GetLabel(string carrier, string labelId, CarrierSandboxState state) =>
        state.Label(labelId) is { } label && string.Equals(label.Carrier, carrier, StringComparison.OrdinalIgnoreCase)
            ? TypedResults.Ok(label)
            : TypedResults.Problem($"No label '{labelId}' at {carrier}.", statusCode: StatusCodes.Status404NotFound);

    private static Results<Ok<LabelDto>, ProblemHttpResult> VoidLabel(string carrier, string labelId, CarrierSandboxState state, TimeProvider time)
    {
        if (state.Label(labelId) is not { } label || !string.Equals(label.Carrier, carrier, StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem($"No label '{labelId}' at {carrier}.", statusCode: StatusCodes.Status404NotFound);
        }

        if (label.Status is "delivered" or "in_transit")
        {
            return TypedResults.Problem($"Label '{labelId}' is {label.Status} and can no longer be voided.", statusCode: StatusCodes.Status409Conflict);
        }

        // Voiding twice answers the same voided label: the caller's retry must not look like a failure.
        return TypedResults.Ok(state.Update(labelId, l => l.Status == "voided" ? l : l with { Status = "voided", VoidedAt = time.GetUtcNow() }));
    }

    private static async Task<Results<Ok<TrackingEventResultDto>, ProblemHttpResult>> SendTrackingEventAsync(
        string carrier,
        string labelId,
        TrackingEventRequestDto request,
        CarrierSandboxState state,
        TrackingWebhookSender sender,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (!TrackingStatuses.Contains(request.Status))
        {
            return TypedResults.Problem($"Status must be one of {string.Join(", ", TrackingStatuses)}.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (state.Label(labelId) is not { } label || !string.Equals(label.Carrier, carrier, StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem($"No label '{labelId}' at {carrier}.", statusCode: StatusCodes.Status404NotFound);
        }

        if (label.Status == "voided")
        {
            return TypedResults.Problem($"Label '{labelId}' is voided; it cannot move.", statusCode: StatusCodes.Status409Conflict);
        }

        if (request.Status != "exception")
        {
            state.Update(labelId, l => l with { Status = request.Status });
        }

        var webhook = new TrackingWebhookDto(
            Id: $"evt_{Guid.NewGuid():N}",
            Type: "tracking.updated",
            Carrier: label.Carrier,
            LabelId: label.LabelId,
            TrackingNumber: label.TrackingNumber,
            Status: request.Status,
            Description: request.Description,
            OccurredAt: time.GetUtcNow());
        return TypedResults.Ok(await sender.SendAsync(webhook, cancellationToken));
    }
}

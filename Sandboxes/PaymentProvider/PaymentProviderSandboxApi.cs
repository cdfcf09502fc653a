using System.Text.Json;
using Microsoft.Extensions.Options;
using Stateset.Activities.Payments;

namespace Stateset.Sandboxes.PaymentProvider;

/// <summary>The payment provider sandbox's HTTP API (Stripe-shaped, JSON) and its service registration.</summary>
public static class PaymentProviderSandboxApi
{
    /// <summary>Registers the sandbox's state, settlement queue and webhook sender.</summary>
    public static IServiceCollection AddPaymentProviderSandbox(this IServiceCollection services, IConfiguration section)
    {
        services.Configure<PaymentProviderSandboxOptions>(section);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SandboxSettlementQueue>();
        services.AddSingleton<PaymentProviderSandbox>();
        services.AddHostedService<SandboxWebhookSender>();
        services.AddHttpClient(SandboxWebhookSender.HttpClientName);
        return services;
    }

    /// <summary>
    /// Maps <c>/psp/v1</c>: POST payment_intents, GET payment_intents/{id}, POST payment_intents/{id}/capture,
    /// POST payment_intents/{id}/cancel, POST refunds, GET refunds/{id}. POSTs need an <c>Idempotency-Key</c> header.
    /// </summary>
    public static IEndpointRouteBuilder MapPaymentProviderSandbox(this IEndpointRouteBuilder app)
    {
        var psp = app.MapGroup("/psp/v1").AddEndpointFilter(async (context, next) =>
        {
            var apiKey = context.HttpContext.RequestServices.GetRequiredService<IOptions<PaymentProviderSandboxOptions>>().Value.ApiKey;
            return apiKey.Length == 0 || context.HttpContext.Request.Headers.Authorization == $"Bearer {apiKey}"
                ? await next(context)
                : Json(new SandboxResponse(401, new PspErrorBody(new PspError("authentication_error", "invalid_api_key", "Invalid API key provided."))));
        });

        psp.MapPost("/payment_intents", (HttpContext http, PaymentProviderSandbox sandbox) =>
            HandleAsync<PspCreatePaymentIntent>(http, (key, body) => sandbox.CreatePaymentIntent(key, body)));
        psp.MapPost("/payment_intents/{id}/capture", (string id, HttpContext http, PaymentProviderSandbox sandbox) =>
            HandleAsync<PspCapture>(http, (key, body) => sandbox.Capture(key, id, body)));
        psp.MapPost("/payment_intents/{id}/cancel", (string id, HttpContext http, PaymentProviderSandbox sandbox) =>
            HandleAsync<JsonElement>(http, (key, _) => sandbox.Cancel(key, id)));
        psp.MapPost("/refunds", (HttpContext http, PaymentProviderSandbox sandbox) =>
            HandleAsync<PspCreateRefund>(http, (key, body) => sandbox.CreateRefund(key, body)));
        psp.MapGet("/payment_intents/{id}", (string id, PaymentProviderSandbox sandbox) =>
            sandbox.FindIntent(id) is { } intent ? Json(new SandboxResponse(200, intent)) : NotFound(id));
        psp.MapGet("/refunds/{id}", (string id, PaymentProviderSandbox sandbox) =>
            sandbox.FindRefund(id) is { } refund ? Json(new SandboxResponse(200, refund)) : NotFound(id));
        return app;
    }

    private static async Task<IResult> HandleAsync<TBody>(HttpContext http, Func<string, TBody, SandboxResponse> handle)
    {
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length == 0)
        {
            return Json(new SandboxResponse(400, new PspErrorBody(new PspError("invalid_request_error", "idempotency_key_missing", "Send an Idempotency-Key header."))));
        }

        TBody? body;
        try
        {
            body = await http.Request.ReadFromJsonAsync<TBody>(PspWire.Json, http.RequestAborted);
        }
        catch (JsonException e)
        {
            return Json(new SandboxResponse(400, new PspErrorBody(new PspError("invalid_request_error", "parameter_invalid", e.Message))));
        }

        if (body is null)
        {
            return Json(new SandboxResponse(400, new PspErrorBody(new PspError("invalid_request_error", "parameter_missing", "A JSON body is required."))));
        }

        var response = handle(key, body);
        if (response.HoldFor > TimeSpan.Zero)
        {
            // The request was processed; only its answer is late, as when a real provider's response is lost in transit.
            var time = http.RequestServices.GetRequiredService<TimeProvider>();
            await Task.Delay(response.HoldFor, time, http.RequestAborted);
        }

        return Json(response);
    }

    private static IResult NotFound(string id) =>
        Json(new SandboxResponse(404, new PspErrorBody(new PspError("invalid_request_error", "resource_missing", $"No such object: '{id}'."))));

    private static IResult Json(SandboxResponse response) => Results.Json(response.Body, PspWire.Json, statusCode: response.StatusCode);
}

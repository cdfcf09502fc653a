using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Stateset.Activities.Payments;
using Stateset.Sandboxes;
using Stateset.Sandboxes.PaymentProvider;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Payments;

/// <summary>
/// A test's payment world: its own database, the PSP sandbox on loopback settling instantly, the activities wired
/// through the real DI extension (typed HttpClient with the standard resilience handler), and an in-process
/// callback endpoint that feeds the sandbox's signed webhooks to <see cref="PaymentWebhookProcessor"/>, as the
/// gateway does.
/// </summary>
public sealed class PaymentsHarness : IAsyncDisposable
{
    public const string WebhookSecret = "whsec_test_secret";

    private PaymentsHarness(CommerceDatabase db, SandboxHost sandbox, ServiceProvider services, RecordingCompleter completer, Channel<PaymentWebhookResult> outcomes)
    {
        Db = db;
        Sandbox = sandbox;
        Services = services;
        Completer = completer;
        Outcomes = outcomes;
    }

    public CommerceDatabase Db { get; }

    public SandboxHost Sandbox { get; }

    public ServiceProvider Services { get; }

    public RecordingCompleter Completer { get; }

    /// <summary>Gets each webhook delivery's outcome as the callback endpoint answered it.</summary>
    public Channel<PaymentWebhookResult> Outcomes { get; }

    public PaymentActivities Payments => Services.GetRequiredService<PaymentActivities>();

    public PaymentWebhookProcessor Processor => Services.GetRequiredService<PaymentWebhookProcessor>();

    public PaymentProviderSandbox Provider => Sandbox.Services.GetRequiredService<PaymentProviderSandbox>();

    /// <summary>Starts the sandbox and the activities; with <paramref name="loseWebhooks"/> the callback endpoint drops every webhook (answering 200).</summary>
    /// <param name="postgres">The cluster the test's database is made in.</param>
    /// <param name="settleDelay">How long the sandbox takes to settle.</param>
    /// <param name="attemptTimeout">The HTTP client's per-attempt timeout.</param>
    /// <param name="loseWebhooks">Whether webhooks are lost on their way, as when the gateway never receives them.</param>
    public static async Task<PaymentsHarness> StartAsync(PostgresFixture postgres, TimeSpan? settleDelay = null, TimeSpan? attemptTimeout = null, bool loseWebhooks = false)
    {
        var db = await CommerceDatabase.CreateAsync(postgres);
        var outcomes = Channel.CreateUnbounded<PaymentWebhookResult>();
        PaymentWebhookProcessor? processor = null;
        var sandbox = await SandboxHost.StartAsync(
            Settings(new()
            {
                ["Sandboxes:PaymentProvider:WebhookUrl"] = "/test/psp-webhooks",
                ["Sandboxes:PaymentProvider:WebhookSecret"] = WebhookSecret,
                ["Sandboxes:PaymentProvider:SettleDelay"] = (settleDelay ?? TimeSpan.Zero).ToString(),
                ["Sandboxes:PaymentProvider:TimeoutDelay"] = "00:00:05",
                ["Sandboxes:PaymentProvider:WebhookRetryDelay"] = "00:00:00.010",
            }),
            app => app.MapPost("/test/psp-webhooks", async (HttpRequest request) =>
            {
                using var reader = new StreamReader(request.Body);
                if (loseWebhooks)
                {
                    outcomes.Writer.TryWrite(new PaymentWebhookResult(PaymentWebhookOutcome.Ignored, "lost on its way"));
                    return Results.Ok();
                }

                var result = await processor!.ProcessAsync(await reader.ReadToEndAsync(), request.Headers[PaymentWebhookProcessor.SignatureHeader], default);
                outcomes.Writer.TryWrite(result);
                return Results.StatusCode(result.Outcome switch
                {
                    PaymentWebhookOutcome.Unauthenticated => 401,
                    PaymentWebhookOutcome.Malformed => 400,
                    _ => 200,
                });
            }));

        var completer = new RecordingCompleter();
        var services = new ServiceCollection()
            .AddSingleton(db.DataSource)
            .AddSingleton<IAsyncActivityCompleter>(completer)
            .AddCommerceActivities(Settings(new()
            {
                ["PaymentProvider:BaseUrl"] = sandbox.PaymentProviderBaseAddress.ToString(),
                ["PaymentProvider:WebhookSecret"] = WebhookSecret,
                // Fast retries keep the fault-injection tests quick; the production defaults back off in seconds.
                ["PaymentProvider:Resilience:Retry:Delay"] = "00:00:00.010",
                ["PaymentProvider:Resilience:AttemptTimeout:Timeout"] = (attemptTimeout ?? TimeSpan.FromSeconds(10)).ToString(),
            }))
            .BuildServiceProvider(validateScopes: false);
        processor = services.GetRequiredService<PaymentWebhookProcessor>();
        return new PaymentsHarness(db, sandbox, services, completer, outcomes);
    }

    /// <summary>Authorises and waits for the webhook to complete the parked activity.</summary>
    public async Task<PaymentAuthorization> AuthorizeAsync(string orderId, decimal amount, string card = SandboxTestCards.Approved, string currency = "USD")
    {
        var token = await Attempts.CompletesAsynchronouslyAsync(
            () => Payments.AuthorizePaymentAsync(new AuthorizePaymentInput(orderId, "cus-ava", amount, currency, card)));
        var completion = await Completer.ForTokenAsync(token);
        return Assert.IsType<PaymentAuthorization>(completion.Result);
    }

    /// <summary>Authorises and captures the whole amount.</summary>
    public async Task<string> CapturedPaymentAsync(string orderId, decimal amount, string card = SandboxTestCards.Approved)
    {
        var authorization = await AuthorizeAsync(orderId, amount, card);
        await Attempts.RunAsync(() => Payments.CapturePaymentAsync(new CapturePaymentInput(authorization.PaymentId)));
        return authorization.PaymentId;
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Sandbox.DisposeAsync();
        await Db.DisposeAsync();
    }

    private static IConfiguration Settings(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}

using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Stateset.Activities.Payments;
using Stateset.Activities.Webhooks;

namespace Stateset.Sandboxes.PaymentProvider;

/// <summary>An authorisation or refund that settles at <paramref name="DueAt"/>.</summary>
/// <remarks><c>Duplicate</c>: deliver its webhook twice (the duplicate-webhook test card).</remarks>
public sealed record SandboxSettlement(string ObjectId, bool IsRefund, DateTimeOffset DueAt, bool Duplicate);

/// <summary>Settlements waiting for their time, in the order they were queued (a fixed delay keeps that the due order).</summary>
public sealed class SandboxSettlementQueue
{
    private readonly Channel<SandboxSettlement> _channel = Channel.CreateUnbounded<SandboxSettlement>();

    /// <summary>Gets the reader the webhook sender drains.</summary>
    public ChannelReader<SandboxSettlement> Reader => _channel.Reader;

    /// <summary>Queues a settlement.</summary>
    public void Enqueue(SandboxSettlement settlement) => _channel.Writer.TryWrite(settlement);
}

/// <summary>
/// Settles queued authorisations and refunds when due and POSTs each resulting event, signed
/// (<c>Psp-Signature: t=…,v1=…</c>), to the configured webhook URL, retrying a failing receiver with doubling pauses.
/// </summary>
public sealed partial class SandboxWebhookSender(
    SandboxSettlementQueue queue,
    PaymentProviderSandbox sandbox,
    IHttpClientFactory httpClients,
    IOptions<PaymentProviderSandboxOptions> options,
    TimeProvider time,
    IServer server,
    ILogger<SandboxWebhookSender> logger) : BackgroundService
{
    /// <summary>The named HttpClient webhooks go out on.</summary>
    public const string HttpClientName = "psp-sandbox-webhooks";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var settlement in queue.Reader.ReadAllAsync(stoppingToken))
        {
            var wait = settlement.DueAt - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, stoppingToken);
            }

            if (sandbox.Settle(settlement) is not { } webhook || ResolveWebhookUrl() is not { } url)
            {
                continue;
            }

            var body = JsonSerializer.Serialize(webhook, PspWire.Json);
            for (var copy = 0; copy < (settlement.Duplicate ? 2 : 1); copy++)
            {
                await DeliverAsync(url, body, stoppingToken);
            }
        }
    }

    private Uri? ResolveWebhookUrl()
    {
        if (options.Value.WebhookUrl is not { } url)
        {
            return null;
        }

        if (url.IsAbsoluteUri)
        {
            return url;
        }

        var own = server.Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new Uri(new Uri(own.TrimEnd('/') + "/"), url.OriginalString.TrimStart('/'));
    }

    private async Task DeliverAsync(Uri url, string body, CancellationToken ct)
    {
        var pause = options.Value.WebhookRetryDelay;
        var http = httpClients.CreateClient(HttpClientName);
        for (var attempt = 1; attempt <= options.Value.WebhookAttempts; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
                request.Headers.Add(PaymentWebhookProcessor.SignatureHeader, WebhookSignature.Create(options.Value.WebhookSecret, body, time.GetUtcNow()));
                using var response = await http.SendAsync(request, ct);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                LogRejected(url, (int)response.StatusCode, attempt);
            }
            catch (HttpRequestException e)
            {
                LogUnreachable(url, e.Message, attempt);
            }

            if (attempt < options.Value.WebhookAttempts)
            {
                await Task.Delay(pause, time, ct);
                pause *= 2;
            }
        }
    }

    [LoggerMessage(LogLevel.Warning, "Webhook receiver {Url} answered {Status} (attempt {Attempt})")]
    private partial void LogRejected(Uri url, int status, int attempt);

    [LoggerMessage(LogLevel.Warning, "Webhook receiver {Url} unreachable: {Error} (attempt {Attempt})")]
    private partial void LogUnreachable(Uri url, string error, int attempt);
}

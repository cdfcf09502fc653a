using Stateset.Activities.Payments;
using Stateset.Activities.Webhooks;
using Stateset.Sandboxes.PaymentProvider;
using Stateset.Testing;
using PaymentsHarness = Stateset.Activities.Tests.Payments.PaymentsHarness;

namespace Stateset.Activities.Tests.Webhooks;

public sealed class WebhookSignatureTests
{
    private const string Body = "{\"id\":\"evt_1\",\"type\":\"payment_intent.authorized\"}";
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Verify_HeaderItCreated_IsValid()
    {
        var header = WebhookSignature.Create("whsec_a", Body, Now);

        Assert.Matches("^t=[0-9]+,v1=[0-9a-f]{64}$", header);
        Assert.Equal(WebhookSignatureCheck.Valid, WebhookSignature.Verify("whsec_a", Body, header, Now.AddSeconds(30), WebhookSignature.DefaultTolerance));
    }

    [Fact]
    public void Verify_TamperedBody_IsAMismatch() =>
        Assert.Equal(
            WebhookSignatureCheck.Mismatch,
            WebhookSignature.Verify("whsec_a", Body.Replace("authorized", "declined", StringComparison.Ordinal), WebhookSignature.Create("whsec_a", Body, Now), Now, WebhookSignature.DefaultTolerance));

    [Fact]
    public void Verify_OtherSecret_IsAMismatch() =>
        Assert.Equal(
            WebhookSignatureCheck.Mismatch,
            WebhookSignature.Verify("whsec_b", Body, WebhookSignature.Create("whsec_a", Body, Now), Now, WebhookSignature.DefaultTolerance));

    [Fact]
    public void Verify_ReplayedAfterTheTolerance_IsStale() =>
        Assert.Equal(
            WebhookSignatureCheck.Stale,
            WebhookSignature.Verify("whsec_a", Body, WebhookSignature.Create("whsec_a", Body, Now), Now.AddMinutes(6), WebhookSignature.DefaultTolerance));

    [Fact]
    public void Verify_TimestampSwappedToLookFresh_IsAMismatch()
    {
        var old = WebhookSignature.Create("whsec_a", Body, Now.AddHours(-1));
        var forged = $"t={Now.ToUnixTimeSeconds()},{old.Split(',')[1]}";

        Assert.Equal(WebhookSignatureCheck.Mismatch, WebhookSignature.Verify("whsec_a", Body, forged, Now, WebhookSignature.DefaultTolerance));
    }

    [Theory]
    [InlineData(null, WebhookSignatureCheck.Missing)]
    [InlineData("", WebhookSignatureCheck.Missing)]
    [InlineData("v1=abc", WebhookSignatureCheck.Malformed)]
    [InlineData("t=abc,v1=abc", WebhookSignatureCheck.Malformed)]
    [InlineData("t=1700000000", WebhookSignatureCheck.Malformed)]
    [InlineData("garbage", WebhookSignatureCheck.Malformed)]
    public void Verify_MissingOrMalformedHeader_IsRefused(string? header, WebhookSignatureCheck expected) =>
        Assert.Equal(expected, WebhookSignature.Verify("whsec_a", Body, header, Now, WebhookSignature.DefaultTolerance));

    [Fact]
    public void Verify_CorrectlySignedTimestampPastYear9999_IsMalformed_NotAnException()
    {
        // The HMAC matches, so only the timestamp can refuse it; no DateTimeOffset holds 253402300800.
        const long Seconds = 253402300800;
        var mac = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("whsec_a"u8, System.Text.Encoding.UTF8.GetBytes($"{Seconds}.{Body}")));

        Assert.Equal(WebhookSignatureCheck.Malformed, WebhookSignature.Verify("whsec_a", Body, $"t={Seconds},v1={mac}", Now, WebhookSignature.DefaultTolerance));
    }

    [Fact]
    public void Verify_RotatedSecretWithTwoSignatures_AcceptsEither()
    {
        var newer = WebhookSignature.Create("whsec_new", Body, Now);
        var older = WebhookSignature.Create("whsec_old", Body, Now);
        var header = $"{newer},v1={older.Split("v1=")[1]}";

        Assert.Equal(WebhookSignatureCheck.Valid, WebhookSignature.Verify("whsec_old", Body, header, Now, WebhookSignature.DefaultTolerance));
    }
}

/// <summary>The payment callback refuses what the signature check refuses, and changes nothing when it does.</summary>
[Collection(PostgresWithHttpCollection.Name)]
public sealed class PaymentWebhookSignatureTests(PostgresFixture postgres) : IAsyncLifetime
{
    private PaymentsHarness _h = null!;

    public async Task InitializeAsync() => _h = await PaymentsHarness.StartAsync(postgres, settleDelay: TimeSpan.FromHours(1));

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Process_TamperedOrStaleSandboxWebhook_IsRefusedAndTheGenuineOneApplies()
    {
        await Attempts.CompletesAsynchronouslyAsync(() => _h.Payments.AuthorizePaymentAsync(
            new Workflows.Activities.AuthorizePaymentInput("o-1", "cus-ava", 10m, "USD", SandboxTestCards.Approved)));
        var providerId = await _h.Db.ScalarAsync<string>("SELECT provider_payment_id FROM payments");
        // The sandbox settles in an hour; build the event it would send, as it would sign it.
        var intent = _h.Provider.FindIntent(providerId)! with { Status = "requires_capture" };
        var body = System.Text.Json.JsonSerializer.Serialize(
            new PspEvent("evt_1", "payment_intent.authorized", 0, new PspEventData(System.Text.Json.JsonSerializer.SerializeToElement(intent, PspWire.Json))),
            PspWire.Json);
        var now = DateTimeOffset.UtcNow;

        var tampered = await _h.Processor.ProcessAsync(body.Replace("\"amount\":1000", "\"amount\":1", StringComparison.Ordinal), WebhookSignature.Create(PaymentsHarness.WebhookSecret, body, now), default);
        var stale = await _h.Processor.ProcessAsync(body, WebhookSignature.Create(PaymentsHarness.WebhookSecret, body, now.AddMinutes(-10)), default);
        var wrongSecret = await _h.Processor.ProcessAsync(body, WebhookSignature.Create("whsec_attacker", body, now), default);
        var unsigned = await _h.Processor.ProcessAsync(body, null, default);

        Assert.All([tampered, stale, wrongSecret, unsigned], result => Assert.Equal(PaymentWebhookOutcome.Unauthenticated, result.Outcome));
        Assert.Equal("Signature stale.", stale.Detail);
        Assert.Equal("pending", await _h.Db.ScalarAsync<string>("SELECT status FROM payments"));
        Assert.Equal(0, await _h.Db.ScalarAsync<long>("SELECT count(*) FROM provider_webhook_events"));

        var genuine = await _h.Processor.ProcessAsync(body, WebhookSignature.Create(PaymentsHarness.WebhookSecret, body, now), default);

        Assert.Equal(PaymentWebhookOutcome.Processed, genuine.Outcome);
        Assert.Equal("authorized", await _h.Db.ScalarAsync<string>("SELECT status FROM payments"));
    }
}

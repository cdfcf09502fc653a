using Stateset.Activities.Shipping;
using Stateset.Sandboxes.Carriers;

namespace Stateset.Shipping.Tests;

public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec_test";
    private const string Body = """{"id":"evt_1","type":"tracking.updated","trackingNumber":"1R0000000000000001","status":"delivered"}""";
    private static readonly DateTimeOffset SentAt = new(2026, 11, 22, 14, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Verify_SignatureFromTheSandbox_IsValid()
    {
        var header = TrackingWebhookSender.Sign(Secret, Body, SentAt);

        Assert.Equal(WebhookSignatureCheck.Valid, CarrierWebhookSignature.Verify(Secret, header, Body, SentAt.AddSeconds(30)));
    }

    [Fact]
    public void Verify_TamperedBody_IsAMismatch()
    {
        var header = CarrierWebhookSignature.Sign(Secret, Body, SentAt);

        var tampered = Body.Replace("delivered", "exception", StringComparison.Ordinal);

        Assert.Equal(WebhookSignatureCheck.Mismatch, CarrierWebhookSignature.Verify(Secret, header, tampered, SentAt));
    }

    [Fact]
    public void Verify_TamperedTimestamp_IsAMismatch()
    {
        var header = CarrierWebhookSignature.Sign(Secret, Body, SentAt);

        var replayed = header.Replace($"t={SentAt.ToUnixTimeSeconds()}", $"t={SentAt.AddHours(1).ToUnixTimeSeconds()}", StringComparison.Ordinal);

        Assert.Equal(WebhookSignatureCheck.Mismatch, CarrierWebhookSignature.Verify(Secret, replayed, Body, SentAt.AddHours(1)));
    }

    [Fact]
    public void Verify_WrongSecret_IsAMismatch()
    {
        var header = CarrierWebhookSignature.Sign("another secret", Body, SentAt);

        Assert.Equal(WebhookSignatureCheck.Mismatch, CarrierWebhookSignature.Verify(Secret, header, Body, SentAt));
    }

    [Fact]
    public void Verify_SignatureOlderThanTheTolerance_IsStale()
    {
        var header = CarrierWebhookSignature.Sign(Secret, Body, SentAt);

        Assert.Equal(WebhookSignatureCheck.Stale, CarrierWebhookSignature.Verify(Secret, header, Body, SentAt.AddMinutes(6)));
        Assert.Equal(WebhookSignatureCheck.Valid, CarrierWebhookSignature.Verify(Secret, header, Body, SentAt.AddMinutes(6), TimeSpan.FromMinutes(10)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1=abc")]
    [InlineData("t=1732284000")]
    [InlineData("t=soon,v1=0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("t=99999999999999999,v1=0000000000000000000000000000000000000000000000000000000000000000")]
    public void Verify_MissingOrMalformedHeader_IsMalformed(string? header)
    {
        Assert.Equal(WebhookSignatureCheck.Malformed, CarrierWebhookSignature.Verify(Secret, header, Body, SentAt));
    }

    [Fact]
    public void Verify_OneOfSeveralSignaturesMatching_IsValid_SoSecretsCanBeRotated()
    {
        var current = CarrierWebhookSignature.Sign(Secret, Body, SentAt);
        var old = CarrierWebhookSignature.Sign("old secret", Body, SentAt);

        var header = $"{old},{current.Split(',')[1]}";

        Assert.Equal(WebhookSignatureCheck.Valid, CarrierWebhookSignature.Verify(Secret, header, Body, SentAt));
    }
}

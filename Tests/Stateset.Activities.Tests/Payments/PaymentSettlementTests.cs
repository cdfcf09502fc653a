using Stateset.Sandboxes.PaymentProvider;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Payments;

/// <summary>
/// The two-step payment flow (create at the provider, then await the settlement) and the ledger of refunds. The
/// webhooks of this harness are lost on their way, so a settlement can only come from asking the provider.
/// </summary>
[Collection(PostgresWithHttpCollection.Name)]
public sealed class PaymentSettlementTests(PostgresFixture postgres) : IAsyncLifetime
{
    private PaymentsHarness _h = null!;

    public async Task InitializeAsync() => _h = await PaymentsHarness.StartAsync(postgres, loseWebhooks: true);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Create_ReturnsAtOnceWithTheProvidersId_AndARetryCreatesNothingMore()
    {
        var input = new AuthorizePaymentInput("o-1", "cus-ava", 349.00m, "USD", SandboxTestCards.Approved);

        var first = await Attempts.RunAsync(() => _h.Payments.CreatePaymentAuthorizationAsync(input));
        var retry = await Attempts.RunAsync(() => _h.Payments.CreatePaymentAuthorizationAsync(input), attempt: 2);

        Assert.Equal("pending", first.Status);
        Assert.StartsWith("pi_", first.ProviderPaymentId, StringComparison.Ordinal);
        Assert.Equal(first.ProviderPaymentId, retry.ProviderPaymentId);
        Assert.Equal(1, await _h.Db.CountEventsAsync("payment.authorization_requested"));
        Assert.Equal(first.ProviderPaymentId, await _h.Db.ScalarAsync<string>("SELECT provider_payment_id FROM payments WHERE id = 'o-1:payment'"));
    }

    [Fact]
    public async Task Await_WebhookLost_TheRetriedAttemptReadsTheProviderAndSettlesOnce()
    {
        await Attempts.RunAsync(() => _h.Payments.CreatePaymentAuthorizationAsync(new AuthorizePaymentInput("o-2", "cus-ava", 40m, "USD", SandboxTestCards.Approved)));
        await _h.Outcomes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)); // the provider settled; its webhook is gone

        await Attempts.CompletesAsynchronouslyAsync(() => _h.Payments.AwaitPaymentAuthorizationAsync("o-2:payment"));
        var authorization = await Attempts.RunAsync(() => _h.Payments.AwaitPaymentAuthorizationAsync("o-2:payment"), attempt: 2);
        var again = await Attempts.RunAsync(() => _h.Payments.AwaitPaymentAuthorizationAsync("o-2:payment"), attempt: 3);

        Assert.Equal(40m, authorization.Amount);
        Assert.Equal(authorization, again);
        Assert.Equal("authorized", await _h.Db.ScalarAsync<string>("SELECT status FROM payments WHERE id = 'o-2:payment'"));
        Assert.Equal(1, await _h.Db.CountEventsAsync("payment.authorized"));
    }

    [Fact]
    public async Task Await_DeclinedAndWebhookLost_TheRetriedAttemptFailsWithANonRetryableDecline()
    {
        await Attempts.RunAsync(() => _h.Payments.CreatePaymentAuthorizationAsync(new AuthorizePaymentInput("o-3", "cus-ava", 40m, "USD", SandboxTestCards.DeclinedAsynchronously)));
        await _h.Outcomes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        var failure = await Attempts.FailsAsync(() => _h.Payments.AwaitPaymentAuthorizationAsync("o-3:payment"), CommerceErrorTypes.PaymentDeclined, attempt: 2);

        Assert.Contains("insufficient funds", failure.Message, StringComparison.Ordinal);
        Assert.Equal("declined", await _h.Db.ScalarAsync<string>("SELECT status FROM payments WHERE id = 'o-3:payment'"));
    }

    [Fact]
    public async Task Refund_WebhookLost_TheRetriedWaitReadsTheProvider_AndTheLedgerIsCapturedMinusRefunded()
    {
        await Attempts.RunAsync(() => _h.Payments.CreatePaymentAuthorizationAsync(new AuthorizePaymentInput("o-4", "cus-ava", 349.00m, "USD", SandboxTestCards.Approved)));
        await _h.Outcomes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await Attempts.RunAsync(() => _h.Payments.AwaitPaymentAuthorizationAsync("o-4:payment"), attempt: 2);
        await Attempts.RunAsync(() => _h.Payments.CapturePaymentAsync(new CapturePaymentInput("o-4:payment")));

        // The unwind of an order refunds everything; nothing calls RecordRefundLedgerEntry afterwards.
        var refund = new RefundPaymentInput("o-4-reversal", "o-4:payment", 349.00m, "USD", "order unwound");
        var requested = await Attempts.RunAsync(() => _h.Payments.CreateRefundAsync(refund));
        await _h.Outcomes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await Attempts.CompletesAsynchronouslyAsync(() => _h.Payments.AwaitRefundSettlementAsync("o-4-reversal"));
        var settlement = await Attempts.RunAsync(() => _h.Payments.AwaitRefundSettlementAsync("o-4-reversal"), attempt: 2);

        Assert.Equal("pending", requested.Status);
        Assert.Equal(349.00m, settlement.Amount);
        Assert.Equal("refunded", await _h.Db.ScalarAsync<string>("SELECT status FROM payments WHERE id = 'o-4:payment'"));
        Assert.Equal(0m, await _h.Db.ScalarAsync<decimal>("SELECT sum(amount) FROM ledger_entries WHERE order_id = 'o-4'"));
        Assert.Equal(1, await _h.Db.CountEventsAsync("ledger.refund_booked"));
    }
}

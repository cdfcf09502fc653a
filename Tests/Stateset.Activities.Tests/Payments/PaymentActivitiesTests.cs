using Stateset.Activities.Payments;
using Stateset.Sandboxes.PaymentProvider;
using Stateset.Testing;
using Stateset.Workflows.Activities;
using Temporalio.Activities;
using Temporalio.Exceptions;

namespace Stateset.Activities.Tests.Payments;

[Collection(PostgresWithHttpCollection.Name)]
public sealed class PaymentActivitiesTests(PostgresFixture postgres) : IAsyncLifetime
{
    private PaymentsHarness _h = null!;

    public async Task InitializeAsync() => _h = await PaymentsHarness.StartAsync(postgres);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Authorize_Approved_ParksTheTaskTokenUntilTheSignedWebhookCompletesIt()
    {
        var token = await Attempts.CompletesAsynchronouslyAsync(
            () => _h.Payments.AuthorizePaymentAsync(new AuthorizePaymentInput("o-1", "cus-ava", 349.00m, "USD", SandboxTestCards.Approved)));

        var completion = await _h.Completer.ForTokenAsync(token);

        var authorization = Assert.IsType<PaymentAuthorization>(completion.Result);
        Assert.Equal(new PaymentAuthorization("o-1:payment", authorization.ProviderPaymentId, 349.00m, "USD"), authorization);
        Assert.StartsWith("pi_", authorization.ProviderPaymentId, StringComparison.Ordinal);
        Assert.Equal("authorized", await _h.Db.ScalarAsync<string>("SELECT status FROM payments WHERE id = 'o-1:payment'"));
        Assert.Equal(token, await _h.Db.ScalarAsync<byte[]>("SELECT task_token FROM payments WHERE id = 'o-1:payment'"));
        Assert.Equal(1, await _h.Db.CountEventsAsync("payment.authorized"));
    }

    [Fact]
    public async Task Authorize_RetriedAfterTheWebhookSettledIt_AnswersFromTheRowWithoutCallingTheProvider()
    {
        var first = await _h.AuthorizeAsync("o-2", 50m);

        var retry = await Attempts.RunAsync(
            () => _h.Payments.AuthorizePaymentAsync(new AuthorizePaymentInput("o-2", "cus-ava", 50m, "USD", SandboxTestCards.Approved)), attempt: 2);

        Assert.Equal(first, retry);
        Assert.Equal(1, _h.Provider.EffectiveRequests);
    }

    [Fact]
    public async Task Authorize_ProviderFailsOnceWith500_TheResilienceHandlerRetriesInsideTheAttempt()
    {
        var authorization = await _h.AuthorizeAsync("o-3", 20m, SandboxTestCards.ProviderErrorOnce);

        Assert.Equal("o-3:payment", authorization.PaymentId);
        Assert.Equal(1, _h.Provider.EffectiveRequests);
    }

    [Fact]
    public async Task Authorize_DeclinedCard_IsANonRetryableDeclineRecordedOnce()
    {
        var input = new AuthorizePaymentInput("o-4", "cus-ava", 20m, "USD", SandboxTestCards.DeclinedImmediately);

        var failure = await Attempts.FailsAsync(() => _h.Payments.AuthorizePaymentAsync(input), CommerceErrorTypes.PaymentDeclined);
        await Attempts.FailsAsync(() => _h.Payments.AuthorizePaymentAsync(input), CommerceErrorTypes.PaymentDeclined, attempt: 2);

        Assert.Contains("declined", failure.Message, StringComparison.Ordinal);
        Assert.Equal("declined", await _h.Db.ScalarAsync<string>("SELECT status FROM payments WHERE id = 'o-4:payment'"));
        Assert.Equal("generic_decline", await _h.Db.ScalarAsync<string>("SELECT failure_code FROM payments WHERE id = 'o-4:payment'"));
        Assert.Equal(1, await _h.Db.CountEventsAsync("payment.declined"));
    }

    [Fact]
    public async Task Authorize_DeclinedAsynchronously_FailsTheWaitingActivityWithANonRetryableDecline()
    {
        var token = await Attempts.CompletesAsynchronouslyAsync(
            () => _h.Payments.AuthorizePaymentAsync(new AuthorizePaymentInput("o-5", "cus-ava", 20m, "USD", SandboxTestCards.DeclinedAsynchronously)));

        var completion = await _h.Completer.ForTokenAsync(token);

        var failure = Assert.IsType<ApplicationFailureException>(completion.Failure);
        Assert.Equal(CommerceErrorTypes.PaymentDeclined, failure.ErrorType);
        Assert.True(failure.NonRetryable);
        Assert.Equal("insufficient_funds", await _h.Db.ScalarAsync<string>("SELECT failure_code FROM payments WHERE id = 'o-5:payment'"));
    }

    [Fact]
    public async Task Authorize_WebhookDeliveredTwice_AppliesOnceAndAcknowledgesTheDuplicate()
    {
        await _h.AuthorizeAsync("o-6", 20m, SandboxTestCards.DuplicateWebhooks);

        var outcomes = new[] { await NextOutcomeAsync(), await NextOutcomeAsync() };

        Assert.Equal([PaymentWebhookOutcome.Processed, PaymentWebhookOutcome.Duplicate], outcomes.Select(outcome => outcome.Outcome));
        Assert.Equal(1, await _h.Db.CountEventsAsync("payment.authorized"));
        Assert.Equal(1, await _h.Db.ScalarAsync<long>("SELECT count(*) FROM provider_webhook_events"));
    }

    [Fact]
    public async Task Authorize_SameOrderWithAnotherAmount_IsRefused()
    {
        await _h.AuthorizeAsync("o-7", 20m);

        await Attempts.FailsAsync(
            () => _h.Payments.AuthorizePaymentAsync(new AuthorizePaymentInput("o-7", "cus-ava", 25m, "USD", SandboxTestCards.Approved)),
            CommerceErrorTypes.InvalidState);
        await Attempts.FailsAsync(
            () => _h.Payments.AuthorizePaymentAsync(new AuthorizePaymentInput("o-7", "cus-ava", 20m, "CAD", SandboxTestCards.Approved)),
            CommerceErrorTypes.CurrencyMismatch);
    }

    [Theory]
    [InlineData(-5, "USD", CommerceErrorTypes.InvalidAmount)]
    [InlineData(0, "USD", CommerceErrorTypes.InvalidAmount)]
    [InlineData(10.001, "USD", CommerceErrorTypes.InvalidAmount)]
    [InlineData(10, "dollars", CommerceErrorTypes.InvalidInput)]
    public async Task Authorize_BadAmountOrCurrency_IsRefusedBeforeAnythingIsWritten(decimal amount, string currency, string errorType)
    {
        await Attempts.FailsAsync(
            () => _h.Payments.AuthorizePaymentAsync(new AuthorizePaymentInput("o-8", "cus-ava", amount, currency, SandboxTestCards.Approved)), errorType);

        Assert.Equal(0, await _h.Db.ScalarAsync<long>("SELECT count(*) FROM payments"));
        Assert.Equal(0, _h.Provider.EffectiveRequests);
    }

    [Fact]
    public async Task Capture_RetriedAndDuplicated_CapturesOnceWithOneLedgerEntry()
    {
        var authorization = await _h.AuthorizeAsync("o-9", 120.50m);
        var input = new CapturePaymentInput(authorization.PaymentId);

        var captures = await Task.WhenAll(Enumerable.Range(1, 3).Select(attempt =>
            Task.Run(() => Attempts.RunAsync(() => _h.Payments.CapturePaymentAsync(input), attempt))));

        Assert.All(captures, capture => Assert.Equal(new PaymentCapture("o-9:payment", 120.50m, "USD"), capture));
        Assert.Equal("succeeded", _h.Provider.FindIntent(authorization.ProviderPaymentId)!.Status);
        Assert.Equal(12050, _h.Provider.FindIntent(authorization.ProviderPaymentId)!.AmountReceived);
        Assert.Equal(1, await _h.Db.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'capture'"));
        Assert.Equal(1, await _h.Db.CountEventsAsync("payment.captured"));
    }

    [Fact]
    public async Task Void_Twice_VoidsOnceAndThenCaptureIsRefused()
    {
        var authorization = await _h.AuthorizeAsync("o-10", 30m);

        await Attempts.RunAsync(() => _h.Payments.VoidPaymentAsync(authorization.PaymentId));
        await Attempts.RunAsync(() => _h.Payments.VoidPaymentAsync(authorization.PaymentId), attempt: 2);

        Assert.Equal("canceled", _h.Provider.FindIntent(authorization.ProviderPaymentId)!.Status);
        Assert.Equal(1, await _h.Db.CountEventsAsync("payment.voided"));
        await Attempts.FailsAsync(() => _h.Payments.CapturePaymentAsync(new CapturePaymentInput(authorization.PaymentId)), CommerceErrorTypes.InvalidState);
    }

    [Fact]
    public async Task Void_CapturedPayment_IsRefusedAsNonRetryable()
    {
        var paymentId = await _h.CapturedPaymentAsync("o-11", 30m);

        var failure = await Attempts.FailsAsync(() => _h.Payments.VoidPaymentAsync(paymentId), CommerceErrorTypes.InvalidState);

        Assert.Contains("refund it instead", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refund_Partial_CompletesAsynchronouslyAndUpdatesThePaymentOnce()
    {
        var paymentId = await _h.CapturedPaymentAsync("o-12", 349.00m);

        var token = await Attempts.CompletesAsynchronouslyAsync(
            () => _h.Payments.RefundPaymentAsync(new RefundPaymentInput("rf-1", paymentId, 100.00m, "USD", "damaged")));
        var completion = await _h.Completer.ForTokenAsync(token);
        await Attempts.RunAsync(() => _h.Payments.RecordRefundLedgerEntryAsync("rf-1"));
        await Attempts.RunAsync(() => _h.Payments.RecordRefundLedgerEntryAsync("rf-1"), attempt: 2);

        var settlement = Assert.IsType<RefundSettlement>(completion.Result);
        Assert.Equal(100.00m, settlement.Amount);
        Assert.Equal("partially_refunded", await _h.Db.ScalarAsync<string>("SELECT status FROM payments WHERE id = @paymentId", new { paymentId }));
        Assert.Equal(100.00m, await _h.Db.ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE id = @paymentId", new { paymentId }));
        Assert.Equal(-100.00m, await _h.Db.ScalarAsync<decimal>("SELECT amount FROM ledger_entries WHERE kind = 'refund'"));
        var refundable = await Attempts.RunAsync(() => _h.Payments.GetRefundableAmountAsync(paymentId));
        Assert.Equal(249.00m, refundable.Refundable);
    }

    [Fact]
    public async Task CloseRefund_RetriedAfterItsCommit_BooksOnceAndWritesOneEmailAndOneClosedRow()
    {
        var paymentId = await _h.CapturedPaymentAsync("o-13", 80.00m);
        var token = await Attempts.CompletesAsynchronouslyAsync(
            () => _h.Payments.RefundPaymentAsync(new RefundPaymentInput("rf-3", paymentId, 30.00m, "USD", "damaged")));
        await _h.Completer.ForTokenAsync(token);
        var run = new WorkflowRunUpdate("refund-rf-3", "RefundProcessing", "rf-3", "cus-ava", "refunded", "done", 4, DateTimeOffset.UtcNow, 30.00m, "USD", Closed: true)
        {
            View = System.Text.Json.JsonSerializer.SerializeToElement(new { refundId = "rf-3", status = "refunded" }),
        };
        var email = new CustomerNotification("rf-3:refund-issued", "cus-ava", "refund_issued", new Dictionary<string, string> { ["refundId"] = "rf-3" });
        var closing = new CloseRefundInput("rf-3") { Record = new StepRecord(run, Notification: email) };

        await Attempts.RunAsync(() => _h.Payments.CloseRefundAsync(closing));
        await Attempts.RunAsync(() => _h.Payments.CloseRefundAsync(closing), attempt: 2);

        Assert.Equal(1, await _h.Db.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'refund' AND amount = -30.00"));
        Assert.Equal(1, await _h.Db.ScalarAsync<long>("SELECT count(*) FROM notifications WHERE idempotency_key = 'rf-3:refund-issued'"));
        Assert.Equal(1, await _h.Db.CountEventsAsync("notification.email_requested"));
        Assert.Equal(1, await _h.Db.CountEventsAsync("workflow.updated"));
        Assert.NotNull(await _h.Db.ScalarAsync<DateTime?>("SELECT closed_at FROM workflow_runs WHERE workflow_id = 'refund-rf-3'"));
    }

    [Fact]
    public async Task Refund_SettledByWebhook_IsBookedInTheLedgerWithoutAnotherStep()
    {
        var paymentId = await _h.CapturedPaymentAsync("o-20", 120.00m);

        // As an order's unwind refunds: the refund only, no RecordRefundLedgerEntry after it.
        var token = await Attempts.CompletesAsynchronouslyAsync(
            () => _h.Payments.RefundPaymentAsync(new RefundPaymentInput("o-20-reversal", paymentId, 120.00m, "USD", "order unwound")));
        await _h.Completer.ForTokenAsync(token);

        var ledger = await _h.Db.QueryAsync<(string Kind, decimal Amount)>("SELECT kind, amount FROM ledger_entries WHERE order_id = 'o-20' ORDER BY kind");
        Assert.Equal([("capture", 120.00m), ("refund", -120.00m)], ledger);
        Assert.Equal(1, await _h.Db.CountEventsAsync("ledger.refund_booked"));
    }

    [Fact]
    public async Task Refund_RetriedAfterSettlement_AnswersFromTheRow()
    {
        var paymentId = await _h.CapturedPaymentAsync("o-13", 40m);
        var input = new RefundPaymentInput("rf-2", paymentId, 40m, "USD");
        await _h.Completer.ForTokenAsync(await Attempts.CompletesAsynchronouslyAsync(() => _h.Payments.RefundPaymentAsync(input)));

        var retry = await Attempts.RunAsync(() => _h.Payments.RefundPaymentAsync(input), attempt: 2);

        Assert.Equal(40m, retry.Amount);
        Assert.Equal("refunded", await _h.Db.ScalarAsync<string>("SELECT status FROM payments WHERE id = @paymentId", new { paymentId }));
        Assert.Equal(1, await _h.Db.CountEventsAsync("refund.succeeded"));
        await Attempts.FailsAsync(
            () => _h.Payments.RefundPaymentAsync(new RefundPaymentInput("rf-2b", paymentId, 0.01m, "USD")), CommerceErrorTypes.RefundExceedsCaptured);
    }

    [Fact]
    public async Task Refund_MoreThanCaptured_IsRefusedAndWritesNothing()
    {
        var paymentId = await _h.CapturedPaymentAsync("o-14", 40m);

        var failure = await Attempts.FailsAsync(
            () => _h.Payments.RefundPaymentAsync(new RefundPaymentInput("rf-3", paymentId, 40.01m, "USD")), CommerceErrorTypes.RefundExceedsCaptured);

        Assert.Contains("exceeds the 40.0000 USD still refundable", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, await _h.Db.ScalarAsync<long>("SELECT count(*) FROM refunds"));
    }

    [Fact]
    public async Task Refund_InAnotherCurrency_IsACurrencyMismatch()
    {
        var paymentId = await _h.CapturedPaymentAsync("o-15", 40m);

        var failure = await Attempts.FailsAsync(
            () => _h.Payments.RefundPaymentAsync(new RefundPaymentInput("rf-4", paymentId, 10m, "CAD")), CommerceErrorTypes.CurrencyMismatch);

        Assert.Equal("Refund rf-4 is in CAD but payment o-15:payment was taken in USD.", failure.Message);
    }

    [Fact]
    public async Task Refund_TwoConcurrentRefundsForTheSameRemainder_ExactlyOneIsAccepted()
    {
        var paymentId = await _h.CapturedPaymentAsync("o-16", 60m);

        var results = await Task.WhenAll(new[] { "rf-a", "rf-b" }.Select(refundId => Task.Run(async () =>
        {
            try
            {
                await Attempts.RunAsync(() => _h.Payments.RefundPaymentAsync(new RefundPaymentInput(refundId, paymentId, 45m, "USD")));
                return "completed";
            }
            catch (CompleteAsyncException)
            {
                return "accepted";
            }
            catch (ApplicationFailureException e)
            {
                return e.ErrorType!;
            }
        })));

        Assert.Equal([CommerceErrorTypes.RefundExceedsCaptured, "accepted"], results.Order(StringComparer.Ordinal));
        Assert.Equal(1, await _h.Db.ScalarAsync<long>("SELECT count(*) FROM refunds"));
    }

    [Fact]
    public async Task Refund_ProviderFailsItAsynchronously_FailsTheWaitingActivityAsRefundFailed()
    {
        var paymentId = await _h.CapturedPaymentAsync("o-17", 60m, SandboxTestCards.RefundFails);

        var token = await Attempts.CompletesAsynchronouslyAsync(() => _h.Payments.RefundPaymentAsync(new RefundPaymentInput("rf-5", paymentId, 10m, "USD")));
        var completion = await _h.Completer.ForTokenAsync(token);

        var failure = Assert.IsType<ApplicationFailureException>(completion.Failure);
        Assert.Equal(CommerceErrorTypes.RefundFailed, failure.ErrorType);
        Assert.Equal("failed", await _h.Db.ScalarAsync<string>("SELECT status FROM refunds WHERE id = 'rf-5'"));
        Assert.Equal(0m, await _h.Db.ScalarAsync<decimal>("SELECT refunded_amount FROM payments WHERE id = @paymentId", new { paymentId }));
    }

    private async Task<PaymentWebhookResult> NextOutcomeAsync() =>
        await _h.Outcomes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
}

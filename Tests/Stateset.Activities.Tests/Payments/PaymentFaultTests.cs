using Npgsql;
using Stateset.Activities.Inventory;
using Stateset.Sandboxes.PaymentProvider;
using Stateset.Testing;
using Stateset.Workflows.Activities;
using Temporalio.Exceptions;

namespace Stateset.Activities.Tests.Payments;

/// <summary>Infrastructure faults stay retryable (Temporal retries them) and leave nothing half-done.</summary>
[Collection(PostgresWithHttpCollection.Name)]
public sealed class PaymentFaultTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Authorize_ProviderAnswersAfterTheAttemptTimeout_RetryGetsTheStoredAnswerAndChargesOnce()
    {
        // The provider sits on the first request for 5 s; 2 s per attempt times it out even on a loaded machine.
        await using var h = await PaymentsHarness.StartAsync(postgres, attemptTimeout: TimeSpan.FromSeconds(2));

        var authorization = await h.AuthorizeAsync("o-1", 75m, SandboxTestCards.TimeoutOnce);

        Assert.Equal("o-1:payment", authorization.PaymentId);
        Assert.Equal(1, h.Provider.EffectiveRequests);
    }

    [Fact]
    public async Task Authorize_ProviderUnreachable_IsRetryableAndLeavesThePaymentPendingWithItsRequestEventOnly()
    {
        await using var h = await PaymentsHarness.StartAsync(postgres);
        await h.Sandbox.DisposeAsync();

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => Attempts.RunAsync(
            () => h.Payments.AuthorizePaymentAsync(new AuthorizePaymentInput("o-2", "cus-ava", 75m, "USD", SandboxTestCards.Approved))));

        Assert.IsNotType<ApplicationFailureException>(failure);
        Assert.Equal("pending", await h.Db.ScalarAsync<string>("SELECT status FROM payments"));
        Assert.Null(await h.Db.ScalarAsync<string?>("SELECT provider_payment_id FROM payments"));
        Assert.Equal(["payment.authorization_requested"], await h.Db.QueryAsync<string>("SELECT event_type FROM outbox_events"));
    }

    [Fact]
    public async Task Reserve_DatabaseUnreachable_IsARetryableFailure()
    {
        var unreachable = new NpgsqlConnectionStringBuilder(await postgres.CreateMigratedDatabaseAsync()) { Port = 1, Timeout = 2 }.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(unreachable);
        var inventory = new InventoryActivities(dataSource);

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => Attempts.RunAsync(
            () => inventory.ReserveInventoryAsync(new ReserveInventoryInput("o-3", [new OrderLine("TENT-2P", 1)]))));

        Assert.IsAssignableFrom<NpgsqlException>(failure);
    }
}

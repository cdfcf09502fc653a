using Microsoft.Extensions.Options;
using Stateset.Activities.Orders;
using Stateset.Activities.Risk;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Risk;

[Collection(PostgresCollection.Name)]
public sealed class RiskActivitiesTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly PostalAddress MountainView = new("Ava Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US");
    private static readonly PostalAddress Toronto = new("Ava Martin", "290 Bremner Blvd", null, "Toronto", "ON", "M5V 3L9", "CA");
    private CommerceDatabase _db = null!;
    private RiskActivities _risk = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _risk = new RiskActivities(_db.DataSource, Options.Create(new RiskOptions()), TimeProvider.System);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Assess_SmallFirstOrderShippedToTheBillingAddress_ScoresLowWithoutApproval()
    {
        var assessment = await Attempts.RunAsync(() => _risk.AssessOrderRiskAsync(new RiskCheckInput("o-1", "cus-ava", 49.95m, "USD", MountainView)));

        Assert.Equal(15, assessment.Score);
        Assert.False(assessment.RequiresApproval);
        Assert.Equal(["first order from this customer (+15)"], assessment.Reasons);
    }

    [Fact]
    public async Task Assess_LargeOrderShippedAbroad_NeedsApprovalAndSaysWhy()
    {
        var assessment = await Attempts.RunAsync(() => _risk.AssessOrderRiskAsync(new RiskCheckInput("o-2", "cus-ava", 1200m, "USD", Toronto)));

        Assert.Equal(70, assessment.Score);
        Assert.True(assessment.RequiresApproval);
        Assert.Contains("billing country US differs from shipping country CA (+25)", assessment.Reasons);
        Assert.Contains("amount 1200 USD is at least 1000 (+30)", assessment.Reasons);
        Assert.True(await _db.ScalarAsync<bool>("SELECT requires_approval FROM risk_assessments WHERE order_id = 'o-2'"));
    }

    [Fact]
    public async Task Assess_CustomerWithFulfilledOrdersAndARecentDecline_CountsHistory()
    {
        var orders = new OrderActivities(_db.DataSource);
        await Attempts.RunAsync(() => orders.PlaceOrderAsync(new PlaceOrderInput("old-1", "cus-ava", "USD", [new OrderLine("SOCK-WOOL", 1)], MountainView)));
        await OrderPath.WalkToAsync(orders, "old-1", "completed", DateTimeOffset.UtcNow);
        await _db.ExecuteAsync(
            "INSERT INTO payments (id, order_id, customer_id, idempotency_key, provider, amount, currency, status) VALUES ('p-x', 'old-2', 'cus-ava', 'old-2:authorize', 'sandbox', 10, 'USD', 'declined')");

        var assessment = await Attempts.RunAsync(() => _risk.AssessOrderRiskAsync(new RiskCheckInput("o-3", "cus-ava", 100m, "USD", MountainView)));

        Assert.Equal(["1 declined payment(s) in the last 30 days (+25)"], assessment.Reasons);
        Assert.False(assessment.RequiresApproval);
    }

    [Fact]
    public async Task Assess_RetriedAttempt_KeepsOneAssessmentRow()
    {
        var input = new RiskCheckInput("o-4", "cus-ava", 10m, "USD", MountainView);

        await Attempts.RunAsync(() => _risk.AssessOrderRiskAsync(input));
        await Attempts.RunAsync(() => _risk.AssessOrderRiskAsync(input), attempt: 2);

        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM risk_assessments"));
    }

    [Fact]
    public async Task Assess_UnknownCustomer_IsNotFound()
    {
        await Attempts.FailsAsync(
            () => _risk.AssessOrderRiskAsync(new RiskCheckInput("o-5", "cus-ghost", 10m, "USD", MountainView)), CommerceErrorTypes.NotFound);
    }
}

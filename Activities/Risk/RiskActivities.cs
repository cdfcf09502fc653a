using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Stateset.Activities.Steps;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Activities.Risk;

/// <summary>
/// Scores an order from 0 to 100 with explainable rules (amount, billing/shipping mismatch, customer history)
/// and stores the assessment. Rules read facts as of now; a retry re-scores and overwrites with the same row key.
/// </summary>
public sealed class RiskActivities(NpgsqlDataSource dataSource, IOptions<RiskOptions> options, TimeProvider time) : IRiskActivities
{
    /// <inheritdoc />
    [Activity]
    public async Task<RiskAssessment> AssessOrderRiskAsync(RiskCheckInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        BusinessFailure.RequireId(input.OrderId, "Order id");
        BusinessFailure.RequireId(input.CustomerId, "Customer id");
        var currency = BusinessFailure.RequireCurrency(input.Currency);
        BusinessFailure.RequireAmount(input.Amount, currency, "Amount", allowZero: true);
        if (input.ShippingAddress is null)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, "A shipping address is required.");
        }

        var rules = options.Value;
        var ct = ActivityCancellation.Token;
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var history = await connection.QueryFirstOrDefaultAsync<HistoryRow>(new CommandDefinition(
            """
            SELECT
                (SELECT count(*) FROM orders o WHERE o.customer_id = c.id AND o.id <> @OrderId
                    AND o.status IN ('shipped', 'delivered', 'completed')) AS FulfilledOrders,
                (SELECT count(*) FROM orders o WHERE o.customer_id = c.id AND o.id <> @OrderId
                    AND o.placed_at > @Now - interval '24 hours') AS OrdersLastDay,
                (SELECT count(*) FROM payments p WHERE p.customer_id = c.id AND p.order_id <> @OrderId
                    AND p.status = 'declined' AND p.created_at > @Now - interval '30 days') AS RecentDeclines,
                (SELECT a.country FROM customer_addresses a WHERE a.customer_id = c.id AND a.kind = 'billing' AND a.is_default) AS BillingCountry,
                (SELECT a.postal_code FROM customer_addresses a WHERE a.customer_id = c.id AND a.kind = 'billing' AND a.is_default) AS BillingPostalCode
            FROM customers c WHERE c.id = @CustomerId
            """,
            new { input.OrderId, input.CustomerId, Now = now },
            transaction,
            cancellationToken: ct))
            ?? throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Customer {input.CustomerId} does not exist.");

        var score = 0;
        var reasons = new List<string>();
        void Add(int points, string reason)
        {
            score += points;
            reasons.Add($"{reason} (+{points})");
        }

        if (rules.VeryHighAmount.TryGetValue(currency, out var veryHigh) && input.Amount >= veryHigh)
        {
            Add(50, $"amount {input.Amount} {currency} is at least {veryHigh}");
        }
        else if (rules.HighAmount.TryGetValue(currency, out var high) && input.Amount >= high)
        {
            Add(30, $"amount {input.Amount} {currency} is at least {high}");
        }

        var billingCountry = input.BillingAddress?.Country ?? history.BillingCountry?.Trim();
        var billingPostal = input.BillingAddress?.PostalCode ?? history.BillingPostalCode;
        if (billingCountry is not null && !string.Equals(billingCountry, input.ShippingAddress.Country, StringComparison.OrdinalIgnoreCase))
        {
            Add(25, $"billing country {billingCountry} differs from shipping country {input.ShippingAddress.Country}");
        }
        else if (billingPostal is not null && !SamePostalCode(billingPostal, input.ShippingAddress.PostalCode))
        {
            Add(10, "billing and shipping postal codes differ");
        }

        if (history.FulfilledOrders == 0)
        {
            Add(15, "first order from this customer");
        }

        if (history.RecentDeclines > 0)
        {
            Add(25, $"{history.RecentDeclines} declined payment(s) in the last 30 days");
        }

        if (history.OrdersLastDay >= rules.VelocityOrdersPerDay)
        {
            Add(20, $"{history.OrdersLastDay} other orders in the last 24 hours");
        }

        var assessment = new RiskAssessment(input.OrderId, Math.Min(score, 100), score >= rules.ApprovalThreshold, reasons);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO risk_assessments (order_id, score, requires_approval, reasons, assessed_at)
            VALUES (@OrderId, @Score, @RequiresApproval, @Reasons::jsonb, @Now)
            ON CONFLICT (order_id) DO UPDATE
            SET score = EXCLUDED.score, requires_approval = EXCLUDED.requires_approval, reasons = EXCLUDED.reasons, assessed_at = EXCLUDED.assessed_at
            """,
            new { assessment.OrderId, assessment.Score, assessment.RequiresApproval, Reasons = JsonSerializer.Serialize(reasons), Now = now },
            transaction,
            cancellationToken: ct));
        await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
        await transaction.CommitAsync(ct);
        return assessment;
    }

    private static bool SamePostalCode(string a, string b) =>
        string.Equals(a.Replace(" ", string.Empty, StringComparison.Ordinal), b.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);

    private sealed record HistoryRow(long FulfilledOrders, long OrdersLastDay, long RecentDeclines, string? BillingCountry, string? BillingPostalCode);
}

using Dapper;
using Npgsql;

namespace Stateset.Gateway.Validation;

/// <summary>
/// Checks that a start request names things that exist and can be sold: its customer, its SKUs (in the catalogue,
/// active, priced in the order's currency), the order a refund or return is for. A workflow started for something
/// that does not exist can only fail after the client was told 202; refused here, the client learns why (400 naming
/// the field) and nothing is written. Read per request, so a catalogue change counts at once.
/// </summary>
public sealed class ReferenceChecks(NpgsqlDataSource database)
{
    /// <summary>Adds a problem for an unknown customer and for each line whose SKU cannot be sold in <paramref name="currency"/>.</summary>
    /// <param name="check">Where the problems are added.</param>
    /// <param name="customerId">The order's customer.</param>
    /// <param name="currency">The order's currency.</param>
    /// <param name="lines">Each line's field name (e.g. <c>lines[0].sku</c>) and SKU.</param>
    /// <param name="ct">Cancels the lookup.</param>
    public async Task CheckOrderAsync(RequestValidator check, string customerId, string currency, IReadOnlyList<(string Field, string Sku)> lines, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(lines);
        await using var connection = await database.OpenConnectionAsync(ct);
        using var results = await connection.QueryMultipleAsync(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM customers WHERE id = @CustomerId);
            SELECT s.sku AS Sku, p.active AS Active, pp.amount IS NOT NULL AS Priced
            FROM unnest(@Skus::text[]) AS s (sku)
            LEFT JOIN products p ON p.sku = s.sku
            LEFT JOIN product_prices pp ON pp.sku = s.sku AND pp.currency = @Currency
            """,
            new { CustomerId = customerId, Currency = currency, Skus = lines.Select(l => l.Sku).Distinct(StringComparer.Ordinal).ToArray() },
            cancellationToken: ct));
        if (!await results.ReadSingleAsync<bool>())
        {
            check.Add("customerId", $"is not a known customer ({customerId}).");
        }

        var products = (await results.ReadAsync<ProductRow>()).ToDictionary(p => p.Sku, StringComparer.Ordinal);
        foreach (var (field, sku) in lines)
        {
            var product = products[sku];
            if (product.Active is not true)
            {
                check.Add(field, product.Active is null ? $"{sku} is not in the catalogue." : $"{sku} is no longer sold.");
            }
            else if (!product.Priced)
            {
                check.Add(field, $"{sku} is not sold in {currency}.");
            }
        }
    }

    /// <summary>Adds a problem under <paramref name="field"/> when no order <paramref name="orderId"/> exists.</summary>
    public async Task CheckOrderExistsAsync(RequestValidator check, string field, string orderId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(check);
        await using var connection = await database.OpenConnectionAsync(ct);
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM orders WHERE id = @OrderId)", new { OrderId = orderId }, cancellationToken: ct));
        if (!exists)
        {
            check.Add(field, $"is not a known order ({orderId}).");
        }
    }

    private sealed record ProductRow(string Sku, bool? Active, bool Priced);
}

using Dapper;
using Microsoft.Extensions.Caching.Memory;
using Npgsql;

namespace Stateset.Gateway.Validation;

/// <summary>
/// Checks that a start request names things that exist and can be sold: its customer, its SKUs (in the catalogue,
/// active, priced in the order's currency), the order a refund or return is for. A workflow started for something
/// that does not exist can only fail after the client was told 202; refused here, the client learns why (400 naming
/// the field) and nothing is written.
/// </summary>
/// <remarks>
/// What passed is remembered for <see cref="RememberFor"/> (a known customer, a SKU sellable in a currency, an
/// existing order), so a busy storefront's starts cost no SQL round trip here; what failed is never remembered, so a
/// new customer or product counts at once. A product retired within that window still passes this check, but not the
/// order's first step, which reads the catalogue in its own transaction and fails the order naming the SKU: this is
/// the early answer, that step is the rule.
/// </remarks>
public sealed class ReferenceChecks(NpgsqlDataSource database) : IDisposable
{
    /// <summary>How long a passed check is remembered.</summary>
    public static readonly TimeSpan RememberFor = TimeSpan.FromSeconds(10);

    // Its own cache, so a burst of new customers cannot push the API keys out of the shared one.
    private readonly MemoryCache _passed = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    /// <summary>Adds a problem for an unknown customer and for each line whose SKU cannot be sold in <paramref name="currency"/>.</summary>
    /// <param name="check">Where the problems are added.</param>
    /// <param name="customerId">The order's customer.</param>
    /// <param name="currency">The order's currency.</param>
    /// <param name="linesField">The field of the lines: a problem with line <c>i</c> is named <c>{linesField}[i].sku</c>.</param>
    /// <param name="lines">Each line's SKU, in the order of the lines.</param>
    /// <param name="ct">Cancels the lookup.</param>
    public async Task CheckOrderAsync(RequestValidator check, string customerId, string currency, string linesField, IReadOnlyList<string> lines, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(lines);
        var skus = lines.Distinct(StringComparer.Ordinal).ToArray();
        if (_passed.TryGetValue(("customer", customerId), out _) && skus.All(sku => _passed.TryGetValue(("sku", sku, currency), out _)))
        {
            return;
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        using var results = await connection.QueryMultipleAsync(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM customers WHERE id = @CustomerId);
            SELECT s.sku AS Sku, p.active AS Active, pp.amount IS NOT NULL AS Priced
            FROM unnest(@Skus::text[]) AS s (sku)
            LEFT JOIN products p ON p.sku = s.sku
            LEFT JOIN product_prices pp ON pp.sku = s.sku AND pp.currency = @Currency
            """,
            new { CustomerId = customerId, Currency = currency, Skus = skus },
            cancellationToken: ct));
        if (await results.ReadSingleAsync<bool>())
        {
            Remember(("customer", customerId));
        }
        else
        {
            check.Add("customerId", $"is not a known customer ({customerId}).");
        }

        var products = (await results.ReadAsync<ProductRow>()).ToDictionary(p => p.Sku, StringComparer.Ordinal);
        for (var i = 0; i < lines.Count; i++)
        {
            var sku = lines[i];
            var product = products[sku];
            var problem = product.Active is not true ? (product.Active is null ? $"{sku} is not in the catalogue." : $"{sku} is no longer sold.")
                : !product.Priced ? $"{sku} is not sold in {currency}."
                : null;
            if (problem is null)
            {
                Remember(("sku", sku, currency));
            }
            else
            {
                // The line's field name is spelt out only for a problem, as the validator does.
                check.Add($"{linesField}[{i}].sku", problem);
            }
        }
    }

    /// <summary>Adds a problem under <paramref name="field"/> when no order <paramref name="orderId"/> exists.</summary>
    public async Task CheckOrderExistsAsync(RequestValidator check, string field, string orderId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(check);
        if (_passed.TryGetValue(("order", orderId), out _))
        {
            return;
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM orders WHERE id = @OrderId)", new { OrderId = orderId }, cancellationToken: ct));
        if (exists)
        {
            Remember(("order", orderId));
        }
        else
        {
            check.Add(field, $"is not a known order ({orderId}).");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _passed.Dispose();

    private void Remember(object key)
    {
        using var entry = _passed.CreateEntry(key);
        entry.Value = true;
        entry.Size = 1;
        entry.AbsoluteExpirationRelativeToNow = RememberFor;
    }

    private sealed record ProductRow(string Sku, bool? Active, bool Priced);
}

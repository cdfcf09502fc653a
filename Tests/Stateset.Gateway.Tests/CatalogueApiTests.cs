using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stateset.Gateway.Tests;

/// <summary>The catalogue, stock and customer reads over the seeded demo data (migration 0003) and rows of the test's own.</summary>
[Collection(GatewayCollection.Name)]
public sealed class CatalogueApiTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Products_ListPricesReturnRules_AndPageBySku()
    {
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var first = await client.GetFromJsonAsync<JsonElement>(new Uri("/products?limit=3", UriKind.Relative));
        var next = await client.GetFromJsonAsync<JsonElement>(new Uri($"/products?limit=3&after={first[2].GetProperty("sku").GetString()}", UriKind.Relative));
        var all = await client.GetFromJsonAsync<JsonElement>(new Uri("/products?limit=100", UriKind.Relative));

        Assert.Equal(3, first.GetArrayLength());
        var skus = all.EnumerateArray().Select(p => p.GetProperty("sku").GetString()!).ToList();
        Assert.Equal(skus.Order(StringComparer.Ordinal), skus);
        Assert.Equal(skus.Skip(3).Take(3), next.EnumerateArray().Select(p => p.GetProperty("sku").GetString()!));
        var tent = all.EnumerateArray().Single(p => p.GetProperty("sku").GetString() == "TENT-2P");
        Assert.True(tent.GetProperty("returnable").GetBoolean());
        Assert.Equal(30, tent.GetProperty("returnWindowDays").GetInt32());
        Assert.Contains(tent.GetProperty("prices").EnumerateArray(), p => p.GetProperty("currency").GetString() == "USD" && p.GetProperty("amount").GetDecimal() == 349m);
        var gift = all.EnumerateArray().Single(p => p.GetProperty("sku").GetString() == "GIFT-CARD");
        Assert.False(gift.GetProperty("returnable").GetBoolean());
    }

    [Fact]
    public async Task Product_ShowsItsStockPerLocation_And404WhenUnknown()
    {
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var product = await client.GetFromJsonAsync<JsonElement>(new Uri("/products/FILTER-SQ", UriKind.Relative));
        using var unknown = await client.GetAsync(new Uri("/products/NO-SUCH-SKU", UriKind.Relative));

        Assert.Equal("FILTER-SQ", product.GetProperty("product").GetProperty("sku").GetString());
        Assert.Equal(60, product.GetProperty("product").GetProperty("returnWindowDays").GetInt32());
        Assert.Equal(["wh-mississauga", "wh-reno"], product.GetProperty("stock").EnumerateArray().Select(s => s.GetProperty("locationId").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Inventory_ShowsOnHandAllocatedAvailable_AndFiltersBelowReorderPoint()
    {
        var sku = $"SKU-{Guid.NewGuid():N}"[..20];
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO products (sku, name, weight_grams, length_mm, width_mm, height_mm) VALUES (@sku, 'Test item', 100, 10, 10, 10);
            INSERT INTO inventory_balances (location_id, sku, on_hand, allocated, reorder_point) VALUES
                ('wh-reno', @sku, 10, 4, 8), ('wh-mississauga', @sku, 20, 0, 5);
            """,
            new { sku });
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));

        var stock = await client.GetFromJsonAsync<JsonElement>(new Uri($"/inventory?sku={sku}", UriKind.Relative));
        var low = await client.GetFromJsonAsync<JsonElement>(new Uri($"/inventory?sku={sku}&belowReorderPoint=true", UriKind.Relative));
        var paged = await client.GetFromJsonAsync<JsonElement>(new Uri($"/inventory?sku={sku}&limit=1&cursor=wh-mississauga|{sku}", UriKind.Relative));
        using var bad = await client.GetAsync(new Uri("/inventory?belowReorderPoint=maybe", UriKind.Relative));
        using var badCursor = await client.GetAsync(new Uri("/inventory?cursor=nobar", UriKind.Relative));

        Assert.Equal(2, stock.GetArrayLength());
        var reno = stock.EnumerateArray().Single(s => s.GetProperty("locationId").GetString() == "wh-reno");
        Assert.Equal((10, 4, 6, 8), (reno.GetProperty("onHand").GetInt32(), reno.GetProperty("allocated").GetInt32(), reno.GetProperty("available").GetInt32(), reno.GetProperty("reorderPoint").GetInt32()));
        Assert.True(reno.GetProperty("belowReorderPoint").GetBoolean());
        Assert.Equal("wh-reno", Assert.Single(low.EnumerateArray()).GetProperty("locationId").GetString());
        Assert.Equal("wh-reno", Assert.Single(paged.EnumerateArray()).GetProperty("locationId").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("belowReorderPoint", out _));
        Assert.Equal(HttpStatusCode.BadRequest, badCursor.StatusCode);
        Assert.True((await badCursor.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("cursor", out _));
    }

    [Fact]
    public async Task Customer_ComesWithTheirOrdersNewestFirst_AndIsForOperatorsOnly()
    {
        var customer = $"c-{Guid.NewGuid():N}";
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO customers (id, email, name) VALUES (@customer, @customer || '@example.com', 'Orders Test');
            INSERT INTO orders (id, customer_id, status, currency, subtotal, total, shipping_address, placed_at) VALUES
                (@customer || '-old', @customer, 'completed', 'USD', 10, 10, '{}', '2026-01-01T00:00:00Z'),
                (@customer || '-new', @customer, 'pending', 'USD', 20, 20, '{}', '2026-02-01T00:00:00Z');
            """,
            new { customer });
        using var operatorClient = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));
        using var storefront = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var detail = await operatorClient.GetFromJsonAsync<JsonElement>(new Uri($"/customers/{customer}", UriKind.Relative));
        var found = await operatorClient.GetFromJsonAsync<JsonElement>(new Uri($"/customers?q={customer.ToUpperInvariant()}%40EXAMPLE.COM", UriKind.Relative));
        using var unknown = await operatorClient.GetAsync(new Uri($"/customers/nobody-{Guid.NewGuid():N}"[..30], UriKind.Relative));
        using var refused = await storefront.GetAsync(new Uri($"/customers/{customer}", UriKind.Relative));

        Assert.Equal($"{customer}@example.com", detail.GetProperty("customer").GetProperty("email").GetString());
        var orders = detail.GetProperty("orders").EnumerateArray().ToList();
        Assert.Equal([$"{customer}-new", $"{customer}-old"], orders.Select(o => o.GetProperty("id").GetString()));
        Assert.Equal($"/orders/{customer}-new", orders[0].GetProperty("url").GetString());
        Assert.Equal(20m, orders[0].GetProperty("total").GetDecimal());
        Assert.Equal(customer, Assert.Single(found.EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }
}

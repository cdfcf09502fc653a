using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Gateway.Security;
using Stateset.Gateway.Validation;

namespace Stateset.Gateway.Apis;

/// <summary>A product of the catalogue with its prices and return rules.</summary>
/// <param name="ReturnWindowDays">Days after delivery within which it may be returned (when returnable).</param>
/// <param name="Active">False once it is no longer sold.</param>
public sealed record ProductItem(
    string Sku,
    string Name,
    string? Description,
    bool Returnable,
    int ReturnWindowDays,
    bool Active,
    int WeightGrams,
    IReadOnlyList<ProductPrice> Prices);

/// <summary>The product's price in one currency.</summary>
public sealed record ProductPrice(string Currency, decimal Amount);

/// <summary>A product with its stock at each location.</summary>
public sealed record ProductDetail(ProductItem Product, IReadOnlyList<StockItem> Stock);

/// <summary>Stock of one SKU at one location.</summary>
/// <param name="Allocated">Promised to open reservations but still on the shelf.</param>
/// <param name="Available">On hand minus allocated: what can still be promised.</param>
/// <param name="ReorderPoint">Below this many available units the SKU wants reordering here; 0 when none is set.</param>
/// <param name="BelowReorderPoint">True when a reorder point is set and available stock is under it.</param>
public sealed record StockItem(
    string LocationId,
    string LocationName,
    string Sku,
    int OnHand,
    int Allocated,
    int Available,
    int ReorderPoint,
    bool BelowReorderPoint,
    DateTime UpdatedAt);

/// <summary>A customer of the store.</summary>
public sealed record CustomerItem(string Id, string Email, string Name, string? Phone, DateTime CreatedAt);

/// <summary>A customer with their orders, newest first.</summary>
public sealed record CustomerDetail(CustomerItem Customer, IReadOnlyList<CustomerOrder> Orders);

/// <summary>One of a customer's orders as the <c>orders</c> table holds it, with where to read it whole.</summary>
public sealed record CustomerOrder(string Id, string Status, string Currency, decimal Total, DateTime PlacedAt, DateTime? DeliveredAt, string Url);

/// <summary>
/// Read APIs over the commerce tables the activities keep: the catalogue (<c>products</c>, <c>product_prices</c>),
/// stock (<c>inventory_balances</c> per location) and customers with their orders. Lists are keyset-paged by their
/// natural key (SKU, location and SKU, customer id), so a page is as cheap deep in the list as at its start.
/// </summary>
public static class CatalogueApi
{
    private const int CustomerOrderLimit = 50;

    /// <summary>Maps <c>/products</c>, <c>/inventory</c> and <c>/customers</c>.</summary>
    public static IEndpointRouteBuilder MapCatalogueApi(this IEndpointRouteBuilder routes)
    {
        var products = routes.MapGroup("/products").WithTags("Catalogue")
            .RequireAuthorization(ApiScopes.ReadPolicy).RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        products.MapGet("/", ListProductsAsync).WithName("ListProducts")
            .WithSummary("Lists products by SKU with prices, returnable and return window; active=true|false filters, after (a SKU) and limit page.");
        products.MapGet("/{sku}", GetProductAsync).WithName("GetProduct").WithSummary("A product with its prices and its stock at each location.");

        var inventory = routes.MapGroup("/inventory").WithTags("Catalogue")
            .RequireAuthorization(ApiScopes.ReadPolicy).RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        inventory.MapGet("/", ListStockAsync).WithName("ListInventory")
            .WithSummary("Stock per location and SKU (on hand, allocated, available, reorder point); filters sku, locationId, belowReorderPoint=true; cursor and limit page.");

        var customers = routes.MapGroup("/customers").WithTags("Customers")
            .RequireAuthorization(ApiScopes.Operator).RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        customers.MapGet("/", ListCustomersAsync).WithName("ListCustomers")
            .WithSummary("Lists customers by id; q matches the email (any case) or a part of the name; after (a customer id) and limit page.");
        customers.MapGet("/{customerId}", GetCustomerAsync).WithName("GetCustomer")
            .WithSummary($"A customer with their latest {CustomerOrderLimit} orders, newest first (GET /orders?customerId= lists all).");
        return routes;
    }

    private static async Task<Results<Ok<IReadOnlyList<ProductItem>>, ValidationProblem>> ListProductsAsync(
        string? active, string? after, string? limit, NpgsqlDataSource database, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var activeOnly = QueryParameters.OneOf(active, "active", ["true", "false"], errors);
        after = QueryParameters.Text(after, "after", errors, maxLength: 64);
        var size = QueryParameters.Limit(limit, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<ProductRow>(new CommandDefinition(
            $"""
            {ProductSelect}
            WHERE (@Active::boolean IS NULL OR p.active = @Active) AND (@After::text IS NULL OR p.sku > @After)
            ORDER BY p.sku
            LIMIT @Limit
            """,
            new { Active = activeOnly is null ? (bool?)null : activeOnly == "true", After = after, Limit = size },
            cancellationToken: ct));
        return TypedResults.Ok<IReadOnlyList<ProductItem>>(rows.Select(row => row.ToItem()).ToList());
    }

    private static async Task<Results<Ok<ProductDetail>, NotFound, ValidationProblem>> GetProductAsync(string sku, NpgsqlDataSource database, CancellationToken ct)
    {
        var check = new RequestValidator().Id("sku", sku);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        var product = await connection.QuerySingleOrDefaultAsync<ProductRow>(new CommandDefinition(
            $"{ProductSelect} WHERE p.sku = @Sku", new { Sku = sku }, cancellationToken: ct));
        if (product is null)
        {
            return TypedResults.NotFound();
        }

        var stock = await connection.QueryAsync<StockItem>(new CommandDefinition(
            $"{StockSelect} WHERE b.sku = @Sku ORDER BY b.location_id", new { Sku = sku }, cancellationToken: ct));
        return TypedResults.Ok(new ProductDetail(product.ToItem(), stock.ToList()));
    }

    private static async Task<Results<Ok<IReadOnlyList<StockItem>>, ValidationProblem>> ListStockAsync(
        string? sku, string? locationId, string? belowReorderPoint, string? cursor, string? limit, NpgsqlDataSource database, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        sku = QueryParameters.Text(sku, "sku", errors, maxLength: 64);
        locationId = QueryParameters.Text(locationId, "locationId", errors, maxLength: 64);
        var low = QueryParameters.OneOf(belowReorderPoint, "belowReorderPoint", ["true", "false"], errors);

        // The cursor is the last row's "location|sku", as the list is ordered; ids hold no '|' (RequestValidator.Id).
        string? afterLocation = null, afterSku = null;
        if (QueryParameters.Text(cursor, "cursor", errors, maxLength: 130) is { } position)
        {
            var parts = position.Split('|');
            if (parts is [{ Length: > 0 } location, { Length: > 0 } item])
            {
                (afterLocation, afterSku) = (location, item);
            }
            else
            {
                errors["cursor"] = ["cursor must be the locationId|sku of the last item of the previous page."];
            }
        }

        var size = QueryParameters.Limit(limit, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<StockItem>(new CommandDefinition(
            $"""
            {StockSelect}
            WHERE (@Sku::text IS NULL OR b.sku = @Sku)
              AND (@LocationId::text IS NULL OR b.location_id = @LocationId)
              AND (@Low::boolean IS NULL OR (b.reorder_point > 0 AND b.available < b.reorder_point) = @Low)
              AND (@AfterLocation::text IS NULL OR (b.location_id, b.sku) > (@AfterLocation, @AfterSku))
            ORDER BY b.location_id, b.sku
            LIMIT @Limit
            """,
            new { Sku = sku, LocationId = locationId, Low = low is null ? (bool?)null : low == "true", AfterLocation = afterLocation, AfterSku = afterSku, Limit = size },
            cancellationToken: ct));
        return TypedResults.Ok<IReadOnlyList<StockItem>>(rows.ToList());
    }

    private static async Task<Results<Ok<IReadOnlyList<CustomerItem>>, ValidationProblem>> ListCustomersAsync(
        string? q, string? after, string? limit, NpgsqlDataSource database, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        q = QueryParameters.Text(q, "q", errors, maxLength: 254);
        after = QueryParameters.Text(after, "after", errors, maxLength: 64);
        var size = QueryParameters.Limit(limit, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<CustomerItem>(new CommandDefinition(
            $"""
            {CustomerSelect}
            WHERE (@Q::text IS NULL OR lower(email) = lower(@Q) OR name ILIKE '%' || replace(replace(replace(@Q, '\', '\\'), '%', '\%'), '_', '\_') || '%')
              AND (@After::text IS NULL OR id > @After)
            ORDER BY id
            LIMIT @Limit
            """,
            new { Q = q, After = after, Limit = size },
            cancellationToken: ct));
        return TypedResults.Ok<IReadOnlyList<CustomerItem>>(rows.ToList());
    }

    private static async Task<Results<Ok<CustomerDetail>, NotFound, ValidationProblem>> GetCustomerAsync(string customerId, NpgsqlDataSource database, CancellationToken ct)
    {
        var check = new RequestValidator().Id("customerId", customerId);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        var customer = await connection.QuerySingleOrDefaultAsync<CustomerItem>(new CommandDefinition(
            $"{CustomerSelect} WHERE id = @Id", new { Id = customerId }, cancellationToken: ct));
        if (customer is null)
        {
            return TypedResults.NotFound();
        }

        var orders = await connection.QueryAsync<(string Id, string Status, string Currency, decimal Total, DateTime PlacedAt, DateTime? DeliveredAt)>(new CommandDefinition(
            """
            SELECT id, status, currency, total, placed_at, delivered_at FROM orders
            WHERE customer_id = @Id ORDER BY placed_at DESC, id DESC LIMIT @Limit
            """,
            new { Id = customerId, Limit = CustomerOrderLimit },
            cancellationToken: ct));
        return TypedResults.Ok(new CustomerDetail(
            customer, orders.Select(o => new CustomerOrder(o.Id, o.Status, o.Currency, o.Total, o.PlacedAt, o.DeliveredAt, $"/orders/{o.Id}")).ToList()));
    }

    private const string ProductSelect =
        """
        SELECT p.sku AS Sku, p.name AS Name, p.description AS Description, p.returnable AS Returnable,
               p.return_window_days AS ReturnWindowDays, p.active AS Active, p.weight_grams AS WeightGrams,
               coalesce((SELECT jsonb_agg(jsonb_build_object('currency', pp.currency, 'amount', pp.amount) ORDER BY pp.currency)
                         FROM product_prices pp WHERE pp.sku = p.sku), '[]'::jsonb)::text AS Prices
        FROM products p
        """;

    private const string StockSelect =
        """
        SELECT b.location_id AS LocationId, l.name AS LocationName, b.sku AS Sku, b.on_hand AS OnHand, b.allocated AS Allocated,
               b.available AS Available, b.reorder_point AS ReorderPoint, (b.reorder_point > 0 AND b.available < b.reorder_point) AS BelowReorderPoint,
               b.updated_at AS UpdatedAt
        FROM inventory_balances b JOIN inventory_locations l ON l.id = b.location_id
        """;

    private const string CustomerSelect = "SELECT id AS Id, email AS Email, name AS Name, phone AS Phone, created_at AS CreatedAt FROM customers";

    private sealed record ProductRow(string Sku, string Name, string? Description, bool Returnable, int ReturnWindowDays, bool Active, int WeightGrams, string Prices)
    {
        public ProductItem ToItem() => new(
            Sku, Name, Description, Returnable, ReturnWindowDays, Active, WeightGrams, JsonSerializer.Deserialize<List<ProductPrice>>(Prices, JsonSerializerOptions.Web) ?? []);
    }
}

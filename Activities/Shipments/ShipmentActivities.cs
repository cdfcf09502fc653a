using System.Text.Json;
using Dapper;
using Npgsql;
using Stateset.Activities.Outbox;
using Stateset.Activities.Steps;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Activities.Shipments;

/// <summary>
/// Shipment records: which warehouse ships or receives, both addresses, and a parcel sized from the catalogue.
/// The row is written once per shipment id; a retry reads back what the first attempt stored, so the label that
/// follows is always bought for the same parcel and addresses.
/// </summary>
public sealed class ShipmentActivities(NpgsqlDataSource database) : IShipmentActivities
{
    /// <inheritdoc />
    [Activity]
    public async Task<PreparedShipment> PrepareShipmentAsync(PrepareShipmentInput input)
    {
        BusinessFailure.RequireId(input.ShipmentId, "ShipmentId");
        BusinessFailure.RequireId(input.OrderId, "OrderId");
        if (input.Direction is not ("outbound" or "return"))
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, $"Direction must be 'outbound' or 'return', got '{input.Direction}'.");
        }

        if (input.Items.Count == 0)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.InvalidInput, "A shipment needs at least one item.");
        }

        foreach (var item in input.Items)
        {
            BusinessFailure.RequireQuantity(item.Sku, item.Quantity);
        }

        var ct = ActivityExecutionContext.Current.CancellationToken;
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        var customer = input.Customer ?? await OrderAddressAsync(connection, transaction, input.OrderId);
        var location = await LocationAsync(connection, transaction, input.LocationId, customer.Country);
        var warehouse = new Address(location.Name, location.Line1, location.Line2, location.City, location.Region, location.PostalCode, location.Country, location.Phone);
        var parcel = await ParcelAsync(connection, transaction, input.Items);
        var (from, to) = input.Direction == "outbound" ? (warehouse, customer) : (customer, warehouse);

        await connection.ExecuteAsync(
            """
            INSERT INTO shipments (id, order_id, return_id, direction, from_location_id, ship_from, ship_to, weight_grams, length_mm, width_mm, height_mm)
            VALUES (@ShipmentId, @OrderId, @ReturnId, @Direction, @LocationId, @From::jsonb, @To::jsonb, @WeightGrams, @LengthMm, @WidthMm, @HeightMm)
            ON CONFLICT (id) DO NOTHING
            """,
            new
            {
                input.ShipmentId,
                input.OrderId,
                input.ReturnId,
                input.Direction,
                LocationId = location.Id,
                From = JsonSerializer.Serialize(from, OutboxWriter.PayloadJson),
                To = JsonSerializer.Serialize(to, OutboxWriter.PayloadJson),
                parcel.WeightGrams,
                parcel.LengthMm,
                parcel.WidthMm,
                parcel.HeightMm,
            },
            transaction);
        foreach (var item in input.Items.GroupBy(i => i.Sku))
        {
            await connection.ExecuteAsync(
                "INSERT INTO shipment_items (shipment_id, sku, quantity) VALUES (@ShipmentId, @Sku, @Quantity) ON CONFLICT DO NOTHING",
                new { input.ShipmentId, Sku = item.Key, Quantity = item.Sum(i => i.Quantity) },
                transaction);
        }

        // Read back what is stored: on a retry, that is what the first attempt wrote.
        var stored = await connection.QuerySingleAsync<(string? LocationId, string From, string To, int WeightGrams, int LengthMm, int WidthMm, int HeightMm)>(
            "SELECT from_location_id, ship_from::text, ship_to::text, weight_grams, length_mm, width_mm, height_mm FROM shipments WHERE id = @ShipmentId",
            new { input.ShipmentId },
            transaction);
        var station = await connection.QueryFirstOrDefaultAsync<string>(
            "SELECT id FROM print_stations WHERE location_id = @LocationId AND active ORDER BY id LIMIT 1",
            new { LocationId = stored.LocationId ?? location.Id },
            transaction);
        await StepRecordWriter.ApplyAsync(transaction, input.Record, ct);
        await transaction.CommitAsync(ct);

        return new PreparedShipment(
            input.ShipmentId,
            stored.LocationId ?? location.Id,
            JsonSerializer.Deserialize<Address>(stored.From, OutboxWriter.PayloadJson)!,
            JsonSerializer.Deserialize<Address>(stored.To, OutboxWriter.PayloadJson)!,
            new Parcel(stored.WeightGrams, stored.LengthMm, stored.WidthMm, stored.HeightMm),
            station);
    }

    private static async Task<Address> OrderAddressAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string orderId)
    {
        var json = await connection.QuerySingleOrDefaultAsync<string>(
            "SELECT shipping_address::text FROM orders WHERE id = @orderId", new { orderId }, transaction);
        return json is null
            ? throw BusinessFailure.Create(CommerceErrorTypes.NotFound, $"Order {orderId} does not exist.")
            : JsonSerializer.Deserialize<Address>(json, OutboxWriter.PayloadJson)!;
    }

    /// <summary>The named warehouse, else the first by priority in the customer's country, else the first anywhere.</summary>
    private static async Task<LocationRow> LocationAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string? locationId, string country)
    {
        var location = await connection.QueryFirstOrDefaultAsync<LocationRow>(
            """
            SELECT id, name, line1, line2, city, region, postal_code AS PostalCode, country, phone
            FROM inventory_locations
            WHERE active AND (@locationId::text IS NULL OR id = @locationId)
            ORDER BY (country = @country) DESC, priority, id
            LIMIT 1
            """,
            new { locationId, country },
            transaction);
        return location ?? throw BusinessFailure.Create(
            CommerceErrorTypes.NotFound, locationId is null ? "No active warehouse exists." : $"Warehouse {locationId} does not exist or is inactive.");
    }

    /// <summary>One box for everything: weights add up, items stack on their smallest side, the box is as long and wide as the largest item.</summary>
    private static async Task<(int WeightGrams, int LengthMm, int WidthMm, int HeightMm)> ParcelAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<OrderLine> items)
    {
        var skus = items.Select(i => i.Sku).Distinct().ToArray();
        var products = (await connection.QueryAsync<(string Sku, int WeightGrams, int LengthMm, int WidthMm, int HeightMm)>(
            "SELECT sku, weight_grams, length_mm, width_mm, height_mm FROM products WHERE sku = ANY(@skus)", new { skus }, transaction))
            .ToDictionary(p => p.Sku);
        var unknown = skus.Where(s => !products.ContainsKey(s)).ToList();
        if (unknown.Count > 0)
        {
            throw BusinessFailure.Create(CommerceErrorTypes.UnknownSku, $"Unknown SKU(s): {string.Join(", ", unknown)}.");
        }

        var weight = items.Sum(i => products[i.Sku].WeightGrams * i.Quantity);
        var length = items.Max(i => products[i.Sku].LengthMm);
        var width = items.Max(i => products[i.Sku].WidthMm);
        var height = items.Sum(i => products[i.Sku].HeightMm * i.Quantity);
        return (weight, length, width, height);
    }

    private sealed record LocationRow(string Id, string Name, string Line1, string? Line2, string City, string Region, string PostalCode, string Country, string? Phone);
}

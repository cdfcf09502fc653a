using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Npgsql;
using UglyToad.PdfPig;

namespace Stateset.Gateway.Tests;

/// <summary>
/// A print station as it works on the floor, through the real system: it waits on its job list, an order is placed,
/// the label the worker bought and rendered appears there, the station fetches its ZPL and PDF, prints, acknowledges,
/// and the order goes on to wait for the carrier. The station is the test's own, so no other test's label lands on it.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class PrintStationsEndToEndTests(EndToEndFixture system)
{
    [Fact]
    public async Task Station_WaitsForItsJob_FetchesZplAndPdf_Acks_AndTheOrderAwaitsShipment()
    {
        var stationId = $"ps-{Guid.NewGuid():N}"[..16];
        await ExecuteAsync("INSERT INTO print_stations (id, name, location_id, format) VALUES (@stationId, 'e2e dock printer', 'wh-reno', 'zpl')", new { stationId });
        using var station = await StationClientAsync(stationId);
        using var storefront = await system.ClientAsync("client");
        var orderId = $"o-{Guid.NewGuid():N}"[..14];
        var shipmentId = $"{orderId}-1";

        // The station is already waiting when the order comes in.
        var waiting = WaitForJobAsync(station, stationId);
        using var placed = await storefront.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = JsonContent.Create(Order(orderId, await NewCustomerAsync(), stationId)),
            Headers = { { "Idempotency-Key", orderId } },
        });
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);
        var job = await waiting;

        Assert.Equal(shipmentId, job.GetProperty("shipmentId").GetString());
        Assert.Equal("zpl", job.GetProperty("format").GetString());
        var trackingNumber = job.GetProperty("label").GetProperty("trackingNumber").GetString()!;
        Assert.Equal(await ScalarAsync<string>("SELECT tracking_number FROM labels WHERE shipment_id = @shipmentId", new { shipmentId }), trackingNumber);
        Assert.Equal(
            await ScalarAsync<string>("SELECT carrier_label_id FROM labels WHERE shipment_id = @shipmentId", new { shipmentId }),
            job.GetProperty("label").GetProperty("carrierLabelId").GetString());

        using var zpl = await station.GetAsync(new Uri(job.GetProperty("links").GetProperty("zpl").GetString()!, UriKind.Relative));
        using var pdf = await station.GetAsync(new Uri(job.GetProperty("links").GetProperty("pdf").GetString()!, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, zpl.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", zpl.Content.Headers.ContentType?.ToString());
        var zplText = await zpl.Content.ReadAsStringAsync();
        Assert.StartsWith("^XA", zplText, StringComparison.Ordinal);
        Assert.Contains($"^FD{trackingNumber}^FS", zplText, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, pdf.StatusCode);
        Assert.Equal("application/pdf", pdf.Content.Headers.ContentType?.MediaType);
        var pdfBytes = await pdf.Content.ReadAsByteArrayAsync();
        Assert.Equal("%PDF-"u8.ToArray(), pdfBytes[..5]);
        using (var document = PdfDocument.Open(pdfBytes))
        {
            var words = document.GetPage(1).GetWords().Select(w => w.Text).ToList();
            Assert.Contains(trackingNumber, words);
            Assert.Contains("MARTIN", words);
        }

        using var ack = await station.PostAsJsonAsync(new Uri(job.GetProperty("links").GetProperty("ack").GetString()!, UriKind.Relative), new { stationId });
        Assert.Equal(HttpStatusCode.Accepted, ack.StatusCode);
        await WaitForAsync(storefront, $"/orders/{orderId}", s => s.GetProperty("status").GetProperty("stage").GetString() == "awaiting shipment");

        Assert.Equal("printed", await ScalarAsync<string>("SELECT status FROM print_jobs WHERE id = @id", new { id = job.GetProperty("id").GetString() }));
        Assert.Equal(1, await ScalarAsync<long>("SELECT count(*) FROM labels WHERE shipment_id = @shipmentId", new { shipmentId }));
        Assert.Equal(1, await ScalarAsync<long>("SELECT count(*) FROM print_jobs j JOIN labels l ON l.id = j.label_id WHERE l.shipment_id = @shipmentId", new { shipmentId }));
        Assert.Equal("printed", await ScalarAsync<string>("SELECT status FROM shipments WHERE id = @shipmentId", new { shipmentId }));
        var queued = await station.GetFromJsonAsync<JsonElement>(new Uri($"/print-stations/{stationId}/jobs", UriKind.Relative));
        Assert.Equal(0, queued.GetProperty("items").GetArrayLength());
    }

    private static object Order(string orderId, string customerId, string stationId) => new
    {
        orderId,
        customerId,
        currency = "USD",
        lines = new[] { new { sku = "HEADLAMP-400", quantity = 1 } },
        shippingAddress = new { name = "Ava Martin", line1 = "1600 Amphitheatre Pkwy", city = "Mountain View", region = "CA", postalCode = "94043", country = "US" },
        paymentMethod = "4242424242424242",
        printStationId = stationId,
    };

    /// <summary>Long-polls the station's queue, as a station agent does, until its job is there.</summary>
    private static async Task<JsonElement> WaitForJobAsync(HttpClient station, string stationId)
    {
        for (var round = 0; round < 3; round++)
        {
            var list = await station.GetFromJsonAsync<JsonElement>(new Uri($"/print-stations/{stationId}/jobs?status=queued&waitSeconds=60", UriKind.Relative));
            if (list.GetProperty("items").GetArrayLength() > 0)
            {
                return Assert.Single(list.GetProperty("items").EnumerateArray());
            }
        }

        throw new TimeoutException($"No print job reached station {stationId} in three minutes.");
    }

    private static async Task WaitForAsync(HttpClient client, string path, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && condition(JsonDocument.Parse(last).RootElement))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{path} never reached the expected state; last answer: {last}");
    }

    private async Task<HttpClient> StationClientAsync(string stationId)
    {
        using var admin = new HttpClient { BaseAddress = system.GatewayAddress };
        admin.DefaultRequestHeaders.Add("X-Api-Key", EndToEndFixture.AdminKey);
        using var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = $"station {stationId}", scopes = new[] { "station" }, stationId });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var client = new HttpClient { BaseAddress = system.GatewayAddress, Timeout = TimeSpan.FromSeconds(100) };
        client.DefaultRequestHeaders.Add("X-Api-Key", (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
        return client;
    }

    /// <summary>A customer with the seeded Ava Martin's details and no history, so the order needs no approval.</summary>
    private async Task<string> NewCustomerAsync()
    {
        var customerId = $"cus-{Guid.NewGuid():N}";
        await ExecuteAsync(
            """
            INSERT INTO customers (id, email, name, phone)
            SELECT @customerId, @customerId || '@example.com', name, phone FROM customers WHERE id = 'cus-ava';
            INSERT INTO customer_addresses (customer_id, kind, is_default, name, line1, line2, city, region, postal_code, country, phone)
            SELECT @customerId, kind, is_default, name, line1, line2, city, region, postal_code, country, phone FROM customer_addresses WHERE customer_id = 'cus-ava';
            """,
            new { customerId });
        return customerId;
    }

    private async Task ExecuteAsync(string sql, object parameters)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.ExecuteAsync(sql, parameters);
    }

    private async Task<T> ScalarAsync<T>(string sql, object parameters)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }
}

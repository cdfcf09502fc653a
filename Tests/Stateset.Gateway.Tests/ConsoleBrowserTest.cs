using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Microsoft.Playwright;
using Npgsql;
using Stateset.Gateway.Events;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Stateset.Gateway.Tests;

/// <summary>
/// What the console's browser tests share: a fresh Chromium page on the real gateway, the key form, orders placed the
/// way a storefront places them, and waits on the API (the system runs on real time, so every wait is for a state,
/// never for a fixed time).
/// </summary>
public abstract class ConsoleBrowserTest(EndToEndFixture system, ITestOutputHelper output)
{
    /// <summary>Where tests save a picture of each page they reach, when set (for looking at the console).</summary>
    public const string ScreenshotsVariable = "STATESET_CONSOLE_SCREENSHOTS";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Gets the whole system the console runs against.</summary>
    protected EndToEndFixture System => system;

    /// <summary>Gives the console <paramref name="operatorApi"/>'s key and waits until its event stream is live.</summary>
    protected static async Task ConnectAsync(IPage page, HttpClient operatorApi)
    {
        await page.GetByLabel("API key with the operator scope").FillAsync(KeyOf(operatorApi));
        await page.GetByRole(AriaRole.Button, new() { Name = "Connect" }).ClickAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("live");
    }

    /// <summary>The API key a client sends.</summary>
    protected static string KeyOf(HttpClient client) => client.DefaultRequestHeaders.GetValues("X-Api-Key").Single();

    /// <summary>
    /// Saves a full-page picture under <see cref="ScreenshotsVariable"/>'s folder, when it is set; after
    /// <paramref name="settle"/>, for what the browser draws on its own time (its PDF viewer). Pictures only: no
    /// test waits on a clock.
    /// </summary>
    protected static async Task ScreenshotAsync(IPage page, string name, TimeSpan? settle = null)
    {
        if (Environment.GetEnvironmentVariable(ScreenshotsVariable) is { Length: > 0 } folder)
        {
            if (settle is { } pause)
            {
                await Task.Delay(pause);
            }

            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, $"{name}.png"), FullPage = true });
        }
    }

    /// <summary>
    /// Places an order the risk check sends to an operator whatever the customer's history: 141 gift cards,
    /// 7050 CAD, reach the very-high-amount rule (6750 CAD) on their own, and gift cards never run out of stock.
    /// </summary>
    protected static async Task<string> PlaceOrderNeedingApprovalAsync(HttpClient storefront) =>
        await PlaceOrderAsync(storefront, "cus-liam", "CAD", [("GIFT-CARD", 141)]);

    /// <summary>Places an order and checks the gateway accepted it; answers its id.</summary>
    protected static async Task<string> PlaceOrderAsync(HttpClient storefront, string customerId, string currency, (string Sku, int Quantity)[] lines, string? printStationId = null)
    {
        var orderId = $"o-{Guid.NewGuid():N}"[..14];
        object address = customerId == "cus-liam"
            ? new { name = "Liam Tremblay", line1 = "290 Bremner Blvd", line2 = "Unit 4", city = "Toronto", region = "ON", postalCode = "M5V 3L9", country = "CA" }
            : new { name = "Ava Martin", line1 = "1600 Amphitheatre Pkwy", city = "Mountain View", region = "CA", postalCode = "94043", country = "US" };
        using var body = JsonContent.Create(new
        {
            orderId,
            customerId,
            currency,
            lines = lines.Select(l => new { sku = l.Sku, quantity = l.Quantity }).ToArray(),
            shippingAddress = address,
            paymentMethod = "4242424242424242",
            printStationId,
        });
        using var place = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = body };
        place.Headers.Add("Idempotency-Key", orderId);
        using var placed = await storefront.SendAsync(place);
        Assert.True(placed.StatusCode == HttpStatusCode.Accepted, await placed.Content.ReadAsStringAsync());
        return orderId;
    }

    /// <summary>Polls a GET until its answer satisfies <paramref name="condition"/>.</summary>
    protected static async Task<JsonElement> WaitForAsync(HttpClient client, string path, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        var last = string.Empty;
        while (true)
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var view = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                if (condition(view))
                {
                    return view;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"{path} never reached the expected state; last answer: {last}");
            await Task.Delay(100);
        }
    }

    /// <summary>The status view of a resource's GET.</summary>
    protected static JsonElement StatusOf(JsonElement view) => view.GetProperty("status");

    /// <summary>The stage of a resource's GET.</summary>
    protected static string? StageOf(JsonElement view) => StatusOf(view).GetProperty("stage").GetString();

    /// <summary>Whether a resource's run has a pending approval now.</summary>
    protected static bool Pending(JsonElement view) =>
        StatusOf(view).TryGetProperty("pendingApproval", out var pending) && pending.ValueKind == JsonValueKind.Object;

    /// <summary>
    /// Waits until the order's label waits for its print station, approving the order on the way if the risk check
    /// asked for an operator (a customer's history in a shared database decides that); answers the print job.
    /// </summary>
    protected static async Task<JsonElement> WaitForPrintJobAsync(HttpClient storefront, HttpClient operatorApi, string orderId)
    {
        var order = await WaitForAsync(storefront, $"/orders/{orderId}", view => Pending(view) || StageOf(view) == "printing label");
        if (Pending(order))
        {
            using var approved = await operatorApi.PostAsJsonAsync(new Uri($"/orders/{orderId}/approve", UriKind.Relative), new { reason = "test order" });
            Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
        }

        // The stage is published a moment before the job is queued; the job is what the station needs.
        var label = await WaitForAsync(storefront, $"/labels/{orderId}-1", view =>
            StageOf(view) == "waiting for print station" && StatusOf(view).TryGetProperty("printJob", out var job) && job.ValueKind == JsonValueKind.Object);
        return StatusOf(label).GetProperty("printJob");
    }

    /// <summary>Takes an order through printing, pickup and delivery, as the warehouse and the carrier would.</summary>
    protected async Task DeliverAsync(HttpClient storefront, HttpClient operatorApi, string orderId)
    {
        var job = await WaitForPrintJobAsync(storefront, operatorApi, orderId);
        using var ack = await operatorApi.PostAsJsonAsync(
            new Uri($"/print-jobs/{job.GetProperty("id").GetString()}/ack", UriKind.Relative), new { stationId = job.GetProperty("stationId").GetString() });
        Assert.Equal(HttpStatusCode.Accepted, ack.StatusCode);
        await WaitForAsync(storefront, $"/orders/{orderId}", view => StageOf(view) == "awaiting shipment");
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        var (carrier, labelId) = await connection.QuerySingleAsync<(string, string)>(
            "SELECT carrier, carrier_label_id FROM labels WHERE shipment_id = @shipmentId AND NOT voided", new { shipmentId = $"{orderId}-1" });
        using var sandbox = new HttpClient { BaseAddress = system.Sandboxes.BaseAddress };
        foreach (var status in new[] { "in_transit", "delivered" })
        {
            using var sent = await sandbox.PostAsJsonAsync(new Uri($"carriers/{carrier}/sandbox/labels/{labelId}/events", UriKind.Relative), new { status });
            Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync());
        }

        var done = await WaitForAsync(storefront, $"/orders/{orderId}", view => !view.GetProperty("live").GetBoolean());
        Assert.Equal("completed", StatusOf(done).GetProperty("status").GetString());
    }

    /// <summary>Reads one value from the commerce database.</summary>
    protected async Task<T?> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        return await connection.ExecuteScalarAsync<T>(sql, parameters);
    }

    /// <summary>Changes the commerce database the way another system would.</summary>
    protected async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.ExecuteAsync(sql, parameters);
    }

    /// <summary>
    /// Ends every event stream the gateway serves, as losing PostgreSQL does: the gateway's outbox listener
    /// connection is terminated, so its hub ends the streams and each client reconnects.
    /// </summary>
    protected async Task EndEventStreamsAsync()
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        var terminated = await connection.ExecuteScalarAsync<long>(
            """
            SELECT count(*) FROM (
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = @name) AS listeners
            """,
            new { name = OutboxEventHub.ListenerName });
        Assert.Equal(1, terminated);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> on a fresh Chromium page against the gateway, handing it the page's console
    /// errors and uncaught exceptions as they come; on failure saves a screenshot beside the test assembly.
    /// </summary>
    protected async Task BrowseAsync(string testName, Func<IPage, IReadOnlyCollection<string>, Task> steps)
    {
        SetDefaultExpectTimeout(30_000);
        await using var context = await system.NewBrowserContextAsync(new() { BaseURL = system.GatewayAddress.ToString(), ViewportSize = new() { Width = 1440, Height = 900 } });
        var page = await context.NewPageAsync();
        var errors = new ConcurrentQueue<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Enqueue(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Enqueue(error);
        try
        {
            await steps(page, errors);
        }
        catch
        {
            var screenshot = Path.Combine(AppContext.BaseDirectory, "screenshots", $"{testName}.png");
            await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
            output.WriteLine($"Screenshot of the page at the failure: {screenshot}");
            output.WriteLine($"Console errors: {string.Join(" | ", errors)}");
            throw;
        }
    }
}

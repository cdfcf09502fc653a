using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Npgsql;
using Stateset.Testing.EndToEnd;

namespace Stateset.EndToEnd.Tests;

/// <summary>
/// What every end-to-end scenario shares: API clients for the storefront, an operator and the warehouse (print
/// stations and the returns desk), customers and SKUs of its own, HTTP and database helpers, and, after the test,
/// the one database-invariants check every scenario must leave true.
/// A scenario never shares a customer or a SKU with another: the risk check scores a customer's history, and the
/// stock check reconciles each SKU the scenario created with exactly the orders that touched it.
/// </summary>
public abstract class EndToEndTest(StatesetSystem system) : IAsyncLifetime
{
    /// <summary>The sandbox card that authorises.</summary>
    protected const string GoodCard = "4242424242424242";

    /// <summary>How long a path that runs on real time may take before the test gives up on it.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, int> _skus = new(StringComparer.Ordinal);
    private readonly List<(string Check, string Token)> _exemptions = [];
    private readonly List<string> _ids = [];
    private HashSet<string> _brokenBefore = [];

    protected StatesetSystem System => system;

    protected HttpClient Storefront { get; private set; } = null!;

    protected HttpClient Operator { get; private set; } = null!;

    /// <summary>Gets a client with the callback scope: print stations and the warehouse's returns desk.</summary>
    protected HttpClient Warehouse { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Storefront = await system.ClientAsync("client");
        Operator = await system.ClientAsync("operator");
        Warehouse = await system.ClientAsync("callback");

        // What an earlier scenario of this system broke was reported by that scenario; this one answers for the rest.
        _brokenBefore = [.. await DatabaseInvariants.FindViolationsAsync(system, _skus, _exemptions)];
    }

    public async Task DisposeAsync()
    {
        Storefront.Dispose();
        Operator.Dispose();
        Warehouse.Dispose();
        // A violation is this scenario's when it names one of its ids (orders, payments, shipments, runs all carry them).
        var broken = (await DatabaseInvariants.FindViolationsAsync(system, _skus, _exemptions))
            .Where(v => !_brokenBefore.Contains(v) && _ids.Any(id => v.Contains(id, StringComparison.Ordinal)))
            .ToList();
        Assert.True(broken.Count == 0, "Database invariants broken:\n" + string.Join("\n", broken));
    }

    /// <summary>
    /// Lets the invariant <paramref name="check"/> (a <see cref="DatabaseInvariants"/> key) fail for rows naming
    /// <paramref name="token"/>: only for a scenario that broke, on purpose, the step that keeps it true.
    /// </summary>
    protected void Exempt(string check, string token)
    {
        lock (_exemptions)
        {
            _exemptions.Add((check, token));
        }
    }

    /// <summary>A new id for something this scenario creates; the invariants check after the test answers for it.</summary>
    protected string NewId(string prefix) => Own($"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);

    /// <summary>Makes an id the system chose (an order id derived from an Idempotency-Key) this scenario's.</summary>
    protected string Own(string id)
    {
        lock (_ids)
        {
            _ids.Add(id);
        }

        return id;
    }

    protected static object UsAddress(string postalCode = "94043") =>
        new { name = "Ava Martin", line1 = "1600 Amphitheatre Pkwy", city = "Mountain View", region = "CA", postalCode, country = "US" };

    protected static object CanadianAddress(string postalCode = "M5V 3L9") =>
        new { name = "Liam Tremblay", line1 = "290 Bremner Blvd", line2 = "Unit 4", city = "Toronto", region = "ON", postalCode, country = "CA" };

    protected static object OrderBody(
        string? orderId, string customerId, string sku, string card = GoodCard, int quantity = 1, object? shippingAddress = null, object? billingAddress = null) => new
        {
            orderId,
            customerId,
            currency = "USD",
            lines = new[] { new { sku, quantity } },
            shippingAddress = shippingAddress ?? UsAddress(),
            billingAddress,
            paymentMethod = card,
        };

    protected static string StatusOf(JsonElement view) => view.GetProperty("status").GetProperty("status").GetString()!;

    protected static string StageOf(JsonElement view) => view.GetProperty("status").GetProperty("stage").GetString()!;

    protected static bool IsClosed(JsonElement view) => !view.GetProperty("live").GetBoolean();

    /// <summary>Why a closed run ended, as its read-model row records it.</summary>
    protected static string ReasonOf(JsonElement closed)
    {
        var details = closed.GetProperty("status").GetProperty("details");
        return details.TryGetProperty("reason", out var reason) ? reason.GetString()!
            : details.TryGetProperty("failure", out var failure) ? failure.GetString()! : string.Empty;
    }

    /// <summary>A new customer with the seeded customer's addresses (Ava in the US, Liam in Canada) and no history.</summary>
    protected async Task<string> NewCustomerAsync(string like = "cus-ava")
    {
        var customerId = NewId("cus");
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.ExecuteAsync(
            """
            INSERT INTO customers (id, email, name, phone)
            SELECT @customerId, @customerId || '@example.com', name, phone FROM customers WHERE id = @like;
            INSERT INTO customer_addresses (customer_id, kind, is_default, name, line1, line2, city, region, postal_code, country, phone)
            SELECT @customerId, kind, is_default, name, line1, line2, city, region, postal_code, country, phone FROM customer_addresses WHERE customer_id = @like;
            """,
            new { customerId, like });
        return customerId;
    }

    /// <summary>A new SKU sold in USD and CAD at <paramref name="price"/>, with <paramref name="stock"/> units in each warehouse.</summary>
    protected async Task<string> NewSkuAsync(decimal price = 49.95m, int stock = 10, int returnWindowDays = 30)
    {
        var sku = Own($"SKU-{Guid.NewGuid():N}"[..16].ToUpperInvariant());
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.ExecuteAsync(
            """
            INSERT INTO products (sku, name, weight_grams, length_mm, width_mm, height_mm, returnable, return_window_days)
            VALUES (@sku, 'End-to-end item ' || @sku, 400, 200, 150, 100, true, @returnWindowDays);
            INSERT INTO product_prices (sku, currency, amount) VALUES (@sku, 'USD', @price), (@sku, 'CAD', @price);
            INSERT INTO inventory_balances (location_id, sku, on_hand) VALUES ('wh-reno', @sku, @stock), ('wh-mississauga', @sku, @stock);
            """,
            new { sku, price, stock, returnWindowDays });
        lock (_skus)
        {
            _skus.Add(sku, stock);
        }

        return sku;
    }

    protected static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, object? body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await client.SendAsync(request);
    }

    /// <summary>Places an order and checks the gateway accepted it.</summary>
    protected async Task<string> PlaceOrderAsync(string customerId, string sku, string card = GoodCard, int quantity = 1, object? shippingAddress = null, object? billingAddress = null)
    {
        var orderId = NewId("o");
        using var placed = await PostAsync(Storefront, "/orders", OrderBody(orderId, customerId, sku, card, quantity, shippingAddress, billingAddress), orderId);
        Assert.True(placed.StatusCode == HttpStatusCode.Accepted, await placed.Content.ReadAsStringAsync());
        return orderId;
    }

    /// <summary>Polls a resource until it reaches a state; the system runs on real time, as in production.</summary>
    protected async Task<JsonElement> WaitForAsync(string path, Func<JsonElement, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await Storefront.GetAsync(new Uri(path, UriKind.Relative));
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                if (condition(body))
                {
                    return body;
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{path} never reached the expected state; last answer: {last}");
    }

    protected Task<JsonElement> WaitClosedAsync(string path, TimeSpan? timeout = null) => WaitForAsync(path, IsClosed, timeout);

    /// <summary>
    /// Waits until the run waits for an operator: its pending approval is set (the stage is published a moment
    /// earlier, before the approval is requested, and an operator's decision is refused until it is).
    /// </summary>
    protected Task<JsonElement> WaitForApprovalAsync(string path) =>
        WaitForAsync(path, view => IsClosed(view)
            ? throw new InvalidOperationException($"{path} closed before it waited for an operator: {view}")
            : view.GetProperty("status").TryGetProperty("pendingApproval", out var pending) && pending.ValueKind == JsonValueKind.Object);

    protected Task<JsonElement> WaitForStageAsync(string path, string stage, TimeSpan? timeout = null) =>
        WaitForAsync(path, view => IsClosed(view) ? throw new InvalidOperationException($"{path} closed before reaching '{stage}': {view}") : StageOf(view) == stage, timeout);

    /// <summary>The print station acknowledges the order's label; answers the carrier the parcel now waits for.</summary>
    protected async Task<string> PrintLabelAsync(string orderId)
    {
        var label = await WaitForAsync($"/labels/{orderId}-1", s => s.GetProperty("status").TryGetProperty("printJob", out var job) && job.ValueKind == JsonValueKind.Object);
        var job = label.GetProperty("status").GetProperty("printJob");
        using var ack = await PostAsync(Warehouse, $"/print-jobs/{job.GetProperty("id").GetString()}/ack", new { stationId = job.GetProperty("stationId").GetString() });
        Assert.Equal(HttpStatusCode.Accepted, ack.StatusCode);
        var awaiting = await WaitForStageAsync($"/orders/{orderId}", "awaiting shipment");
        return awaiting.GetProperty("status").GetProperty("shipment").GetProperty("carrier").GetString()!;
    }

    /// <summary>The carrier scans the parcel: the sandbox sends its signed webhook to the gateway.</summary>
    protected async Task CarrierScanAsync(string shipmentId, string status)
    {
        var (carrier, labelId) = await QuerySingleAsync<(string, string)>(
            "SELECT carrier, carrier_label_id FROM labels WHERE shipment_id = @shipmentId AND NOT voided", new { shipmentId });
        using var sandbox = new HttpClient { BaseAddress = system.Sandboxes.BaseAddress };
        using var sent = await sandbox.PostAsJsonAsync(new Uri($"carriers/{carrier}/sandbox/labels/{labelId}/events", UriKind.Relative), new { status });
        Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync());
    }

    /// <summary>An order of <paramref name="quantity"/> × <paramref name="sku"/> taken all the way to delivered and completed.</summary>
    protected async Task<string> DeliveredOrderAsync(string customerId, string sku, int quantity = 1)
    {
        var orderId = await PlaceOrderAsync(customerId, sku, quantity: quantity);
        await PrintLabelAsync(orderId);
        await CarrierScanAsync($"{orderId}-1", "in_transit");
        await CarrierScanAsync($"{orderId}-1", "delivered");
        var done = await WaitClosedAsync($"/orders/{orderId}");
        Assert.Equal("completed", StatusOf(done));
        return orderId;
    }

    protected async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        return await connection.ExecuteScalarAsync<T>(sql, parameters) ?? throw new InvalidOperationException($"no value: {sql}");
    }

    protected async Task<T> QuerySingleAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        return await connection.QuerySingleAsync<T>(sql, parameters);
    }

    protected async Task<List<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        return (await connection.QueryAsync<T>(sql, parameters)).ToList();
    }

    /// <summary>
    /// The tasks a run gave the worker, in order: the activity attempts it started and the local activities it
    /// recorded (one <c>core_local_activity</c> marker each), each with its type and the attempt that ended it.
    /// </summary>
    protected async Task<(List<(string Type, int Attempt)> Activities, List<(string Type, int Attempt)> LocalActivities)> TasksOfAsync(string workflowId)
    {
        var scheduled = new Dictionary<long, string>();
        var activities = new List<(string Type, int Attempt)>();
        var local = new List<(string Type, int Attempt)>();
        await foreach (var e in system.TemporalClient.GetWorkflowHandle(workflowId).FetchHistoryEventsAsync())
        {
            switch (e.EventType)
            {
                case Temporalio.Api.Enums.V1.EventType.ActivityTaskScheduled:
                    scheduled[e.EventId] = e.ActivityTaskScheduledEventAttributes.ActivityType.Name;
                    break;
                case Temporalio.Api.Enums.V1.EventType.ActivityTaskStarted:
                    activities.Add((scheduled[e.ActivityTaskStartedEventAttributes.ScheduledEventId], e.ActivityTaskStartedEventAttributes.Attempt));
                    break;
                case Temporalio.Api.Enums.V1.EventType.MarkerRecorded when e.MarkerRecordedEventAttributes.MarkerName == "core_local_activity":
                    using (var data = JsonDocument.Parse(e.MarkerRecordedEventAttributes.Details["data"].Payloads_[0].Data.Memory))
                    {
                        local.Add((data.RootElement.GetProperty("activity_type").GetString()!, data.RootElement.GetProperty("attempt").GetInt32()));
                    }

                    break;
                default:
                    break;
            }
        }

        return (activities, local);
    }

    protected async Task<int> ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        return await connection.ExecuteAsync(sql, parameters);
    }
}

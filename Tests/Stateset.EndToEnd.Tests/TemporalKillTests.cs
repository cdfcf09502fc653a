using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stateset.Testing.EndToEnd;
using Temporalio.Api.Enums.V1;
using Xunit.Abstractions;

namespace Stateset.EndToEnd.Tests;

/// <summary>
/// The embedded Temporal as the stack runs it (a dev server on a <c>--db-filename</c> file), killed with SIGKILL while a
/// hundred orders are in flight and started again on the same file: every order completes, and nothing in PostgreSQL
/// or in the runs' histories happened twice.
/// </summary>
[Collection(TemporalKillCollection.Name)]
public sealed class TemporalKillTests(StatesetSystemOnAKillableTemporal system, ITestOutputHelper output) : EndToEndTest(system)
{
    private const int Orders = 100;
    private const decimal Price = 19.95m;

    /// <summary>How long the whole hundred may take, outage included, on a loaded two-core machine.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);

    private StatesetSystemOnAKillableTemporal Killable => (StatesetSystemOnAKillableTemporal)System;

    [Fact]
    public async Task Temporal_Killed9WithAHundredOrdersInFlight_RestartedOnItsFile_EveryOrderCompletesOnce()
    {
        var clock = Stopwatch.StartNew();
        var skus = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            skus.Add(await NewSkuAsync(price: Price, stock: 20));
        }

        // A customer per order: the risk check scores a customer's history, and these must not need an operator.
        var customers = await Task.WhenAll(Enumerable.Range(0, Orders).Select(_ => NewCustomerAsync()));
        using var placing = new SemaphoreSlim(8);
        var orderIds = await Task.WhenAll(Enumerable.Range(0, Orders).Select(async i =>
        {
            await placing.WaitAsync();
            try
            {
                return await PlaceOrderAsync(customers[i], skus[i % skus.Count]);
            }
            finally
            {
                placing.Release();
            }
        }));

        // The warehouse and the carriers work through the outage as they would in production: each acknowledges a
        // label once it is queued and scans the parcel once printed, retrying whatever the outage refused.
        using var done = new CancellationTokenSource(Deadline);
        var handled = new ConcurrentDictionary<string, Task>(StringComparer.Ordinal);
        var warehouse = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                var queued = await QueryAsync<(string JobId, string StationId, string ShipmentId)>(
                    """
                    SELECT j.id, j.station_id, l.shipment_id FROM print_jobs j JOIN labels l ON l.id = j.label_id
                    WHERE j.status = 'queued' AND l.shipment_id = ANY(@shipments)
                    """,
                    new { shipments = orderIds.Select(id => $"{id}-1").ToArray() });
                foreach (var job in queued)
                {
                    _ = handled.GetOrAdd(job.JobId, _ => Task.Run(() => PrintAndShipAsync(job.JobId, job.StationId, job.ShipmentId, done.Token)));
                }

                await Task.Delay(250, done.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        });

        // Killed once a fifth of the orders are done, so the others are in every stage: paying, printing, shipping.
        await WaitUntilAsync(async () => await CompletedAsync(orderIds) >= Orders / 10, done.Token);
        await Killable.KillTemporalAsync();
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: killed; orders by status: {await StatusesAsync(orderIds)}");
        // A client placing an order during the outage is told to retry, and its retry with the same key places it.
        var lateOrder = NewId("o");
        var lateCustomer = await NewCustomerAsync();
        using (var refused = await PostAsync(Storefront, "/orders", OrderBody(lateOrder, lateCustomer, skus[0]), lateOrder))
        {
            Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, await refused.Content.ReadAsStringAsync());
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        await Killable.StartTemporalAgainAsync();
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: started again");
        using (var retried = await PostAsync(Storefront, "/orders", OrderBody(lateOrder, lateCustomer, skus[0]), lateOrder))
        {
            Assert.True(retried.StatusCode == HttpStatusCode.Accepted, await retried.Content.ReadAsStringAsync());
        }

        orderIds = [.. orderIds, lateOrder];

        await WaitUntilAsync(async () => await CompletedAsync(orderIds) == orderIds.Length, done.Token);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: all {orderIds.Length} completed");
        await done.CancelAsync();
        await warehouse;
        await Task.WhenAll(handled.Values);

        var notCompleted = await QueryAsync<string>(
            "SELECT id || ' is ' || status FROM orders WHERE id = ANY(@orderIds) AND status <> 'completed'", new { orderIds });
        Assert.Empty(notCompleted);
        Assert.Empty(await QueryAsync<string>(
            """
            SELECT o.id || ': ' || count(p.id) || ' payments, captured ' || coalesce(sum(p.captured_amount), 0)
            FROM orders o LEFT JOIN payments p ON p.order_id = o.id
            WHERE o.id = ANY(@orderIds)
            GROUP BY o.id HAVING count(p.id) <> 1 OR coalesce(sum(p.captured_amount), 0) <> @Price
            """,
            new { orderIds, Price }));
        Assert.Empty(await QueryAsync<string>(
            """
            SELECT o.id || ': ' || count(e.id) || ' capture entries' FROM orders o LEFT JOIN ledger_entries e ON e.order_id = o.id AND e.kind = 'capture'
            WHERE o.id = ANY(@orderIds) GROUP BY o.id HAVING count(e.id) <> 1
            """,
            new { orderIds }));
        Assert.Empty(await QueryAsync<string>(
            """
            SELECT s.id || ': ' || count(l.id) || ' labels' FROM shipments s LEFT JOIN labels l ON l.shipment_id = s.id
            WHERE s.order_id = ANY(@orderIds) GROUP BY s.id HAVING count(l.id) <> 1 OR bool_or(l.voided)
            """,
            new { orderIds }));
        Assert.Empty(await QueryAsync<string>(
            """
            SELECT o.id || ': ' || coalesce(sum(r.quantity), 0) || ' units committed' FROM orders o
            LEFT JOIN inventory_reservations r ON r.order_id = o.id AND r.status = 'committed'
            WHERE o.id = ANY(@orderIds) GROUP BY o.id HAVING coalesce(sum(r.quantity), 0) <> 1
            """,
            new { orderIds }));
        Assert.Empty(await QueryAsync<string>(
            """
            SELECT aggregate_id || ' ' || event_type || ' x' || count(*) FROM outbox_events
            WHERE aggregate_id = ANY(@orderIds) GROUP BY aggregate_id, event_type, payload::text HAVING count(*) > 1
            """,
            new { orderIds }));
        foreach (var orderId in orderIds)
        {
            await AssertNothingHappenedTwiceAsync($"order-{orderId}");
        }
    }

    /// <summary>The station acknowledges the job, then the carrier scans the parcel in transit and delivered.</summary>
    private async Task PrintAndShipAsync(string jobId, string stationId, string shipmentId, CancellationToken cancellationToken)
    {
        await WaitUntilAsync(
            async () =>
            {
                using var ack = await PostAsync(Warehouse, $"/print-jobs/{jobId}/ack", new { stationId });
                return ack.StatusCode == HttpStatusCode.Accepted;
            },
            cancellationToken);
        foreach (var status in new[] { "in_transit", "delivered" })
        {
            await WaitUntilAsync(() => ScanAsync(shipmentId, status), cancellationToken);
        }
    }

    /// <summary>The carrier sandbox sends its signed tracking webhook; false when the gateway did not take it (a carrier retries).</summary>
    private async Task<bool> ScanAsync(string shipmentId, string status)
    {
        var (carrier, labelId) = await QuerySingleAsync<(string, string)>(
            "SELECT carrier, carrier_label_id FROM labels WHERE shipment_id = @shipmentId AND NOT voided", new { shipmentId });
        using var sandbox = new HttpClient { BaseAddress = System.Sandboxes.BaseAddress };
        using var sent = await sandbox.PostAsJsonAsync(new Uri($"carriers/{carrier}/sandbox/labels/{labelId}/events", UriKind.Relative), new { status });
        return sent.IsSuccessStatusCode && (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("delivered").GetBoolean();
    }

    private async Task<long> CompletedAsync(string[] orderIds) =>
        await ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = ANY(@orderIds) AND status = 'completed'", new { orderIds });

    private async Task<string> StatusesAsync(string[] orderIds) => string.Join(", ", await QueryAsync<string>(
        "SELECT status || ' ' || count(*) FROM orders WHERE id = ANY(@orderIds) GROUP BY status ORDER BY status", new { orderIds }));

    /// <summary>Tries <paramref name="condition"/> every half second until it holds: a poll, or a retry of what an outage refused.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        while (!await condition())
        {
            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>A run's history has ids 1..n without a gap, and no activity, timer or child finished twice.</summary>
    private async Task AssertNothingHappenedTwiceAsync(string workflowId)
    {
        var events = (await System.TemporalClient.GetWorkflowHandle(workflowId).FetchHistoryAsync()).Events;
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.EventId));
        Assert.Single(events, e => e.EventType == EventType.WorkflowExecutionCompleted);
        var finished = events.Select(e => e.ActivityTaskCompletedEventAttributes?.ScheduledEventId
                ?? e.ActivityTaskFailedEventAttributes?.ScheduledEventId
                ?? e.TimerFiredEventAttributes?.StartedEventId
                ?? e.ChildWorkflowExecutionCompletedEventAttributes?.InitiatedEventId)
            .Where(id => id is not null).ToList();
        Assert.Equal(finished.Distinct().Count(), finished.Count);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Stateset.Testing.EndToEnd;
using Temporalio.Api.Enums.V1;
using Xunit.Abstractions;

namespace Stateset.EndToEnd.Tests;

/// <summary>
/// The system under faults: every activity of every workflow made to fail for good in turn, and a worker that
/// disappears in the middle of a payment authorisation.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class FaultTests(StatesetSystem system, ITestOutputHelper output) : EndToEndTest(system)
{
    private const int ConcurrentCases = 6;

    /// <summary>Statuses a run closes with when nothing went wrong.</summary>
    private static readonly HashSet<string> Successes = new(StringComparer.Ordinal) { "completed", "refunded", "closed", "printed", "label_ready" };

    /// <summary>
    /// The compensations that alone keep an invariant true: when one of them is the step broken on purpose, that
    /// invariant cannot hold for its run, and everything else must.
    /// </summary>
    private static readonly Dictionary<string, string[]> Guards = new(StringComparer.Ordinal)
    {
        ["ReleaseInventory"] = [DatabaseInvariants.Reservations],
        ["VoidPayment"] = [DatabaseInvariants.Authorisations],
        ["VoidLabel"] = [DatabaseInvariants.UnshippedLabels, DatabaseInvariants.ReturnLabels],
    };

    private delegate Task<string> Scenario(string token);

    [Fact]
    public async Task Faults_EachActivityOfEachWorkflowFailingForGood_StillClosesTheRunAndItsReadModel()
    {
        var scenarios = new (string Name, Scenario Drive)[]
        {
            ("order delivered", OrderDeliveredAsync),
            ("order declined", token => OrderAsync(token, "4000000000000002", risky: false)),
            ("order rejected by an operator", OrderRejectedAsync),
            ("order cancelled while its label prints", OrderCancelledWhilePrintingAsync),
            ("refund approved by an operator", RefundApprovedAsync),
            ("return received, inspected and refunded", ReturnRefundedAsync),
        };

        // The table: every (workflow, activity) pair the scenarios reach when nothing fails, each with the first
        // scenario that reaches it. A scenario that gets stuck without faults is a failure of its own, and the pairs
        // it reached before it stuck still make cases.
        var failures = new ConcurrentBag<string>();
        var observed = await Task.WhenAll(scenarios.Select(async scenario =>
        {
            var token = NewId("fo");
            System.Faults.Observe(token);
            try
            {
                await WaitForWorkflowToCloseAsync(await scenario.Drive(token));
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                failures.Add($"{scenario.Name} without any fault ({token}): {Short(e.Message)}");
            }

            return (scenario, Calls: System.Faults.Observed(token));
        }));
        var table = observed
            .SelectMany(o => o.Calls.Distinct().Select(call => (Call: call, o.scenario)))
            .GroupBy(c => c.Call, StringComparer.Ordinal)
            .Select(g => (WorkflowType: g.Key.Split('/')[0], Activity: g.Key.Split('/')[1], Scenario: g.First().scenario))
            .ToList();
        var reached = table.Select(c => c.Activity).ToHashSet(StringComparer.Ordinal);
        foreach (var forgotten in System.RegisteredActivities.Where(a => !reached.Contains(a)))
        {
            failures.Add($"no scenario reaches the registered activity {forgotten}: add one that does");
        }

        foreach (var forgotten in System.RegisteredWorkflows.Where(w => !table.Any(c => c.WorkflowType == w)))
        {
            failures.Add($"no scenario runs the registered workflow {forgotten}: add one that does");
        }

        output.WriteLine($"{table.Count} (workflow, activity) cases from {scenarios.Length} scenarios");

        using var slots = new SemaphoreSlim(ConcurrentCases);
        await Task.WhenAll(table.Select(async c =>
        {
            await slots.WaitAsync();
            try
            {
                var token = NewId("fx");
                foreach (var check in Guards.GetValueOrDefault(c.Activity, []))
                {
                    Exempt(check, token);
                }

                System.Faults.FailOnce(token, c.WorkflowType, c.Activity);
                var what = $"{c.Activity} failing in {c.WorkflowType} ({c.Scenario.Name}, {token})";
                try
                {
                    var workflowId = await c.Scenario.Drive(token);
                    var closed = await WaitForWorkflowToCloseAsync(workflowId);
                    if (!System.Faults.Triggered(token))
                    {
                        failures.Add($"{what}: the fault was never reached");
                    }

                    var row = await QuerySingleOrDefaultRowAsync(workflowId);
                    if (row is null)
                    {
                        failures.Add($"{what}: the run closed ({closed}) without a read-model row");
                    }
                    else if (row.Value.ClosedAt is null)
                    {
                        failures.Add($"{what}: the run closed ({closed}) but its read-model row stays '{row.Value.Status}' at '{row.Value.Stage}'");
                    }
                    else if (!Successes.Contains(row.Value.Status) && !(row.Value.Details.Contains("\"reason\"", StringComparison.Ordinal) || row.Value.Details.Contains("\"failure\"", StringComparison.Ordinal)))
                    {
                        failures.Add($"{what}: the read-model row closed as '{row.Value.Status}' without a reason");
                    }
                }
                catch (Exception e) when (e is TimeoutException or InvalidOperationException or HttpRequestException)
                {
                    failures.Add($"{what}: {Short(e.Message)}");
                }
            }
            finally
            {
                slots.Release();
            }
        }));

        foreach (var failure in failures.Order(StringComparer.Ordinal))
        {
            output.WriteLine(failure);
        }

        Assert.True(failures.IsEmpty, $"{failures.Count} failures over {table.Count} fault cases:\n{string.Join("\n", failures.Order(StringComparer.Ordinal))}");
    }

    [Fact]
    public async Task Faults_WorkerRestartedMidAuthorisation_OrderProceedsWithinAMinute()
    {
        var sku = await NewSkuAsync();
        var customer = await NewCustomerAsync();
        var orderId = NewId("o");

        // The first attempt to reach the provider hangs and never answers, as on a worker that died mid-call.
        var held = System.Faults.HoldOnceAsync(orderId, name => name.Contains("Authori", StringComparison.Ordinal));
        using var placed = await PostAsync(Storefront, "/orders", OrderBody(orderId, customer, sku), orderId);
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);
        await held.WaitAsync(Patience);
        await System.RestartWorkerAsync();
        var restarted = Stopwatch.StartNew();

        var moved = await WaitForAsync(
            $"/orders/{orderId}", view => IsClosed(view) || StageOf(view) is "printing label" or "awaiting shipment", TimeSpan.FromMinutes(1));
        restarted.Stop();

        Assert.False(IsClosed(moved), moved.ToString());
        output.WriteLine($"order moved on {restarted.Elapsed.TotalSeconds:F1} s after the worker restarted");
        Assert.Equal("authorized", await ScalarAsync<string>("SELECT status FROM payments WHERE order_id = @orderId", new { orderId }) is "authorized" or "captured" ? "authorized" : "not authorised");
        await PrintLabelAsync(orderId);
        await CarrierScanAsync($"{orderId}-1", "delivered");
        Assert.Equal("completed", StatusOf(await WaitClosedAsync($"/orders/{orderId}")));
    }

    private static string Short(string message) => message.Length <= 300 ? message : message[..300] + "…";

    private async Task<string> OrderAsync(string token, string card, bool risky)
    {
        var sku = await NewSkuAsync(price: risky ? 5200m : 60m);
        using var placed = await PostAsync(Storefront, "/orders", OrderBody(token, await NewCustomerAsync(), sku, card), token);
        return $"order-{token}";
    }

    private async Task<string> OrderDeliveredAsync(string token)
    {
        var workflowId = await OrderAsync(token, GoodCard, risky: false);
        if (await PrintIfWaitingAsync(token) && await ReachesAsync($"/orders/{token}", workflowId, "awaiting shipment"))
        {
            await ScanIfLiveAsync($"{token}-1", "in_transit");
            await ScanIfLiveAsync($"{token}-1", "delivered");
        }

        return workflowId;
    }

    private async Task<string> OrderRejectedAsync(string token)
    {
        var workflowId = await OrderAsync(token, GoodCard, risky: true);
        if (await AwaitsOperatorAsync($"/orders/{token}", workflowId))
        {
            using var rejected = await PostAsync(Operator, $"/orders/{token}/reject", new { reason = "fault table" });
        }

        return workflowId;
    }

    private async Task<string> OrderCancelledWhilePrintingAsync(string token)
    {
        var workflowId = await OrderAsync(token, GoodCard, risky: false);
        if (await LabelWaitsForStationAsync(token) is not null)
        {
            using var cancelled = await PostAsync(Storefront, $"/orders/{token}/cancel", new { reason = "fault table" });

            // The cancel interrupts the label run, which voids its label without waiting for the station. No
            // acknowledgement is sent: one could reach the label run before the order's cancel does and print it,
            // which takes the order's own void instead, and the case would not reach the fault it was made for.
            await UntilAsync($"/labels/{token}-1", $"label-{token}-1", _ => false);
        }

        return workflowId;
    }

    private async Task<string> RefundApprovedAsync(string token)
    {
        var customer = await NewCustomerAsync();
        var orderId = await DeliveredOrderAsync(customer, await NewSkuAsync(price: 300m));
        using var started = await PostAsync(
            Storefront, "/refunds", new { refundId = token, orderId, customerId = customer, amount = 150m, currency = "USD", reason = "fault table" }, token);
        if (await AwaitsOperatorAsync($"/refunds/{token}", $"refund-{token}"))
        {
            using var approved = await PostAsync(Operator, $"/refunds/{token}/approve", new { reason = "fault table" });
        }

        return $"refund-{token}";
    }

    private async Task<string> ReturnRefundedAsync(string token)
    {
        var customer = await NewCustomerAsync();
        var sku = await NewSkuAsync(price: 200m);
        var orderId = await DeliveredOrderAsync(customer, sku);
        var path = $"/returns/{token}";
        using var requested = await PostAsync(
            Storefront, "/returns", new { returnId = token, orderId, customerId = customer, lines = new[] { new { sku, quantity = 1, condition = "new" } } }, token);
        if (await AwaitsOperatorAsync(path, $"rma-{token}"))
        {
            using var approved = await PostAsync(Operator, $"/returns/{token}/approve", new { reason = "fault table" });
        }

        if (await ReachesAsync(path, $"rma-{token}", "awaiting receipt"))
        {
            using var received = await PostAsync(Warehouse, $"/returns/{token}/received", new { note = "fault table" });
        }

        if (await ReachesAsync(path, $"rma-{token}", "awaiting inspection"))
        {
            using var inspected = await PostAsync(Warehouse, $"/returns/{token}/inspected", new { lines = new[] { new { sku, condition = "new" } } });
        }

        return $"rma-{token}";
    }

    /// <summary>
    /// Waits until the resource's live view meets the condition; null when the resource closes first, or when
    /// <paramref name="workflowId"/> closes while the resource has no view at all (a run that failed before it
    /// wrote its read-model row, a child that never started).
    /// </summary>
    private async Task<JsonElement?> UntilAsync(string path, string workflowId, Func<JsonElement, bool> condition)
    {
        var handle = System.Temporal.Client.GetWorkflowHandle(workflowId);
        var deadline = DateTime.UtcNow + Patience;
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await Storefront.GetAsync(new Uri(path, UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var view = JsonDocument.Parse(last).RootElement.Clone();
                if (IsClosed(view))
                {
                    return null;
                }

                if (condition(view))
                {
                    return view;
                }
            }
            else if ((await handle.DescribeAsync()).Status != WorkflowExecutionStatus.Running)
            {
                return null;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{path} never reached the expected state; last answer: {last}");
    }

    private async Task<bool> ReachesAsync(string path, string workflowId, string stage) =>
        await UntilAsync(path, workflowId, v => StageOf(v) == stage) is not null;

    /// <summary>Waits until the run waits for an operator's decision (true) or closes first (false).</summary>
    private async Task<bool> AwaitsOperatorAsync(string path, string workflowId) =>
        await UntilAsync(path, workflowId, v => v.GetProperty("status").TryGetProperty("pendingApproval", out var pending) && pending.ValueKind == JsonValueKind.Object) is not null;

    private async Task<(string Id, string StationId)?> LabelWaitsForStationAsync(string orderId)
    {
        var workflowId = $"order-{orderId}";
        if (!await ReachesAsync($"/orders/{orderId}", workflowId, "printing label"))
        {
            return null;
        }

        // The stage is published before the print job is queued: the job is what the station acknowledges.
        var label = await UntilAsync(
            $"/labels/{orderId}-1", workflowId, v => v.GetProperty("status").TryGetProperty("printJob", out var job) && job.ValueKind == JsonValueKind.Object);
        if (label is not { } view)
        {
            return null;
        }

        var printJob = view.GetProperty("status").GetProperty("printJob");
        return (printJob.GetProperty("id").GetString()!, printJob.GetProperty("stationId").GetString()!);
    }

    private async Task<bool> PrintIfWaitingAsync(string orderId)
    {
        if (await LabelWaitsForStationAsync(orderId) is not { } job)
        {
            return false;
        }

        using var ack = await PostAsync(Warehouse, $"/print-jobs/{job.Id}/ack", new { stationId = job.StationId });
        return true;
    }

    private async Task ScanIfLiveAsync(string shipmentId, string status)
    {
        if (await ScalarAsync<long>("SELECT count(*) FROM labels WHERE shipment_id = @shipmentId AND NOT voided", new { shipmentId }) == 1)
        {
            await CarrierScanAsync(shipmentId, status);
        }
    }

    /// <summary>Waits for Temporal to close the workflow; answers how it closed.</summary>
    private async Task<WorkflowExecutionStatus> WaitForWorkflowToCloseAsync(string workflowId)
    {
        var handle = System.Temporal.Client.GetWorkflowHandle(workflowId);
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            var description = await handle.DescribeAsync();
            if (description.Status is not WorkflowExecutionStatus.Running)
            {
                return description.Status;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{workflowId} is still running after {Patience.TotalSeconds} s");
    }

    private async Task<(string Status, string Stage, DateTime? ClosedAt, string Details)?> QuerySingleOrDefaultRowAsync(string workflowId)
    {
        var rows = await QueryAsync<(string, string, DateTime?, string)>(
            "SELECT status, stage, closed_at, details::text FROM workflow_runs WHERE workflow_id = @workflowId", new { workflowId });
        return rows.Count == 1 ? rows[0] : null;
    }
}

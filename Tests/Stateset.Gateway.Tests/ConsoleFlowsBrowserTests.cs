using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The console's day-to-day flows in a real Chromium against the whole system: the orders list, cancelling, the
/// returns desk, the print station, stock and the live feed. Each checks what the page did in the API or the
/// database, not only on the page.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ConsoleFlowsBrowserTests(EndToEndFixture system, ITestOutputHelper output) : ConsoleBrowserTest(system, output)
{
    [ChromiumFact]
    public Task Navigation_ReachesEverySection_AndTheOrdersListSearchesAndFilters() =>
        BrowseAsync(nameof(Navigation_ReachesEverySection_AndTheOrdersListSearchesAndFilters), async (page, errors) =>
        {
            using var storefront = await System.ClientAsync("client");
            using var operatorApi = await System.ClientAsync("operator");
            var first = await PlaceOrderNeedingApprovalAsync(storefront);
            var second = await PlaceOrderNeedingApprovalAsync(storefront);
            await WaitForAsync(storefront, $"/orders/{first}", Pending);
            await WaitForAsync(storefront, $"/orders/{second}", Pending);

            await page.GotoAsync("/console");
            await ConnectAsync(page, operatorApi);
            var nav = page.GetByRole(AriaRole.Navigation, new() { Name = "Sections" });
            foreach (var (link, heading) in new[]
            {
                ("Approvals", "Waiting for approval"), ("Returns", "Returns"), ("Labels & printing", "Labels & printing"),
                ("Stock", "Stock"), ("Live feed", "Live feed"), ("Orders", "Orders"),
            })
            {
                await nav.GetByRole(AriaRole.Link, new() { Name = link }).ClickAsync();
                await Expect(page.GetByRole(AriaRole.Heading, new() { Name = heading, Exact = true })).ToBeVisibleAsync();
                await Expect(nav.Locator("[aria-current=page]")).ToContainTextAsync(link);
            }

            // Search by id: exactly that order, as the API finds it.
            var view = page.Locator("#view-orders");
            var rows = page.Locator("#orders tr");
            var exact = new LocatorGetByLabelOptions { Exact = true };
            await view.GetByLabel("Search", exact).FillAsync(first);
            await view.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(rows.First).ToContainTextAsync(first);
            await Expect(rows.First).ToContainTextAsync("awaiting approval");
            var found = await operatorApi.GetFromJsonAsync<JsonElement>(new Uri($"/orders?q={first}", UriKind.Relative));
            Assert.Equal([first], found.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()));

            // Filters: status, customer and today's date range; newest first, as the API pages them.
            var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            await view.GetByLabel("Search", exact).FillAsync(string.Empty);
            await view.GetByLabel("Status", exact).SelectOptionAsync("awaiting_approval");
            await view.GetByLabel("Customer", exact).SelectOptionAsync("cus-liam");
            await view.GetByLabel("From", exact).FillAsync(today);
            await view.GetByLabel("To", exact).FillAsync(today);
            await view.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
            var filtered = await operatorApi.GetFromJsonAsync<JsonElement>(new Uri(
                $"/orders?status=awaiting_approval&customerId=cus-liam&from={today}T00:00:00Z&limit=25", UriKind.Relative));
            var expected = filtered.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!).ToList();
            Assert.Equal(second, expected[0]);
            Assert.Contains(first, expected);
            await Expect(rows.First).ToContainTextAsync(second);
            await Expect(rows).ToHaveCountAsync(expected.Count);
            await Expect(rows.Filter(new() { HasNotText = "awaiting approval" })).ToHaveCountAsync(0);
            await ScreenshotAsync(page, "orders-list");
            await view.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
            await Expect(view.GetByLabel("Status", exact)).ToHaveValueAsync(string.Empty);
            await Expect(rows.First).ToContainTextAsync(second);
            await ScreenshotAsync(page, "orders-all");
            await view.GetByLabel("Status", exact).SelectOptionAsync("awaiting_approval");
            await view.GetByLabel("Customer", exact).SelectOptionAsync("cus-liam");
            await view.GetByLabel("From", exact).FillAsync(today);
            await view.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
            await Expect(rows).ToHaveCountAsync(expected.Count);

            // Older pages follow the API's cursor.
            if (filtered.GetProperty("nextCursor").GetString() is { } cursor)
            {
                var older = await operatorApi.GetFromJsonAsync<JsonElement>(new Uri(
                    $"/orders?status=awaiting_approval&customerId=cus-liam&from={today}T00:00:00Z&limit=25&cursor={Uri.EscapeDataString(cursor)}", UriKind.Relative));
                await page.GetByRole(AriaRole.Button, new() { Name = "Older →" }).ClickAsync();
                await Expect(page.Locator("#orders-page")).ToHaveTextAsync("Page 2");
                await Expect(rows.First).ToContainTextAsync(older.GetProperty("items")[0].GetProperty("id").GetString()!);
                await page.GetByRole(AriaRole.Button, new() { Name = "← Newer" }).ClickAsync();
                await Expect(rows.First).ToContainTextAsync(second);
            }

            // A row opens its order, with the Temporal UI link the list carries.
            await rows.First.GetByRole(AriaRole.Link, new() { Name = second }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex($"#/orders/{second}$"));
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Order {second}" })).ToBeVisibleAsync();
            var item = filtered.GetProperty("items")[0];
            await Expect(page.Locator("#run").GetByRole(AriaRole.Link, new() { Name = "Open in Temporal UI ↗" })).ToHaveAttributeAsync("href", item.GetProperty("temporalUiUrl").GetString()!);
            Assert.Empty(errors);

            foreach (var orderId in new[] { first, second })
            {
                using var reject = await operatorApi.PostAsJsonAsync(new Uri($"/orders/{orderId}/reject", UriKind.Relative), new { reason = "test over" });
                Assert.Equal(HttpStatusCode.Accepted, reject.StatusCode);
            }
        });

    [ChromiumFact]
    public Task Operator_CancelsAnOrderFromItsPage_AndItUnwindsLive() =>
        BrowseAsync(nameof(Operator_CancelsAnOrderFromItsPage_AndItUnwindsLive), async (page, errors) =>
        {
            using var storefront = await System.ClientAsync("client");
            using var operatorApi = await System.ClientAsync("operator");
            var orderId = await PlaceOrderNeedingApprovalAsync(storefront);
            await WaitForAsync(storefront, $"/orders/{orderId}", Pending);

            await page.GotoAsync($"/console#/orders/{orderId}");
            await ConnectAsync(page, operatorApi);
            var run = page.Locator("#run");
            await run.GetByLabel("Cancellation reason").FillAsync("customer called to cancel");
            await run.GetByRole(AriaRole.Button, new() { Name = "Cancel order" }).ClickAsync();

            await Expect(page.Locator("#flash")).ToHaveTextAsync($"Cancelling order {orderId}");
            await Expect(run.Locator(".detail-sub")).ToContainTextAsync("Status: cancelled · stage: done");
            await Expect(run.Locator("table.timeline tr", new() { HasText = "requested by e2e-operator: customer called to cancel" })).ToBeVisibleAsync();
            await Expect(run.GetByRole(AriaRole.Button, new() { Name = "Cancel order" })).ToHaveCountAsync(0);
            await ScreenshotAsync(page, "detail-cancelled");

            var closed = StatusOf(await WaitForAsync(storefront, $"/orders/{orderId}", o => !o.GetProperty("live").GetBoolean()));
            Assert.Equal("cancelled", closed.GetProperty("status").GetString());
            Assert.NotEmpty(closed.GetProperty("compensationsRun").EnumerateArray());
            Assert.Equal("cancelled", await ScalarAsync<string>("SELECT status FROM workflow_runs WHERE workflow_id = @id", new { id = $"order-{orderId}" }));
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task ReturnsDesk_ReceivesAParcel_AndRecordsEachLinesCondition() =>
        BrowseAsync(nameof(ReturnsDesk_ReceivesAParcel_AndRecordsEachLinesCondition), async (page, errors) =>
        {
            using var storefront = await System.ClientAsync("client");
            using var operatorApi = await System.ClientAsync("operator");
            var orderId = await PlaceOrderAsync(storefront, "cus-ava", "USD", [("HEADLAMP-400", 1), ("FILTER-SQ", 1)], "ps-reno-1");
            await DeliverAsync(storefront, operatorApi, orderId);
            var returnId = $"ret-{Guid.NewGuid():N}"[..16];
            using (var request = new HttpRequestMessage(HttpMethod.Post, "/returns"))
            {
                request.Headers.Add("Idempotency-Key", returnId);
                request.Content = JsonContent.Create(new
                {
                    returnId,
                    orderId,
                    customerId = "cus-ava",
                    lines = new[] { new { sku = "HEADLAMP-400", quantity = 1, condition = "new" }, new { sku = "FILTER-SQ", quantity = 1, condition = "new" } },
                    reason = "changed my mind",
                });
                using var requested = await storefront.SendAsync(request);
                Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
            }

            var authorised = await WaitForAsync(storefront, $"/returns/{returnId}", r => Pending(r) || StageOf(r) == "awaiting receipt");
            if (Pending(authorised))
            {
                using var approved = await operatorApi.PostAsJsonAsync(new Uri($"/returns/{returnId}/approve", UriKind.Relative), new { reason = "within policy" });
                Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
                await WaitForAsync(storefront, $"/returns/{returnId}", r => StageOf(r) == "awaiting receipt");
            }

            await page.GotoAsync("/console#/returns");
            await ConnectAsync(page, operatorApi);
            await page.Locator("#returns tr", new() { HasText = returnId }).ClickAsync();
            var detail = page.Locator("#return-detail");
            await Expect(detail.GetByRole(AriaRole.Heading, new() { Name = "Receive the parcel" })).ToBeVisibleAsync();
            await ScreenshotAsync(page, "returns-receive");
            await detail.GetByLabel("Receipt note").FillAsync("box intact");
            await detail.GetByRole(AriaRole.Button, new() { Name = "Mark received" }).ClickAsync();

            // The inspection form comes with the run's next step, by its event.
            await Expect(detail.GetByRole(AriaRole.Heading, new() { Name = "Inspect the returned items" })).ToBeVisibleAsync();
            await detail.GetByLabel("Condition of HEADLAMP-400").SelectOptionAsync("opened");
            await detail.GetByLabel("Condition of FILTER-SQ").SelectOptionAsync("damaged");
            await ScreenshotAsync(page, "returns-inspect");
            await detail.GetByRole(AriaRole.Button, new() { Name = "Record inspection" }).ClickAsync();

            await Expect(detail.Locator(".detail-sub")).ToContainTextAsync("Status: closed · stage: done", new() { Timeout = 60_000 });
            await Expect(detail.Locator(".card", new() { HasText = "Inspected" })).ToContainTextAsync("HEADLAMP-400opened");
            await ScreenshotAsync(page, "returns-closed");

            var closed = StatusOf(await WaitForAsync(storefront, $"/returns/{returnId}", r => !r.GetProperty("live").GetBoolean()));
            Assert.Equal("box intact", closed.GetProperty("receipt").GetProperty("note").GetString());
            Assert.Equal("e2e-operator", closed.GetProperty("receipt").GetProperty("receivedBy").GetString());
            var inspected = closed.GetProperty("inspection").GetProperty("lines").EnumerateArray()
                .ToDictionary(l => l.GetProperty("sku").GetString()!, l => l.GetProperty("condition").GetString());
            Assert.Equal(new Dictionary<string, string?> { ["HEADLAMP-400"] = "opened", ["FILTER-SQ"] = "damaged" }, inspected);
            Assert.Equal("closed", await ScalarAsync<string>("SELECT status FROM returns WHERE id = @returnId", new { returnId }));
            Assert.True(await ScalarAsync<decimal>("SELECT restocking_fee FROM returns WHERE id = @returnId", new { returnId }) > 0m);

            // The refund the return started is a run of its own, with the amount the inspection left.
            var refund = StatusOf(await WaitForAsync(storefront, $"/refunds/{returnId}", r => !r.GetProperty("live").GetBoolean()));
            await page.GotoAsync($"/console#/refunds/{returnId}");
            var run = page.Locator("#run");
            await Expect(run.GetByRole(AriaRole.Heading, new() { Name = $"Refund {returnId}" })).ToBeVisibleAsync();
            await Expect(run.Locator(".detail-sub")).ToContainTextAsync($"Status: {refund.GetProperty("status").GetString()} · stage: done");
            await Expect(run.Locator(".card", new() { HasText = "Refundable" })).ToContainTextAsync($"Amount{refund.GetProperty("amount").GetDecimal().ToString("0.00", CultureInfo.InvariantCulture)} USD");
            await ScreenshotAsync(page, "refund-detail");
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task PrintStation_ShowsTheQueuedJobWithItsPdf_AndMarksItPrinted() =>
        BrowseAsync(nameof(PrintStation_ShowsTheQueuedJobWithItsPdf_AndMarksItPrinted), async (page, errors) =>
        {
            using var storefront = await System.ClientAsync("client");
            using var operatorApi = await System.ClientAsync("operator");
            var orderId = await PlaceOrderAsync(storefront, "cus-ava", "USD", [("STOVE-CAN", 1)], "ps-reno-1");
            var job = await WaitForPrintJobAsync(storefront, operatorApi, orderId);
            var jobId = job.GetProperty("id").GetString()!;
            var shipmentId = $"{orderId}-1";

            await page.GotoAsync("/console#/printing/ps-reno-1");
            await ConnectAsync(page, operatorApi);
            await Expect(page.GetByLabel("Print station")).ToHaveValueAsync("ps-reno-1");
            var row = page.Locator("#jobs tr", new() { HasText = shipmentId });
            await Expect(row).ToBeVisibleAsync();

            // The preview is the label's own PDF, fetched with the key and shown in the page.
            var pdf = page.WaitForResponseAsync(r => r.Url.EndsWith($"/labels/{shipmentId}/label.pdf", StringComparison.Ordinal));
            await row.ClickAsync();
            var answer = await pdf;
            Assert.Equal(200, answer.Status);
            Assert.StartsWith("application/pdf", answer.Headers["content-type"], StringComparison.Ordinal);
            using var file = await operatorApi.GetAsync(new Uri($"/labels/{shipmentId}/label.pdf", UriKind.Relative));
            var bytes = await file.Content.ReadAsByteArrayAsync();
            Assert.Equal("%PDF-"u8.ToArray(), bytes[..5]);
            var detail = page.Locator("#job-detail");
            await Expect(detail.GetByRole(AriaRole.Heading, new() { Name = $"Shipment {shipmentId}" })).ToBeVisibleAsync();
            var preview = detail.Locator("iframe.preview");
            await Expect(preview).ToHaveAttributeAsync("data-loaded", "pdf");
            await Expect(preview).ToHaveAttributeAsync("src", new Regex("^blob:"));
            await Expect(preview).ToHaveAttributeAsync("data-bytes", bytes.Length.ToString(CultureInfo.InvariantCulture));
            await Expect(detail).ToContainTextAsync(job.GetProperty("id").GetString()!);
            await ScreenshotAsync(page, "printing", settle: TimeSpan.FromSeconds(8));

            await detail.GetByRole(AriaRole.Button, new() { Name = "Mark printed" }).ClickAsync();
            await Expect(page.Locator("#flash")).ToHaveTextAsync($"Marked printed: shipment {shipmentId}");
            await Expect(row).ToHaveCountAsync(0);
            await Expect(page.Locator("#printed tr", new() { HasText = shipmentId })).ToBeVisibleAsync();

            var queued = await operatorApi.GetFromJsonAsync<JsonElement>(new Uri("/print-stations/ps-reno-1/jobs?status=queued&limit=200", UriKind.Relative));
            Assert.DoesNotContain(queued.GetProperty("items").EnumerateArray(), j => j.GetProperty("id").GetString() == jobId);
            Assert.Equal("printed", await ScalarAsync<string>("SELECT status FROM print_jobs WHERE id = @jobId", new { jobId }));
            await WaitForAsync(storefront, $"/labels/{shipmentId}", l => StageOf(l) != "waiting for print station");

            // The printed label's own run: its rate, label and print job, read from the API.
            await page.Locator("#printed").GetByRole(AriaRole.Link, new() { Name = shipmentId }).ClickAsync();
            var run = page.Locator("#run");
            await Expect(run.GetByRole(AriaRole.Heading, new() { Name = $"Label {shipmentId}" })).ToBeVisibleAsync();
            await Expect(run.Locator(".card", new() { HasText = "Print job" })).ToContainTextAsync(jobId);
            var tracking = await ScalarAsync<string>("SELECT tracking_number FROM labels WHERE shipment_id = @shipmentId", new { shipmentId });
            await Expect(run.Locator(".card", new() { HasText = "Carrier label" })).ToContainTextAsync($"Tracking{tracking}");
            await Expect(run.GetByRole(AriaRole.Button, new() { Name = "Mark printed" })).ToHaveCountAsync(0);
            await ScreenshotAsync(page, "label-detail");
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task Stock_ShowsEachLocationsBalance_AndHighlightsWhatIsBelowItsReorderPoint() =>
        BrowseAsync(nameof(Stock_ShowsEachLocationsBalance_AndHighlightsWhatIsBelowItsReorderPoint), async (page, errors) =>
        {
            using var operatorApi = await System.ClientAsync("operator");
            var sku = $"SKU-{Guid.NewGuid():N}"[..16].ToUpperInvariant();
            await ExecuteAsync(
                """
                INSERT INTO products (sku, name, weight_grams, length_mm, width_mm, height_mm, returnable, return_window_days)
                VALUES (@sku, 'Console stock item', 300, 100, 100, 100, true, 30);
                INSERT INTO inventory_balances (location_id, sku, on_hand, allocated, reorder_point) VALUES
                    ('wh-reno', @sku, 6, 2, 10), ('wh-mississauga', @sku, 40, 0, 10);
                """,
                new { sku });

            await page.GotoAsync("/console#/stock");
            await ConnectAsync(page, operatorApi);
            var view = page.Locator("#view-stock");
            var exact = new LocatorGetByLabelOptions { Exact = true };
            await view.GetByLabel("SKU", exact).FillAsync(sku);
            await view.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
            var rows = page.Locator("#stock tr");
            await Expect(rows).ToHaveCountAsync(2);
            var reno = rows.Filter(new() { HasText = "wh-reno" });
            var mississauga = rows.Filter(new() { HasText = "wh-mississauga" });
            await Expect(reno).ToHaveClassAsync("low");
            await Expect(reno).ToContainTextAsync("below reorder point");
            await Expect(reno.Locator("td.num")).ToHaveTextAsync(["6", "2", "4 below reorder point", "10"]);
            await Expect(mississauga).Not.ToHaveClassAsync("low");
            await Expect(mississauga).Not.ToContainTextAsync("below reorder point");

            await view.GetByLabel("Below reorder point only").CheckAsync();
            await view.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(rows.First).ToContainTextAsync("wh-reno");

            // The whole list, below-reorder rows highlighted, for the picture.
            await view.GetByLabel("SKU", exact).FillAsync(string.Empty);
            await view.GetByLabel("Below reorder point only").UncheckAsync();
            await view.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
            await Expect(page.Locator("#stock-summary")).ToContainTextAsync("below reorder point");
            await ScreenshotAsync(page, "stock");

            var stock = await operatorApi.GetFromJsonAsync<JsonElement>(new Uri($"/inventory?sku={sku}", UriKind.Relative));
            var low = stock.EnumerateArray().ToDictionary(s => s.GetProperty("locationId").GetString()!, s => s.GetProperty("belowReorderPoint").GetBoolean());
            Assert.Equal(new Dictionary<string, bool> { ["wh-reno"] = true, ["wh-mississauga"] = false }, low);
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task LiveFeed_ShowsAnOrdersEventsAsTheyHappen_AndLinksToTheOrder() =>
        BrowseAsync(nameof(LiveFeed_ShowsAnOrdersEventsAsTheyHappen_AndLinksToTheOrder), async (page, errors) =>
        {
            using var storefront = await System.ClientAsync("client");
            using var operatorApi = await System.ClientAsync("operator");
            await page.GotoAsync("/console#/feed");
            await ConnectAsync(page, operatorApi);
            await Expect(page.GetByText("Events appear here as they happen.")).ToBeVisibleAsync();

            var orderId = await PlaceOrderNeedingApprovalAsync(storefront);
            var placed = page.Locator("#feed tr", new() { HasText = "order.placed" }).Filter(new() { HasText = orderId });
            await Expect(placed).ToBeVisibleAsync();
            await Expect(page.Locator("#feed tr", new() { HasText = "approval.requested" }).Filter(new() { HasText = orderId })).ToBeVisibleAsync();

            // The filter keeps only this order's events.
            await page.Locator("#view-feed").GetByLabel("Filter", new() { Exact = true }).FillAsync(orderId);
            await Expect(page.Locator("#feed tr:visible").Filter(new() { HasNotText = orderId })).ToHaveCountAsync(0);
            await ScreenshotAsync(page, "feed");
            Assert.Equal(1L, await ScalarAsync<long>(
                "SELECT count(*) FROM outbox_events WHERE aggregate_type = 'order' AND aggregate_id = @orderId AND event_type = 'order.placed'", new { orderId }));

            await placed.GetByRole(AriaRole.Link).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Order {orderId}" })).ToBeVisibleAsync();
            Assert.Empty(errors);

            using var reject = await operatorApi.PostAsJsonAsync(new Uri($"/orders/{orderId}/reject", UriKind.Relative), new { reason = "test over" });
            Assert.Equal(HttpStatusCode.Accepted, reject.StatusCode);
        });
}

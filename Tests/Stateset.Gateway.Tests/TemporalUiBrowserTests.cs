using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The real Temporal Web UI, served by the embedded server, in a real Chromium, used as a developer uses it on an
/// order the whole system runs: find the run, read its history, query it, signal it, terminate it.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TemporalUiBrowserTests(EndToEndFixture system, ITestOutputHelper output)
{
    private const string Namespace = "default";

    [ChromiumFact]
    public Task StartedOrder_AppearsInTheList_IsFoundByOrderId_AndTheStartAnswerLinksToItsRun() =>
        BrowseAsync(nameof(StartedOrder_AppearsInTheList_IsFoundByOrderId_AndTheStartAnswerLinksToItsRun), async (page, errors) =>
        {
            using var storefront = await system.ClientAsync("client");
            var (orderId, started) = await PlaceOrderNeedingApprovalAsync(storefront);

            await page.GotoAsync($"namespaces/{Namespace}/workflows");
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = $"order-{orderId}", Exact = true })).ToBeVisibleAsync();

            // The search the README gives: the OrderId search attribute, as the UI's search bar writes it in the URL.
            await page.GotoAsync($"namespaces/{Namespace}/workflows?query={Uri.EscapeDataString($"OrderId = \"{orderId}\"")}");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "1 Workflow", Exact = true })).ToBeVisibleAsync();
            var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = $"order-{orderId}" });
            await Expect(row).ToHaveCountAsync(1);
            await Expect(row).ToContainTextAsync("OrderFulfillmentWorkflow");

            var link = started.GetProperty("temporalUiUrl").GetString()!;
            Assert.StartsWith(system.TemporalUiAddress!.ToString(), link, StringComparison.Ordinal);
            await page.GotoAsync(link);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"order-{orderId}" })).ToBeVisibleAsync();
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/workflows/order-{orderId}/{started.GetProperty("runId").GetString()}/history$"));
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task RunHistory_ShowsTheOrdersActivitiesInTheOrderTheyRan() =>
        BrowseAsync(nameof(RunHistory_ShowsTheOrdersActivitiesInTheOrderTheyRan), async (page, errors) =>
        {
            using var storefront = await system.ClientAsync("client");
            var (orderId, _) = await PlaceOrderNeedingApprovalAsync(storefront);
            await WaitForOrderAsync(storefront, orderId, view => Stage(view) == "awaiting approval");
            var history = await system.TemporalClient.GetWorkflowHandle($"order-{orderId}").FetchHistoryAsync();
            var activities = history.Events
                .Where(e => e.EventType == EventType.ActivityTaskScheduled)
                .Select(e => e.ActivityTaskScheduledEventAttributes.ActivityType.Name)
                .ToList();
            // The steps on our own database are local activities (markers); the provider's calls are activities.
            Assert.Contains("CreatePaymentAuthorization", activities);

            await page.GotoAsync($"namespaces/{Namespace}/workflows/order-{orderId}");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"order-{orderId}" })).ToBeVisibleAsync();

            // Oldest first, then read the event table the way a person does, top to bottom.
            await page.GetByRole(AriaRole.Button, new() { Name = "Descending" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Ascending" })).ToBeVisibleAsync();
            var table = page.Locator("table").Last;
            await Expect(table).ToContainTextAsync(activities[^1]);
            var text = await table.InnerTextAsync();
            var position = 0;
            foreach (var activity in activities)
            {
                var found = text.IndexOf(activity, position, StringComparison.Ordinal);
                Assert.True(found >= 0, $"{activity} is not shown after position {position} of the history table:\n{text}");
                position = found + activity.Length;
            }

            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task StatusQuery_SentFromTheUi_ReturnsTheOrdersTimeline() =>
        BrowseAsync(nameof(StatusQuery_SentFromTheUi_ReturnsTheOrdersTimeline), async (page, errors) =>
        {
            using var storefront = await system.ClientAsync("client");
            var (orderId, started) = await PlaceOrderNeedingApprovalAsync(storefront);
            await WaitForOrderAsync(storefront, orderId, view => Stage(view) == "awaiting approval");

            await page.GotoAsync($"namespaces/{Namespace}/workflows/order-{orderId}/{started.GetProperty("runId").GetString()}/query");
            // Status is the workflow's first query, so the UI preselects it.
            await Expect(page.GetByText("Query Type")).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Run Query" }).ClickAsync();
            var result = page.Locator(".cm-content").Last;
            await Expect(result).ToContainTextAsync("\"Timeline\"");
            await Expect(result).ToContainTextAsync("\"Stage\": \"awaiting approval\"");
            await Expect(result).ToContainTextAsync("\"Step\": \"reserve inventory\"");
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task Signal_SentFromTheUi_ApprovesTheWaitingOrder_AndTheOrderMovesOn() =>
        BrowseAsync(nameof(Signal_SentFromTheUi_ApprovesTheWaitingOrder_AndTheOrderMovesOn), async (page, errors) =>
        {
            using var storefront = await system.ClientAsync("client");
            var (orderId, _) = await PlaceOrderNeedingApprovalAsync(storefront);
            await WaitForOrderAsync(storefront, orderId, view => Stage(view) == "awaiting approval");

            await page.GotoAsync($"namespaces/{Namespace}/workflows/order-{orderId}");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"order-{orderId}" })).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Workflow Actions" }).ClickAsync();
            await page.GetByRole(AriaRole.Menuitem, new() { Name = "Send a Signal" }).ClickAsync();
            var dialog = page.GetByRole(AriaRole.Dialog).Filter(new() { HasText = "Send a Signal", Visible = true });

            // The signal names come from the worker (the metadata query), which the UI asks once it sees a poller.
            await dialog.Locator("button[aria-controls='signal-select-select']").ClickAsync();
            await page.GetByRole(AriaRole.Option, new() { Name = "Approve", Exact = true }).ClickAsync();
            await dialog.Locator(".cm-content").FillAsync("""{"DecidedBy":"ui-developer","Reason":"approved in the Temporal UI"}""");
            await dialog.GetByRole(AriaRole.Button, new() { Name = "Submit" }).ClickAsync();
            await Expect(page.GetByText("Workflow signaled.")).ToBeVisibleAsync();

            var order = await WaitForOrderAsync(storefront, orderId, view => Stage(view) != "awaiting approval");
            var decision = order.GetProperty("status").GetProperty("decision");
            Assert.Equal("approved", decision.GetProperty("outcome").GetString());
            Assert.Equal("ui-developer", decision.GetProperty("decidedBy").GetString());
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task Terminate_FromTheUi_EndsTheRun() =>
        BrowseAsync(nameof(Terminate_FromTheUi_EndsTheRun), async (page, errors) =>
        {
            using var storefront = await system.ClientAsync("client");
            var (orderId, _) = await PlaceOrderNeedingApprovalAsync(storefront);
            await WaitForOrderAsync(storefront, orderId, view => Stage(view) == "awaiting approval");

            await page.GotoAsync($"namespaces/{Namespace}/workflows/order-{orderId}");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"order-{orderId}" })).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Workflow Actions" }).ClickAsync();
            await page.GetByRole(AriaRole.Menuitem, new() { Name = "Terminate" }).ClickAsync();
            var dialog = page.GetByRole(AriaRole.Dialog).Filter(new() { HasText = "Terminate Workflow", Visible = true });
            await dialog.GetByRole(AriaRole.Textbox).First.FillAsync("test order, ended from the Temporal UI");
            await dialog.GetByRole(AriaRole.Button, new() { Name = "Terminate" }).ClickAsync();
            await Expect(page.GetByText("Workflow terminated.")).ToBeVisibleAsync();
            await Expect(page.GetByText("Terminated").First).ToBeVisibleAsync();

            var description = await system.TemporalClient.GetWorkflowHandle($"order-{orderId}").DescribeAsync();
            Assert.Equal(WorkflowExecutionStatus.Terminated, description.Status);
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task WorkflowIdContainingASlash_OpensFromTheList() =>
        BrowseAsync(nameof(WorkflowIdContainingASlash_OpensFromTheList), async (page, errors) =>
        {
            // Nobody polls this queue: the run stays open with its first workflow task pending, which is all the page needs.
            var id = $"ui/slash/{Guid.NewGuid():N}";
            var handle = await system.TemporalClient.StartWorkflowAsync(
                "NotRunAnywhere", [], new WorkflowOptions(id, $"nobody-{Guid.NewGuid():N}"));
            try
            {
                await page.GotoAsync($"namespaces/{Namespace}/workflows?query={Uri.EscapeDataString($"WorkflowId = \"{id}\"")}");
                await page.GetByRole(AriaRole.Link, new() { Name = id, Exact = true }).ClickAsync();
                await Expect(page.GetByRole(AriaRole.Heading, new() { Name = id })).ToBeVisibleAsync();
                await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/workflows/ui%2Fslash%2F{id[9..]}/{handle.ResultRunId}/history$"));
                await Expect(page.GetByText("NotRunAnywhere").First).ToBeVisibleAsync();
                Assert.Empty(errors);
            }
            finally
            {
                await handle.TerminateAsync("test over");
            }
        });

    private static string? Stage(JsonElement view) => view.GetProperty("status").GetProperty("stage").GetString();

    /// <summary>
    /// Places an order the risk check sends to an operator whatever the customer's history: 141 gift cards,
    /// 7050 CAD, reach the very-high-amount rule on their own, and gift cards never run out of stock.
    /// </summary>
    private static async Task<(string OrderId, JsonElement Started)> PlaceOrderNeedingApprovalAsync(HttpClient storefront)
    {
        var orderId = $"o-{Guid.NewGuid():N}"[..14];
        using var body = JsonContent.Create(new
        {
            orderId,
            customerId = "cus-liam",
            currency = "CAD",
            lines = new[] { new { sku = "GIFT-CARD", quantity = 141 } },
            shippingAddress = new { name = "Liam Tremblay", line1 = "290 Bremner Blvd", city = "Toronto", region = "ON", postalCode = "M5V 3L9", country = "CA" },
            paymentMethod = "4242424242424242",
        });
        using var place = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = body };
        place.Headers.Add("Idempotency-Key", orderId);
        using var placed = await storefront.SendAsync(place);
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);
        return (orderId, await placed.Content.ReadFromJsonAsync<JsonElement>());
    }

    /// <summary>Polls an order's GET until its answer satisfies <paramref name="condition"/>; the system runs on real time.</summary>
    private static async Task<JsonElement> WaitForOrderAsync(HttpClient client, string orderId, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var view = await client.GetFromJsonAsync<JsonElement>(new Uri($"/orders/{orderId}", UriKind.Relative));
            if (condition(view))
            {
                return view;
            }

            Assert.True(DateTime.UtcNow < deadline, $"order {orderId} never reached the expected state; last answer: {view}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Runs <paramref name="steps"/> on a fresh Chromium page against the Temporal UI, handing it the page's uncaught
    /// exceptions and failed API calls as they come; saves a screenshot beside the test assembly at the end (the UI
    /// is the subject here, so every screen is kept for a person to look at), and says where on failure.
    /// </summary>
    private async Task BrowseAsync(string testName, Func<IPage, IReadOnlyCollection<string>, Task> steps)
    {
        Assert.True(system.TemporalUiAddress is not null, "no Temporal UI: the embedded server serves one; beside TEMPORAL_ADDRESS set TEMPORAL_UI_URL");
        SetDefaultExpectTimeout(30_000);
        await using var context = await system.NewBrowserContextAsync(new() { BaseURL = system.TemporalUiAddress!.ToString(), ViewportSize = new() { Width = 1400, Height = 1000 } });
        var page = await context.NewPageAsync();
        var errors = new ConcurrentQueue<string>();
        page.PageError += (_, error) => errors.Enqueue(error);
        page.Response += (_, response) =>
        {
            if (response.Url.Contains("/api/v1/", StringComparison.Ordinal) && response.Status >= 500)
            {
                errors.Enqueue($"{response.Status} {response.Url}");
            }
        };
        var screenshot = Path.Combine(AppContext.BaseDirectory, "screenshots", $"TemporalUi-{testName}.png");
        try
        {
            await steps(page, errors);
            await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        }
        catch
        {
            await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
            output.WriteLine($"Screenshot of the page at the failure: {screenshot}");
            output.WriteLine($"Errors: {string.Join(" | ", errors)}");
            throw;
        }
    }
}

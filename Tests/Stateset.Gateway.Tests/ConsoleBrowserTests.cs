using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Playwright;
using Npgsql;
using Stateset.Gateway.Events;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The operator console in a real Chromium, used as an operator uses it, against the whole system: the gateway on
/// a real port, the worker, the sandboxes, PostgreSQL and Temporal. What the page shows comes from the real API
/// and the real Server-Sent-Events stream.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ConsoleBrowserTests(EndToEndFixture system, ITestOutputHelper output)
{
    [ChromiumFact]
    public Task Operator_SeesAnOrderNeedingApprovalArriveLive_ApprovesIt_AndTheOrderMovesOn() =>
        BrowseAsync(nameof(Operator_SeesAnOrderNeedingApprovalArriveLive_ApprovesIt_AndTheOrderMovesOn), async (page, errors) =>
        {
            using var storefront = await system.ClientAsync("client");
            using var operatorApi = await system.ClientAsync("operator");

            await page.GotoAsync("/console");
            await Expect(page.Locator("#login")).ToBeVisibleAsync();
            await Expect(page.Locator("#app")).ToBeHiddenAsync();

            await ConnectAsync(page, operatorApi);
            await Expect(page.Locator("#login")).ToBeHiddenAsync();
            await Expect(page.Locator("#app")).ToBeVisibleAsync();

            // A reload would wipe this mark: finding it later proves the order arrived without one.
            await page.EvaluateAsync("() => { window.sameDocument = true; }");

            var orderId = await PlaceOrderNeedingApprovalAsync(storefront);

            var row = page.Locator("#approvals tr", new() { HasText = $"order {orderId}" });
            await Expect(row).ToBeVisibleAsync();
            await Expect(row).ToContainTextAsync("7050");
            Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"), "the page reloaded");

            await row.ClickAsync();
            var detail = page.Locator("#detail");
            await Expect(detail).ToContainTextAsync("Waiting for approval");
            await detail.GetByPlaceholder("Reason").FillAsync("known customer, confirmed by phone");
            await detail.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();

            await Expect(page.Locator("#status")).ToHaveTextAsync($"Approved order {orderId}");
            await Expect(row).ToHaveCountAsync(0);
            await Expect(detail).ToContainTextAsync("Decision: approved by e2e-operator");
            await Expect(detail.Locator("tr", new() { HasText = "by e2e-operator: known customer" })).ToContainTextAsync("completed");
            await Expect(detail).Not.ToContainTextAsync("Waiting for approval");
            await Expect(detail.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);

            // The read model follows the run's next step; the console already showed the decision from its event.
            var order = (await WaitForOrderAsync(storefront, orderId, o => o.GetProperty("status").GetProperty("stage").GetString() != "awaiting approval")).GetProperty("status");
            Assert.Equal(JsonValueKind.Null, order.GetProperty("pendingApproval").ValueKind);
            Assert.Equal("approved", order.GetProperty("decision").GetProperty("outcome").GetString());
            Assert.Equal("e2e-operator", order.GetProperty("decision").GetProperty("decidedBy").GetString());
            var decided = await operatorApi.GetFromJsonAsync<JsonElement>(new Uri("/approvals?status=decided&subjectType=order&pageSize=100", UriKind.Relative));
            var approval = decided.GetProperty("items").EnumerateArray().Single(a => a.GetProperty("subjectId").GetString() == orderId);
            Assert.Equal("approved", approval.GetProperty("decision").GetString());
            Assert.Equal("known customer, confirmed by phone", approval.GetProperty("decisionReason").GetString());
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task WrongKeys_AreRefusedWithAClearMessage_AndTheConsoleAsksAgain() =>
        BrowseAsync(nameof(WrongKeys_AreRefusedWithAClearMessage_AndTheConsoleAsksAgain), async (page, errors) =>
        {
            using var storefront = await system.ClientAsync("client");
            var refusal = page.GetByRole(AriaRole.Alert);
            var key = page.GetByLabel("API key with the operator scope");
            var connect = page.GetByRole(AriaRole.Button, new() { Name = "Connect" });
            await page.GotoAsync("/console");

            await key.FillAsync("ss_nosuchkey_0123456789abcdefghijklmnopqrstuvwxyz");
            await connect.ClickAsync();
            await Expect(refusal).ToHaveTextAsync("The API key was refused.");
            await Expect(page.Locator("#login")).ToBeVisibleAsync();
            await Expect(page.Locator("#app")).ToBeHiddenAsync();

            // A real key without the operator scope is refused too, with what it lacks, not an empty queue.
            await key.FillAsync(storefront.DefaultRequestHeaders.GetValues("X-Api-Key").Single());
            await connect.ClickAsync();
            await Expect(refusal).ToHaveTextAsync("This API key lacks the operator scope.");
            await Expect(page.Locator("#login")).ToBeVisibleAsync();
            await Expect(page.Locator("#app")).ToBeHiddenAsync();
            Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('stateset.apiKey')"));

            // The browser reports the refused requests themselves; nothing else may go wrong.
            Assert.All(errors, e => Assert.Matches("status of 40[13]", e));
        });

    [ChromiumFact]
    public Task StreamRefusedWith429_ConsoleRetriesWithBackoff_ReloadsWhatItMissed_AndIsLiveAgain() =>
        BrowseAsync(nameof(StreamRefusedWith429_ConsoleRetriesWithBackoff_ReloadsWhatItMissed_AndIsLiveAgain), async (page, errors) =>
        {
            using var storefront = await system.ClientAsync("client");
            using var operatorApi = await system.ClientAsync("operator");
            var status = page.Locator("#status");
            await page.GotoAsync("/console");
            await ConnectAsync(page, operatorApi);
            await page.EvaluateAsync("() => { window.sameDocument = true; }");

            // The gateway limits requests per key, and the console's stream uses the operator's key: while this test
            // spends that key's whole budget, every reconnect of the stream is answered 429.
            using var spending = new CancellationTokenSource();
            var exhausted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            async Task SpendAsync()
            {
                while (!spending.IsCancellationRequested)
                {
                    try
                    {
                        // A page size of 0 is refused before any database work: a token spent for next to nothing.
                        using var spent = await operatorApi.GetAsync(new Uri("/approvals?pageSize=0", UriKind.Relative), spending.Token);
                        if (spent.StatusCode == HttpStatusCode.TooManyRequests)
                        {
                            exhausted.TrySetResult();
                        }
                    }
                    catch (OperationCanceledException) when (spending.IsCancellationRequested)
                    {
                        return;
                    }
                }
            }

            var spenders = Enumerable.Range(0, 4).Select(_ => SpendAsync()).ToList();
            await exhausted.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // Ending the streams makes the console reconnect into the 429s. An order that needs approval while it
            // has no stream sends its event to nobody, so the console can only learn of it by reloading the queue
            // when the stream opens again. The budget refills every second, so a reconnect may slip through before
            // the spenders empty it again: then the console is live, and the round starts over with a new order.
            var placed = new List<string>();
            string missed;
            for (var round = 1; ; round++)
            {
                Assert.True(round <= 5, "the console never stayed refused long enough for an order to need approval");
                if (await status.TextContentAsync() == "live")
                {
                    await EndEventStreamsAsync();
                    await Expect(status).Not.ToHaveTextAsync("live");
                }

                await Expect(status).ToHaveTextAsync(new Regex(@"^Event stream refused: Too many requests \(HTTP 429\); retrying in \d+ s$|^live$"));
                if (await status.TextContentAsync() == "live")
                {
                    continue;
                }

                missed = await PlaceOrderNeedingApprovalAsync(storefront);
                placed.Add(missed);
                await WaitForOrderAsync(storefront, missed, order => order.GetProperty("status").GetProperty("stage").GetString() == "awaiting approval");

                // Still refused now means no stream opened since: the row cannot have come by the stream.
                var shown = await page.Locator("#approvals tr", new() { HasText = $"order {missed}" }).CountAsync();
                if (shown == 0 && (await status.TextContentAsync())!.Contains("HTTP 429", StringComparison.Ordinal))
                {
                    break;
                }
            }

            await spending.CancelAsync();
            await Task.WhenAll(spenders);

            // The backoff has grown while the order was placed (up to 30 s a wait), hence the longer patience.
            await Expect(status).ToHaveTextAsync("live", new() { Timeout = 60_000 });
            await Expect(page.Locator("#approvals tr", new() { HasText = $"order {missed}" })).ToBeVisibleAsync();

            // And the reopened stream pushes what comes next.
            var pushed = await PlaceOrderNeedingApprovalAsync(storefront);
            placed.Add(pushed);
            await Expect(page.Locator("#approvals tr", new() { HasText = $"order {pushed}" })).ToBeVisibleAsync();
            Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"), "the page reloaded");
            Assert.All(errors, e => Assert.Contains("429", e, StringComparison.Ordinal));

            foreach (var orderId in placed)
            {
                using var reject = await operatorApi.PostAsJsonAsync(new Uri($"/orders/{orderId}/reject", UriKind.Relative), new { reason = "test over" });
                Assert.Equal(HttpStatusCode.Accepted, reject.StatusCode);
            }
        });

    [ChromiumFact]
    public Task KeyRevokedMidSession_TheRefusedStreamSendsTheOperatorBackToTheKeyForm() =>
        BrowseAsync(nameof(KeyRevokedMidSession_TheRefusedStreamSendsTheOperatorBackToTheKeyForm), async (page, errors) =>
        {
            using var operatorApi = await system.ClientAsync("operator");
            using var admin = new HttpClient { BaseAddress = system.GatewayAddress };
            admin.DefaultRequestHeaders.Add("X-Api-Key", GatewayFixture.AdminKey);
            await page.GotoAsync("/console");
            await ConnectAsync(page, operatorApi);

            var prefix = operatorApi.DefaultRequestHeaders.GetValues("X-Api-Key").Single().Split('_')[1];
            using var revoked = await admin.DeleteAsync(new Uri($"/api-keys/{prefix}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);

            // The gateway remembers a key's answer for up to 30 s; from when it refuses the key, a stream that
            // reconnects is refused too. Nothing else happens on the page until the stream ends.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
            while (true)
            {
                using var asked = await operatorApi.GetAsync(new Uri("/approvals", UriKind.Relative));
                if (asked.StatusCode == HttpStatusCode.Unauthorized)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, "the gateway kept accepting the revoked key");
                await Task.Delay(250);
            }

            await Expect(page.Locator("#status")).ToHaveTextAsync("live");
            await EndEventStreamsAsync();

            await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("The API key was refused.");
            await Expect(page.Locator("#login")).ToBeVisibleAsync();
            await Expect(page.Locator("#app")).ToBeHiddenAsync();
            Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('stateset.apiKey')"));
            Assert.All(errors, e => Assert.Contains("401", e, StringComparison.Ordinal));
        });

    [ChromiumFact]
    public Task Operator_RejectsAnOrder_AndTheClosedRunShowsItsOutcomeFromTheReadModel() =>
        BrowseAsync(nameof(Operator_RejectsAnOrder_AndTheClosedRunShowsItsOutcomeFromTheReadModel), async (page, errors) =>
        {
            using var storefront = await system.ClientAsync("client");
            using var operatorApi = await system.ClientAsync("operator");
            await page.GotoAsync("/console");
            await ConnectAsync(page, operatorApi);
            var orderId = await PlaceOrderNeedingApprovalAsync(storefront);

            await page.Locator("#approvals tr", new() { HasText = $"order {orderId}" }).ClickAsync();
            var detail = page.Locator("#detail");
            await detail.GetByPlaceholder("Reason").FillAsync("card reported stolen");
            await detail.GetByRole(AriaRole.Button, new() { Name = "Reject" }).ClickAsync();
            await Expect(page.Locator("#status")).ToHaveTextAsync($"Rejected order {orderId}");

            // The run unwinds (voids the payment, releases the stock) and closes; from then on its GET answers
            // the read-model row. The console redraws the selected run on every approval event, and another
            // order waiting for approval is one.
            var closed = await WaitForOrderAsync(storefront, orderId, order => !order.GetProperty("live").GetBoolean());
            Assert.Equal(JsonValueKind.Object, closed.GetProperty("status").GetProperty("details").ValueKind);
            var next = await PlaceOrderNeedingApprovalAsync(storefront);
            await Expect(page.Locator("#approvals tr", new() { HasText = $"order {next}" })).ToBeVisibleAsync();

            await Expect(detail).ToContainTextAsync("Finished");
            await Expect(detail).ToContainTextAsync("Status: rejected · stage: done");
            await Expect(detail).ToContainTextAsync("Amount: 7050 CAD");
            await Expect(detail.Locator("tr", new() { HasText = "reason" })).ToContainTextAsync("by e2e-operator: card reported stolen");
            await Expect(detail).Not.ToContainTextAsync("{");
            await Expect(detail.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
            Assert.Empty(errors);

            using var reject = await operatorApi.PostAsJsonAsync(new Uri($"/orders/{next}/reject", UriKind.Relative), new { reason = "test over" });
            Assert.Equal(HttpStatusCode.Accepted, reject.StatusCode);
        });

    /// <summary>Gives the console <paramref name="operatorApi"/>'s key and waits until its event stream is live.</summary>
    private static async Task ConnectAsync(IPage page, HttpClient operatorApi)
    {
        await page.GetByLabel("API key with the operator scope").FillAsync(operatorApi.DefaultRequestHeaders.GetValues("X-Api-Key").Single());
        await page.GetByRole(AriaRole.Button, new() { Name = "Connect" }).ClickAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("live");
    }

    /// <summary>
    /// Places an order the risk check sends to an operator whatever the customer's history: 141 gift cards,
    /// 7050 CAD, reach the very-high-amount rule (6750 CAD) on their own, and gift cards never run out of stock.
    /// </summary>
    private static async Task<string> PlaceOrderNeedingApprovalAsync(HttpClient storefront)
    {
        var orderId = $"o-{Guid.NewGuid():N}"[..14];
        using var body = JsonContent.Create(new
        {
            orderId,
            customerId = "cus-liam",
            currency = "CAD",
            lines = new[] { new { sku = "GIFT-CARD", quantity = 141 } },
            shippingAddress = new { name = "Liam Tremblay", line1 = "290 Bremner Blvd", line2 = "Unit 4", city = "Toronto", region = "ON", postalCode = "M5V 3L9", country = "CA" },
            paymentMethod = "4242424242424242",
        });
        using var place = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = body };
        place.Headers.Add("Idempotency-Key", orderId);
        using var placed = await storefront.SendAsync(place);
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);
        return orderId;
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
    /// Ends every event stream the gateway serves, as losing PostgreSQL does: the gateway's outbox listener
    /// connection is terminated, so its hub ends the streams and each client reconnects.
    /// </summary>
    private async Task EndEventStreamsAsync()
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
    private async Task BrowseAsync(string testName, Func<IPage, IReadOnlyCollection<string>, Task> steps)
    {
        SetDefaultExpectTimeout(30_000);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumFactAttribute.ExecutablePath });
        var page = await browser.NewPageAsync(new() { BaseURL = system.GatewayAddress.ToString() });
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

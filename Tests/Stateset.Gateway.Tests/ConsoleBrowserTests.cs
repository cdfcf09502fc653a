using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The operator console in a real Chromium, used as an operator uses it, against the whole system: the gateway on
/// a real port, the worker, the sandboxes, PostgreSQL and Temporal. What the page shows comes from the real API
/// and the real Server-Sent-Events stream.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ConsoleBrowserTests(EndToEndFixture system, ITestOutputHelper output) : ConsoleBrowserTest(system, output)
{
    [ChromiumFact]
    public Task Operator_SeesAnOrderNeedingApprovalArriveLive_ApprovesIt_AndTheOrderMovesOn() =>
        BrowseAsync(nameof(Operator_SeesAnOrderNeedingApprovalArriveLive_ApprovesIt_AndTheOrderMovesOn), async (page, errors) =>
        {
            using var storefront = await System.ClientAsync("client");
            using var operatorApi = await System.ClientAsync("operator");

            await page.GotoAsync("/console#/approvals");
            await Expect(page.Locator("#login")).ToBeVisibleAsync();
            await Expect(page.Locator("#app")).ToBeHiddenAsync();

            await ConnectAsync(page, operatorApi);
            await Expect(page.Locator("#login")).ToBeHiddenAsync();
            await Expect(page.Locator("#app")).ToBeVisibleAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Waiting for approval" })).ToBeVisibleAsync();

            // A reload would wipe this mark: finding it later proves the order arrived without one.
            await page.EvaluateAsync("() => { window.sameDocument = true; }");

            var orderId = await PlaceOrderNeedingApprovalAsync(storefront);

            var row = page.Locator("#approvals tr", new() { HasText = $"order {orderId}" });
            await Expect(row).ToBeVisibleAsync();
            await Expect(row).ToContainTextAsync("7050");
            await Expect(page.Locator("#approvals-count")).Not.ToBeHiddenAsync();
            Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"), "the page reloaded");

            await row.ClickAsync();
            var detail = page.Locator("#detail");
            await Expect(detail).ToContainTextAsync("Waiting for approval");
            await Expect(row).ToHaveClassAsync("selected");
            await ScreenshotAsync(page, "approvals");
            await detail.GetByLabel("Reason", new() { Exact = true }).FillAsync("known customer, confirmed by phone");
            await detail.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();

            await Expect(page.Locator("#flash")).ToHaveTextAsync($"Approved order {orderId}");
            await Expect(row).ToHaveCountAsync(0);
            await Expect(detail).ToContainTextAsync("Decision: approved by e2e-operator");
            await Expect(detail.Locator("tr", new() { HasText = "by e2e-operator: known customer" })).ToContainTextAsync("completed");
            await Expect(detail).Not.ToContainTextAsync("Waiting for approval");
            await Expect(detail.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);

            // The read model follows the run's next step; the console already showed the decision from its event.
            var order = StatusOf(await WaitForAsync(storefront, $"/orders/{orderId}", o => StageOf(o) != "awaiting approval"));
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
            using var storefront = await System.ClientAsync("client");
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
            using var storefront = await System.ClientAsync("client");
            using var operatorApi = await System.ClientAsync("operator");
            var status = page.Locator("#status");
            await page.GotoAsync("/console#/approvals");
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
                await WaitForAsync(storefront, $"/orders/{missed}", order => StageOf(order) == "awaiting approval");

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
            using var operatorApi = await System.ClientAsync("operator");
            using var admin = new HttpClient { BaseAddress = System.GatewayAddress };
            admin.DefaultRequestHeaders.Add("X-Api-Key", GatewayFixture.AdminKey);
            await page.GotoAsync("/console");
            await ConnectAsync(page, operatorApi);

            var prefix = operatorApi.DefaultRequestHeaders.GetValues("X-Api-Key").Single().Split('_')[1];
            using var revoked = await admin.DeleteAsync(new Uri($"/api-keys/{prefix}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);

            // The gateway that revoked the key refuses it at once (another instance would within the 30 s it
            // remembers a key's answer); from then a stream that reconnects is refused too. Nothing else happens on
            // the page until the stream ends.
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
    public Task Operator_RejectsAnOrderWithAReason_AndTheClosedRunShowsItsOutcomeLive() =>
        BrowseAsync(nameof(Operator_RejectsAnOrderWithAReason_AndTheClosedRunShowsItsOutcomeLive), async (page, errors) =>
        {
            using var storefront = await System.ClientAsync("client");
            using var operatorApi = await System.ClientAsync("operator");
            await page.GotoAsync("/console#/approvals");
            await ConnectAsync(page, operatorApi);
            var orderId = await PlaceOrderNeedingApprovalAsync(storefront);

            await page.Locator("#approvals tr", new() { HasText = $"order {orderId}" }).ClickAsync();
            var detail = page.Locator("#detail");
            var reject = detail.GetByRole(AriaRole.Button, new() { Name = "Reject" });

            // A rejection needs its reason: without one the console asks for it and sends nothing.
            await reject.ClickAsync();
            await Expect(page.Locator("#flash")).ToHaveTextAsync("Give a reason to reject.");
            await Expect(detail.GetByLabel("Reason", new() { Exact = true })).ToBeFocusedAsync();
            Assert.True(Pending(await storefront.GetFromJsonAsync<JsonElement>(new Uri($"/orders/{orderId}", UriKind.Relative))));

            await detail.GetByLabel("Reason", new() { Exact = true }).FillAsync("card reported stolen");
            await reject.ClickAsync();
            await Expect(page.Locator("#flash")).ToHaveTextAsync($"Rejected order {orderId}");

            // The run unwinds (voids the payment, releases the stock) and closes; the console redraws the run on
            // its own events until it shows the closed run's stored view.
            await Expect(detail).ToContainTextAsync("Status: rejected · stage: done");
            await Expect(detail).ToContainTextAsync("Finished");
            await Expect(detail).ToContainTextAsync("7050.00 CAD");
            await Expect(detail.Locator(".card", new() { HasText = "Failure" })).ToContainTextAsync("Rejected by e2e-operator: card reported stolen");
            await Expect(detail).Not.ToContainTextAsync("{");
            await Expect(detail.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
            await ScreenshotAsync(page, "detail-rejected");

            var closed = await WaitForAsync(storefront, $"/orders/{orderId}", order => !order.GetProperty("live").GetBoolean());
            Assert.Equal("rejected", StatusOf(closed).GetProperty("status").GetString());
            Assert.Equal("rejected", StatusOf(closed).GetProperty("decision").GetProperty("outcome").GetString());
            Assert.NotEmpty(StatusOf(closed).GetProperty("compensationsRun").EnumerateArray());
            var decided = await operatorApi.GetFromJsonAsync<JsonElement>(new Uri("/approvals?status=decided&subjectType=order&pageSize=100", UriKind.Relative));
            var approval = decided.GetProperty("items").EnumerateArray().Single(a => a.GetProperty("subjectId").GetString() == orderId);
            Assert.Equal("rejected", approval.GetProperty("decision").GetString());
            Assert.Equal("card reported stolen", approval.GetProperty("decisionReason").GetString());
            Assert.Empty(errors);
        });

    [ChromiumFact]
    public Task OrderDetail_ApprovedFromItsPage_TimelineMovesOnLiveWithoutAReload() =>
        BrowseAsync(nameof(OrderDetail_ApprovedFromItsPage_TimelineMovesOnLiveWithoutAReload), async (page, errors) =>
        {
            using var storefront = await System.ClientAsync("client");
            using var operatorApi = await System.ClientAsync("operator");
            var orderId = await PlaceOrderNeedingApprovalAsync(storefront);
            var waiting = await WaitForAsync(storefront, $"/orders/{orderId}", Pending);

            await page.GotoAsync($"/console#/orders/{orderId}");
            await ConnectAsync(page, operatorApi);
            var run = page.Locator("#run");
            await Expect(run.GetByRole(AriaRole.Heading, new() { Name = $"Order {orderId}" })).ToBeVisibleAsync();
            await Expect(run).ToContainTextAsync("Waiting for approval");
            await Expect(run.Locator(".detail-sub")).ToContainTextAsync("stage: awaiting approval");
            await Expect(run.GetByRole(AriaRole.Link, new() { Name = "Open in Temporal UI ↗" })).ToHaveAttributeAsync("href", waiting.GetProperty("temporalUiUrl").GetString()!);
            await ScreenshotAsync(page, "detail-awaiting-approval");
            await page.EvaluateAsync("() => { window.sameDocument = true; }");
            var stepsBefore = await run.Locator("table.timeline tbody tr").CountAsync();

            await run.GetByLabel("Reason", new() { Exact = true }).FillAsync("large gift-card order, confirmed");
            await run.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();

            // The run captures the payment and starts its label: each step arrives as an event and the page follows.
            await Expect(run.Locator(".detail-sub")).ToContainTextAsync("stage: printing label");
            await Expect(run.Locator("table.timeline tr", new() { HasText = "capture payment" }).Last).ToContainTextAsync("completed");
            Assert.True(await run.Locator("table.timeline tbody tr").CountAsync() > stepsBefore);
            await Expect(run).ToContainTextAsync("Decision: approved by e2e-operator");
            await Expect(run.Locator(".card", new() { HasText = "Money" })).ToContainTextAsync("Captured7050.00 CAD");
            Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"), "the page reloaded");
            await ScreenshotAsync(page, "detail-approved");

            var order = StatusOf(await WaitForAsync(storefront, $"/orders/{orderId}", o => StageOf(o) == "printing label"));
            Assert.Equal("approved", order.GetProperty("decision").GetProperty("outcome").GetString());
            Assert.Equal("large gift-card order, confirmed", order.GetProperty("decision").GetProperty("reason").GetString());
            Assert.Equal(7050m, order.GetProperty("money").GetProperty("captured").GetDecimal());
            Assert.Empty(errors);
        });
}

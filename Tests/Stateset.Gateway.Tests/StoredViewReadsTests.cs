using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Temporalio.Client;

namespace Stateset.Gateway.Tests;

/// <summary>
/// A resource GET answers from the status view the workflow stored in its read-model row, never from the
/// workflow: these runs are running in Temporal with no worker to answer a query, and the GET still answers at once.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class StoredViewReadsTests(GatewayFixture gateway)
{
    [Theory]
    [InlineData("orders", "order-", "OrderFulfillment")]
    [InlineData("refunds", "refund-", "RefundProcessing")]
    [InlineData("returns", "rma-", "ReturnAuthorization")]
    [InlineData("labels", "label-", "LabelPrinting")]
    public async Task Get_RunningRunWithNoWorker_AnswersTheStoredViewWithoutAskingTheWorkflow(string resource, string workflowIdPrefix, string workflowType)
    {
        var id = $"live-{Guid.NewGuid():N}";
        var workflowId = workflowIdPrefix + id;

        // Running in Temporal, on a task queue no worker polls: a status query could never be answered.
        var handle = await gateway.Temporal.Client.StartWorkflowAsync(workflowType, [], new WorkflowOptions(workflowId, $"tq-{Guid.NewGuid():N}"));
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO workflow_runs (workflow_id, workflow_type, business_id, customer_id, status, stage, amount, currency, version,
                                       started_at, updated_at, details, run_id, view)
            VALUES (@workflowId, @workflowType, @id, 'cus-ava', 'awaiting_approval', 'awaiting approval', 349, 'USD', 7,
                    now(), now(), '{}', @runId,
                    '{"status": "awaiting_approval", "stage": "awaiting approval",
                      "timeline": [{"at": "2026-11-20T09:00:00Z", "step": "validate order", "outcome": "completed", "detail": null}],
                      "money": {"currency": "USD", "total": 349.0, "captured": 0}, "pendingApproval": {"reason": "risk score 80"},
                      "compensationsRun": []}')
            """,
            new { workflowId, workflowType, id, runId = handle.ResultRunId });
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));
        client.Timeout = TimeSpan.FromSeconds(30);

        using var response = await client.GetAsync(new Uri($"/{resource}/{id}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\"7\"", response.Headers.ETag?.Tag);
        var view = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(view.GetProperty("live").GetBoolean());
        Assert.Equal(7, view.GetProperty("version").GetInt64());
        Assert.Equal(workflowId, view.GetProperty("workflowId").GetString());
        var status = view.GetProperty("status");
        Assert.Equal("awaiting approval", status.GetProperty("stage").GetString());
        Assert.Equal("validate order", status.GetProperty("timeline")[0].GetProperty("step").GetString());
        Assert.Equal("risk score 80", status.GetProperty("pendingApproval").GetProperty("reason").GetString());
        Assert.Equal(349m, status.GetProperty("money").GetProperty("total").GetDecimal());

        // The row's own facts come with the view, in the same object.
        Assert.Equal(workflowType, status.GetProperty("workflowType").GetString());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("closedAt").ValueKind);
        Assert.EndsWith("Z", status.GetProperty("startedAt").GetString(), StringComparison.Ordinal);
        await handle.TerminateAsync();
    }

    [Fact]
    public async Task Get_WithTheCurrentETag_Is304_AndANewerVersionAnswersAgain()
    {
        var id = $"etag-{Guid.NewGuid():N}";
        await InsertRunAsync("OrderFulfillment", "order-", id, "cus-ava", "pending", DateTime.UtcNow, version: 3);
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        using var first = await client.GetAsync(new Uri($"/orders/{id}", UriKind.Relative));
        var etag = first.Headers.ETag!;
        using var unchanged = await GetIfNoneMatchAsync(client, $"/orders/{id}", etag);
        await gateway.ExecuteSqlAsync("UPDATE workflow_runs SET version = 4, stage = 'reserving inventory' WHERE workflow_id = @w", new { w = $"order-{id}" });
        using var changed = await GetIfNoneMatchAsync(client, $"/orders/{id}", etag);

        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal("\"4\"", changed.Headers.ETag?.Tag);
        Assert.Equal(4, (await changed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task Get_StartedButNotYetWritten_AnswersJustStarted_InsteadOf404()
    {
        var id = $"fresh-{Guid.NewGuid():N}";
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO idempotent_starts (api_key_prefix, scope, idempotency_key, request_hash, resource_id, workflow_id)
            VALUES ('ss_test', 'refunds', @id, '\x00', @id, 'refund-' || @id)
            """,
            new { id });
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var view = await client.GetFromJsonAsync<JsonElement>(new Uri($"/refunds/{id}", UriKind.Relative));
        using var otherResource = await client.GetAsync(new Uri($"/orders/{id}", UriKind.Relative));

        Assert.True(view.GetProperty("live").GetBoolean());
        Assert.Equal(0, view.GetProperty("version").GetInt64());
        Assert.Equal("starting", view.GetProperty("status").GetProperty("stage").GetString());
        Assert.Equal(0, view.GetProperty("status").GetProperty("timeline").GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, otherResource.StatusCode);
    }

    [Fact]
    public async Task Get_UnknownRun_Is404_AndABadId_Is400NamingIt()
    {
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        using var unknown = await client.GetAsync(new Uri($"/orders/never-{Guid.NewGuid():N}", UriKind.Relative));
        using var bad = await client.GetAsync(new Uri("/refunds/-bad-", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("refundId", out _));
    }

    [Fact]
    public async Task List_FiltersByStatusCustomerAndTime_NewestFirst_WithLinks()
    {
        var customer = $"c-{Guid.NewGuid():N}";
        var t0 = new DateTime(2026, 3, 1, 10, 0, 0, DateTimeKind.Utc);
        await InsertRunAsync("OrderFulfillment", "order-", $"{customer}-a", customer, "completed", t0);
        await InsertRunAsync("OrderFulfillment", "order-", $"{customer}-b", customer, "awaiting_approval", t0.AddHours(1));
        await InsertRunAsync("OrderFulfillment", "order-", $"{customer}-c", customer, "completed", t0.AddHours(2));
        await InsertRunAsync("RefundProcessing", "refund-", $"{customer}-r", customer, "completed", t0.AddHours(3));
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var all = await IdsAsync(client, $"/orders?customerId={customer}");
        var completed = await IdsAsync(client, $"/orders?customerId={customer}&status=completed");
        var window = await IdsAsync(client, $"/orders?customerId={customer}&from={t0.AddMinutes(30):O}&to={t0.AddHours(2):O}");
        var refunds = await IdsAsync(client, $"/refunds?customerId={customer}");
        var page = await client.GetFromJsonAsync<JsonElement>(new Uri($"/orders?customerId={customer}&limit=1", UriKind.Relative));

        Assert.Equal([$"{customer}-c", $"{customer}-b", $"{customer}-a"], all);
        Assert.Equal([$"{customer}-c", $"{customer}-a"], completed);
        Assert.Equal([$"{customer}-b"], window);
        Assert.Equal([$"{customer}-r"], refunds);
        var item = page.GetProperty("items")[0];
        Assert.Equal($"/orders/{customer}-c", item.GetProperty("url").GetString());
        Assert.Equal($"order-{customer}-c", item.GetProperty("run").GetProperty("workflowId").GetString());
        Assert.True(item.TryGetProperty("temporalUiUrl", out _));
    }

    [Fact]
    public async Task List_KeysetPages_VisitEveryRunOnce_EvenWithEqualStartTimes()
    {
        var customer = $"c-{Guid.NewGuid():N}";
        var at = new DateTime(2026, 4, 1, 12, 0, 0, DateTimeKind.Utc);
        var expected = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            // Two runs share each start time: the workflow id breaks the tie, so no page repeats or skips one.
            var id = $"{customer}-{i}";
            await InsertRunAsync("LabelPrinting", "label-", id, customer, "printed", at.AddMinutes(i / 2));
            expected.Add(id);
        }

        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>(new Uri(
                $"/labels?customerId={customer}&limit=2" + (cursor is null ? string.Empty : $"&cursor={cursor}"), UriKind.Relative));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(3, pages);
        expected.Reverse();
        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task List_SearchesByIdEmailAndTrackingNumber()
    {
        var customer = $"c-{Guid.NewGuid():N}";
        var email = $"{customer}@Example.com";
        await gateway.ExecuteSqlAsync("INSERT INTO customers (id, email, name) VALUES (@customer, @email, 'Search Test')", new { customer, email });
        var at = DateTime.UtcNow;
        await InsertRunAsync("OrderFulfillment", "order-", $"{customer}-a", customer, "completed", at, details: $$"""{"trackingNumber": "TRK{{customer}}"}""");
        await InsertRunAsync("OrderFulfillment", "order-", $"{customer}-b", customer, "pending", at.AddSeconds(1));
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        Assert.Equal([$"{customer}-a"], await IdsAsync(client, $"/orders?q={customer}-a"));
        Assert.Equal([$"{customer}-a"], await IdsAsync(client, $"/orders?q=TRK{customer}"));
        Assert.Equal([$"{customer}-b", $"{customer}-a"], await IdsAsync(client, $"/orders?q={Uri.EscapeDataString(email.ToUpperInvariant())}"));
        Assert.Empty(await IdsAsync(client, $"/returns?q={customer}-a"));
    }

    [Theory]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("cursor=bm9waXBl", "cursor")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("from=yesterday", "from")]
    [InlineData("from=2026-02-01&to=2026-01-01", "to")]
    [InlineData("status=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "status")]
    public async Task List_BadFilterOrCursor_Is400NamingIt(string query, string field)
    {
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        foreach (var resource in new[] { "orders", "refunds", "returns", "labels" })
        {
            using var response = await client.GetAsync(new Uri($"/{resource}?{query}", UriKind.Relative));

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{resource}: {problem}");
        }
    }

    private static async Task<HttpResponseMessage> GetIfNoneMatchAsync(HttpClient client, string path, EntityTagHeaderValue etag)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.IfNoneMatch.Add(etag);
        return await client.SendAsync(request);
    }

    private static async Task<List<string>> IdsAsync(HttpClient client, string path)
    {
        var page = await client.GetFromJsonAsync<JsonElement>(new Uri(path, UriKind.Relative));
        return page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetString()!).ToList();
    }

    private Task InsertRunAsync(string workflowType, string prefix, string id, string customer, string status, DateTime startedAt, long version = 1, string details = "{}") =>
        gateway.ExecuteSqlAsync(
            """
            INSERT INTO workflow_runs (workflow_id, workflow_type, business_id, customer_id, status, stage, version, started_at, updated_at, details, view)
            VALUES (@workflowId, @workflowType, @id, @customer, @status, 'some stage', @version, @startedAt, @startedAt, @details::jsonb,
                    jsonb_build_object('status', @status, 'timeline', '[]'::jsonb))
            """,
            new { workflowId = prefix + id, workflowType, id, customer, status, version, startedAt, details });
}

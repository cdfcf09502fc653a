using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Npgsql;

namespace Stateset.Gateway.Tests;

/// <summary>
/// Start requests that arrive together are claimed together (one INSERT for many): retries, a key reused with
/// other bodies and an order id two keys want must still resolve exactly as if each came alone.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class IdempotentStartsTests(GatewayFixture gateway)
{
    [Fact]
    public async Task ABurstOfStarts_IsResolvedPerRequest_OneWorkflowPerOrder()
    {
        using var storefront = await ClientKeyAsync("burst");
        var run = Guid.NewGuid().ToString("N")[..8];
        var retried = $"retry-{run}";
        var reused = $"reused-{run}";
        var contested = $"o-contested-{run}";

        // All at once, interleaved, so they share claim groups: 8 retries of one request, 6 bodies under one key,
        // 6 keys naming one order id, and 20 plain orders.
        var requests = new List<(string Kind, Func<Task<HttpResponseMessage>> Send)>();
        for (var i = 0; i < 20; i++)
        {
            var id = $"o-plain-{run}-{i}";
            requests.Add(("plain", () => PostOrderAsync(storefront, id, orderId: id, quantity: 1)));
            if (i < 8)
            {
                requests.Add(("retried", () => PostOrderAsync(storefront, retried, orderId: null, quantity: 1)));
            }

            if (i < 6)
            {
                var quantity = i + 1;
                var key = $"contest-{run}-{i}";
                requests.Add(("reused", () => PostOrderAsync(storefront, reused, orderId: null, quantity)));
                requests.Add(("contested", () => PostOrderAsync(storefront, key, contested, quantity: 1)));
            }
        }

        var answers = await Task.WhenAll(requests.Select(async r => (r.Kind, Response: await r.Send())));
        var byKind = answers.ToLookup(a => a.Kind, a => a.Response);

        Assert.All(byKind["plain"], r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.All(byKind["retried"], r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var retriedRuns = await Task.WhenAll(byKind["retried"].Select(r => r.Content.ReadFromJsonAsync<JsonElement>()));
        Assert.Single(retriedRuns.Select(r => (r.GetProperty("id").GetString(), r.GetProperty("runId").GetString())).Distinct());

        // One body wins the reused key and one key wins the contested order id; every other request is a 409.
        foreach (var kind in new[] { "reused", "contested" })
        {
            Assert.Single(byKind[kind], r => r.StatusCode == HttpStatusCode.Accepted);
            Assert.Equal(5, byKind[kind].Count(r => r.StatusCode == HttpStatusCode.Conflict));
        }

        var claimed = await ClaimedWorkflowsAsync(run);
        Assert.Equal(1 + 1 + 1 + 20, claimed.Count);
        Assert.Equal(1 + 1 + 1 + 20, await CountStartedAsync(claimed));
        foreach (var response in answers)
        {
            response.Response.Dispose();
        }
    }

    [Fact]
    public async Task ARetryAfterTheRunClosed_AnswersTheSameRun()
    {
        using var storefront = await ClientKeyAsync("late-retry");
        var orderId = $"o-closed-{Guid.NewGuid():N}"[..18];
        using var first = await PostOrderAsync(storefront, orderId, orderId, quantity: 1);
        var started = await first.Content.ReadFromJsonAsync<JsonElement>();
        await gateway.Temporal.Client.GetWorkflowHandle(started.GetProperty("workflowId").GetString()!).TerminateAsync("closed for the test");

        using var retry = await PostOrderAsync(storefront, orderId, orderId, quantity: 1);

        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var answered = await retry.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(started.GetProperty("runId").GetString(), answered.GetProperty("runId").GetString());
    }

    private static Task<HttpResponseMessage> PostOrderAsync(HttpClient client, string idempotencyKey, string? orderId, int quantity)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = JsonContent.Create(new
            {
                orderId,
                customerId = "cus-ava",
                currency = "USD",
                lines = new[] { new { sku = "TENT-2P", quantity } },
                shippingAddress = new { name = "Ava Martin", line1 = "1600 Amphitheatre Pkwy", city = "Mountain View", region = "CA", postalCode = "94043", country = "US" },
                paymentMethod = "4242424242424242",
            }),
        };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return client.SendAsync(request);
    }

    private async Task<HttpClient> ClientKeyAsync(string name)
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name, scopes = new[] { "client" } });
        return gateway.CreateClient((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
    }

    private async Task<List<string>> ClaimedWorkflowsAsync(string run)
    {
        await using var connection = new NpgsqlConnection(gateway.ConnectionString);
        return [.. await connection.QueryAsync<string>("SELECT workflow_id FROM idempotent_starts WHERE idempotency_key LIKE @pattern", new { pattern = $"%{run}%" })];
    }

    // Every claim's workflow exists in Temporal (one per id: Temporal itself refuses a second with the same id).
    private async Task<int> CountStartedAsync(List<string> workflowIds)
    {
        foreach (var workflowId in workflowIds)
        {
            await gateway.Temporal.Client.GetWorkflowHandle(workflowId).DescribeAsync();
        }

        return workflowIds.Distinct().Count();
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class RunsApiTests(GatewayFixture gateway)
{
    [Fact]
    public async Task List_FiltersByTypeStatusCustomerAndStartTime()
    {
        var customer = $"c-{Guid.NewGuid():N}";
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO workflow_runs (workflow_id, workflow_type, business_id, customer_id, status, stage, amount, currency, started_at, updated_at, details)
            VALUES ('order-' || @customer || '-a', 'OrderFulfillment', @customer || '-a', @customer, 'Running', 'AwaitingApproval', 120.5, 'USD',
                    '2026-01-01T10:00:00Z', '2026-01-01T10:05:00Z', '{"risk": "high"}'),
                   ('order-' || @customer || '-b', 'OrderFulfillment', @customer || '-b', @customer, 'Completed', 'Completed', 30, 'USD',
                    '2026-01-02T10:00:00Z', '2026-01-02T11:00:00Z', '{}'),
                   ('refund-' || @customer || '-c', 'RefundProcessing', @customer || '-c', @customer, 'Running', 'Validating', 10, 'USD',
                    '2026-01-03T10:00:00Z', '2026-01-03T10:00:00Z', '{}')
            """,
            new { customer });
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var all = await RunIdsAsync(client, $"customerId={customer}");
        var orders = await RunIdsAsync(client, $"customerId={customer}&type=OrderFulfillment");
        var running = await RunIdsAsync(client, $"customerId={customer}&status=Running");
        var window = await RunIdsAsync(client, $"customerId={customer}&from=2026-01-02T00:00:00Z&to=2026-01-03T00:00:00Z");
        var page = await client.GetFromJsonAsync<JsonElement>(new Uri($"/runs?customerId={customer}&pageSize=1&page=2", UriKind.Relative));

        Assert.Equal([$"refund-{customer}-c", $"order-{customer}-b", $"order-{customer}-a"], all);
        Assert.Equal([$"order-{customer}-b", $"order-{customer}-a"], orders);
        Assert.Equal([$"refund-{customer}-c", $"order-{customer}-a"], running);
        Assert.Equal([$"order-{customer}-b"], window);
        Assert.Equal(3, page.GetProperty("total").GetInt64());
        Assert.Equal($"order-{customer}-b", page.GetProperty("items")[0].GetProperty("workflowId").GetString());
    }

    [Fact]
    public async Task List_ShowsTheReadModelRow()
    {
        var customer = $"c-{Guid.NewGuid():N}";
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO workflow_runs (workflow_id, workflow_type, business_id, customer_id, status, stage, amount, currency, started_at, updated_at, details)
            VALUES ('order-' || @customer, 'OrderFulfillment', @customer, @customer, 'Running', 'AwaitingApproval', 120.5, 'USD', now(), now(), '{"risk": "high"}')
            """,
            new { customer });
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var run = (await client.GetFromJsonAsync<JsonElement>(new Uri($"/runs?customerId={customer}", UriKind.Relative))).GetProperty("items")[0];

        Assert.Equal("AwaitingApproval", run.GetProperty("stage").GetString());
        Assert.Equal(120.5m, run.GetProperty("amount").GetDecimal());
        Assert.Equal("USD", run.GetProperty("currency").GetString());
        Assert.Equal("high", run.GetProperty("details").GetProperty("risk").GetString());
    }

    [Theory]
    [InlineData("type=Shipping", "type")]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=2026-13-45", "to")]
    [InlineData("from=2026-02-01&to=2026-01-01", "to")]
    [InlineData("page=0", "page")]
    [InlineData("pageSize=1000", "pageSize")]
    public async Task BadQuery_Is400NamingTheField(string query, string field)
    {
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var response = await client.GetAsync(new Uri($"/runs?{query}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task NoKey_Is401()
    {
        using var anonymous = gateway.CreateClient(apiKey: null);

        var response = await anonymous.GetAsync(new Uri("/runs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static async Task<List<string>> RunIdsAsync(HttpClient client, string query)
    {
        var page = await client.GetFromJsonAsync<JsonElement>(new Uri($"/runs?{query}", UriKind.Relative));
        return page.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("workflowId").GetString()!).ToList();
    }
}

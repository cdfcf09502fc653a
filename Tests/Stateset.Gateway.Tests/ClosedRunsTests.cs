using System.Net.Http.Json;
using System.Text.Json;

namespace Stateset.Gateway.Tests;

/// <summary>
/// A run no longer in Temporal (closed and past retention, or never started here) is answered from the read-model
/// row its workflow wrote; the row's jsonb details must come back as JSON, not as a string of JSON.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ClosedRunsTests(GatewayFixture gateway)
{
    [Theory]
    [InlineData("orders", "order-", "OrderFulfillment")]
    [InlineData("refunds", "refund-", "RefundProcessing")]
    [InlineData("returns", "rma-", "ReturnAuthorization")]
    [InlineData("labels", "label-", "LabelPrinting")]
    public async Task Get_ClosedRun_AnswersTheReadModelRow_WithItsDetailsAsAJsonObject(string resource, string workflowIdPrefix, string workflowType)
    {
        var id = $"closed-{Guid.NewGuid():N}";
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO workflow_runs (workflow_id, workflow_type, business_id, customer_id, status, stage, amount, currency, started_at, updated_at, closed_at, details)
            VALUES (@workflowId, @workflowType, @id, 'cus-ava', 'failed', 'done', 42.5, 'USD', now() - interval '1 hour', now(), now(),
                    '{"reason": "card declined \"insufficient funds\"", "trackingNumber": "1Z999AA10123456784"}')
            """,
            new { workflowId = workflowIdPrefix + id, workflowType, id });
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var view = await client.GetFromJsonAsync<JsonElement>(new Uri($"/{resource}/{id}", UriKind.Relative));

        Assert.False(view.GetProperty("live").GetBoolean());
        var run = view.GetProperty("status");
        Assert.Equal(workflowIdPrefix + id, run.GetProperty("workflowId").GetString());
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Equal(42.5m, run.GetProperty("amount").GetDecimal());
        Assert.Equal(JsonValueKind.String, run.GetProperty("closedAt").ValueKind);
        var details = run.GetProperty("details");
        Assert.Equal(JsonValueKind.Object, details.ValueKind);
        Assert.Equal("card declined \"insufficient funds\"", details.GetProperty("reason").GetString());
        Assert.Equal("1Z999AA10123456784", details.GetProperty("trackingNumber").GetString());
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheStatusOfEachResourceGet_AsLiveStatusOrReadModelRowWithObjectDetails()
    {
        using var anonymous = gateway.CreateClient(apiKey: null);

        var document = await anonymous.GetFromJsonAsync<JsonElement>(new Uri("/openapi/v1.json", UriKind.Relative));

        foreach (var (path, liveIdProperty) in new[] { ("/orders/{orderId}", "orderId"), ("/refunds/{refundId}", "refundId"), ("/returns/{returnId}", "returnId"), ("/labels/{shipmentId}", "shipmentId") })
        {
            var status = document.GetProperty("paths").GetProperty(path).GetProperty("get").GetProperty("responses").GetProperty("200")
                .GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("properties").GetProperty("status");
            var shapes = status.GetProperty("anyOf").EnumerateArray().Select(shape => shape.GetProperty("properties")).ToList();
            Assert.Equal(2, shapes.Count);
            Assert.True(shapes[0].TryGetProperty(liveIdProperty, out _), $"{path}: the live shape is not the workflow's status: {shapes[0]}");
            var details = shapes[1].GetProperty("details");
            Assert.Equal("object", details.GetProperty("type").GetString());
            Assert.Equal("string", details.GetProperty("additionalProperties").GetProperty("type").GetString());
        }

        var listed = document.GetProperty("components").GetProperty("schemas").GetProperty("RunItem").GetProperty("properties").GetProperty("details");
        Assert.Equal("object", listed.GetProperty("type").GetString());
    }
}

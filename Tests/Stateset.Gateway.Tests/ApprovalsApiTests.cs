using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class ApprovalsApiTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Pending_NewestFirst_PagedAndFilteredBySubjectType()
    {
        var run = Guid.NewGuid().ToString("N")[..8];

        // Far-future request times put these first in the newest-first queue whatever else the suite inserted.
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO approvals (workflow_id, subject_type, subject_id, requested_reason, requested_at, decision, decided_by, decided_at)
            VALUES ('refund-' || @run || '-1', 'refund', @run || '-1', 'over threshold', '2999-01-01T00:01:00Z', NULL, NULL, NULL),
                   ('refund-' || @run || '-2', 'refund', @run || '-2', 'over threshold', '2999-01-01T00:02:00Z', NULL, NULL, NULL),
                   ('refund-' || @run || '-3', 'refund', @run || '-3', 'over threshold', '2999-01-01T00:03:00Z', NULL, NULL, NULL),
                   ('refund-' || @run || '-4', 'refund', @run || '-4', 'over threshold', '2999-01-01T00:04:00Z', 'approved', 'ops', now()),
                   ('order-' || @run || '-5', 'order', @run || '-5', 'risk', '2999-01-01T00:05:00Z', NULL, NULL, NULL)
            """,
            new { run });
        using var operatorClient = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));

        var first = await operatorClient.GetFromJsonAsync<JsonElement>(new Uri("/approvals?subjectType=refund&pageSize=2", UriKind.Relative));
        var second = await operatorClient.GetFromJsonAsync<JsonElement>(new Uri("/approvals?subjectType=refund&pageSize=2&page=2", UriKind.Relative));
        var decided = await operatorClient.GetFromJsonAsync<JsonElement>(new Uri("/approvals?status=decided&pageSize=100", UriKind.Relative));

        Assert.Equal([$"{run}-3", $"{run}-2"], SubjectIds(first));
        Assert.Equal($"{run}-1", SubjectIds(second)[0]);
        Assert.True(first.GetProperty("total").GetInt64() >= 3);
        Assert.Equal(2, first.GetProperty("pageSize").GetInt32());
        Assert.Contains($"{run}-4", SubjectIds(decided));
        Assert.DoesNotContain($"{run}-3", SubjectIds(decided));
        Assert.Equal("approved", decided.GetProperty("items").EnumerateArray().First(a => a.GetProperty("subjectId").GetString() == $"{run}-4").GetProperty("decision").GetString());
    }

    [Theory]
    [InlineData("page=0", "page")]
    [InlineData("page=abc", "page")]
    [InlineData("pageSize=101", "pageSize")]
    [InlineData("pageSize=-1", "pageSize")]
    [InlineData("status=maybe", "status")]
    [InlineData("subjectType=label", "subjectType")]
    public async Task BadQuery_Is400NamingTheField(string query, string field)
    {
        using var operatorClient = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));

        var response = await operatorClient.GetAsync(new Uri($"/approvals?{query}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task ClientKey_IsForbidden()
    {
        using var client = gateway.CreateClient(await gateway.CreateKeyAsync("client"));

        var response = await client.GetAsync(new Uri("/approvals", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    private static List<string> SubjectIds(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("subjectId").GetString()!).ToList();
}

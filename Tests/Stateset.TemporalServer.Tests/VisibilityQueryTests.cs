using Stateset.TemporalServer.Visibility;

namespace Stateset.TemporalServer.Tests;

/// <summary>The list filter parser on its own (no server): the operators the product's queries use.</summary>
public sealed class VisibilityQueryTests
{
    private static readonly Dictionary<string, object?> Order = new()
    {
        ["WorkflowType"] = "OrderFulfillment",
        ["ExecutionStatus"] = "Running",
        ["OrderAmount"] = 125.0,
        ["StartTime"] = new DateTimeOffset(2030, 5, 1, 12, 0, 0, TimeSpan.Zero),
        ["Tags"] = new List<string> { "vip", "eu" },
        ["Note"] = null,
    };

    [Theory]
    [InlineData("WorkflowType = 'OrderFulfillment'", true)]
    [InlineData("WorkflowType != 'OrderFulfillment'", false)]
    [InlineData("WorkflowType <> \"Refund\"", true)]
    [InlineData("OrderAmount > 100 AND OrderAmount <= 125", true)]
    [InlineData("OrderAmount < 100 OR ExecutionStatus = 'Running'", true)]
    [InlineData("NOT (OrderAmount >= 100)", false)]
    [InlineData("OrderAmount BETWEEN 100 AND 200", true)]
    [InlineData("StartTime BETWEEN '2030-05-01T00:00:00Z' AND '2030-05-02T00:00:00Z'", true)]
    [InlineData("StartTime > '2030-05-01T12:00:01Z'", false)]
    [InlineData("ExecutionStatus IN ('Completed', 'Running')", true)]
    [InlineData("ExecutionStatus NOT IN ('Completed', 'Running')", false)]
    [InlineData("Tags = 'vip'", true)]
    [InlineData("Note IS NULL AND Missing IS NULL AND OrderAmount IS NOT NULL", true)]
    [InlineData("WorkflowType STARTS_WITH 'Order'", true)]
    [InlineData("`WorkflowType` = 'OrderFulfillment' ORDER BY StartTime DESC", true)]
    [InlineData("", true)]
    public void Matches_EvaluatesFilter(string query, bool expected) =>
        Assert.Equal(expected, VisibilityQuery.Parse(query).Matches(field => Order.GetValueOrDefault(field)));

    [Theory]
    [InlineData("WorkflowType =")]
    [InlineData("WorkflowType = 'unterminated")]
    [InlineData("(WorkflowType = 'a'")]
    [InlineData("WorkflowType ~ 'a'")]
    [InlineData("ORDER StartTime")]
    public void Parse_MalformedQuery_Throws(string query) => Assert.Throws<FormatException>(() => VisibilityQuery.Parse(query));

    [Fact]
    public void Parse_OrderBy_ReadsFieldAndDirection()
    {
        var query = VisibilityQuery.Parse("WorkflowType = 'x' ORDER BY StartTime DESC");
        Assert.Equal("StartTime", query.OrderBy);
        Assert.True(query.Descending);
    }
}

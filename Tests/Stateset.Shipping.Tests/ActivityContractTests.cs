using System.Reflection;
using Stateset.Activities.Shipping;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Shipping.Tests;

public sealed class ActivityContractTests
{
    [Fact]
    public void LabelActivities_RegisterUnderTheNamesWorkflowsCallThroughTheInterface()
    {
        using var activities = new LabelActivitiesWithoutDependencies();

        var registered = ActivityDefinition.CreateAll(typeof(LabelActivities), activities.Instance).Select(d => d.Name).Order();
        var called = typeof(ILabelActivities).GetMethods()
            .Select(m => m.GetCustomAttribute<ActivityAttribute>()!.Name ?? m.Name[..^"Async".Length])
            .Order();

        Assert.Equal(called, registered);
        Assert.Equal(
            ["AcknowledgePrintJob", "BuyLabel", "CloseFailedShipment", "CreatePrintJob", "RenderLabel", "ShopRates", "ValidateAddress", "VoidLabel"],
            registered);
    }
}

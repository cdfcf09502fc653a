using System.Reflection;
using System.Runtime.CompilerServices;
using Stateset.Activities.Inventory;
using Stateset.Activities.Notifications;
using Stateset.Activities.Orders;
using Stateset.Activities.Payments;
using Stateset.Activities.ReadModels;
using Stateset.Activities.Returns;
using Stateset.Activities.Risk;
using Stateset.Workflows.Activities;
using Temporalio.Activities;

namespace Stateset.Activities.Tests;

/// <summary>
/// Workflows call activities through the contract interfaces in Stateset.Workflows; workers register the
/// implementation classes. These prove both sides resolve to the same activity names.
/// </summary>
public sealed class ActivityNamesTests
{
    // Workflow.ExecuteActivityAsync(lambda) names the activity with this internal SDK method; calling it directly
    // tests the exact path a workflow takes, without a server.
    private static readonly MethodInfo NameFromMethodForCall = typeof(ActivityDefinition)
        .GetMethod("NameFromMethodForCall", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static)!;

    public static TheoryData<Type, Type> Contracts => new()
    {
        { typeof(IInventoryActivities), typeof(InventoryActivities) },
        { typeof(IOrderActivities), typeof(OrderActivities) },
        { typeof(IPaymentActivities), typeof(PaymentActivities) },
        { typeof(IRiskActivities), typeof(RiskActivities) },
        { typeof(IReturnActivities), typeof(ReturnActivities) },
        { typeof(IReadModelActivities), typeof(ReadModelActivities) },
        { typeof(INotificationActivities), typeof(NotificationActivities) },
    };

    [Theory]
    [MemberData(nameof(Contracts))]
    public void InterfaceMethodNames_MatchTheRegisteredImplementation(Type contract, Type implementation)
    {
        var called = contract.GetMethods().Select(NameForCall).Order(StringComparer.Ordinal);
        var registered = ActivityDefinition.CreateAll(implementation, RuntimeHelpers.GetUninitializedObject(implementation))
            .Select(definition => definition.Name).Order(StringComparer.Ordinal);

        Assert.Equal(called, registered);
    }

    [Fact]
    public void InterfaceLambda_ResolvesToTheAttributeName()
    {
        var method = typeof(IInventoryActivities).GetMethod(nameof(IInventoryActivities.ReserveInventoryAsync))!;

        Assert.Equal("ReserveInventory", NameForCall(method));
    }

    [Fact]
    public void ActivityNames_AreUniqueAcrossAllContracts()
    {
        var names = typeof(IInventoryActivities).Assembly.GetTypes()
            .Where(type => type.IsInterface && type.Namespace == typeof(IInventoryActivities).Namespace)
            .SelectMany(type => type.GetMethods())
            .Where(method => method.GetCustomAttribute<ActivityAttribute>() is not null)
            .Select(NameForCall)
            .ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    private static string NameForCall(MethodInfo method) => (string)NameFromMethodForCall.Invoke(null, [method])!;
}

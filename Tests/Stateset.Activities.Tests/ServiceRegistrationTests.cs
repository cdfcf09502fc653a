using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Stateset.Activities.Inventory;
using Stateset.Activities.Notifications;
using Stateset.Activities.Orders;
using Stateset.Activities.Outbox;
using Stateset.Activities.Payments;
using Stateset.Activities.ReadModels;
using Stateset.Activities.Returns;
using Stateset.Activities.Risk;

namespace Stateset.Activities.Tests;

/// <summary>What the worker and gateway get from the DI extensions resolves, with configuration only.</summary>
public sealed class ServiceRegistrationTests
{
    [Fact]
    public async Task AddCommerceActivities_FromConfiguration_ResolvesEveryActivityAndTheDispatcher()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Commerce"] = "Host=127.0.0.1;Port=1;Database=unused",
            ["PaymentProvider:BaseUrl"] = "http://127.0.0.1:1/psp/v1/",
            ["PaymentProvider:WebhookSecret"] = "whsec_x",
            ["Risk:ApprovalThreshold"] = "60",
        }).Build();
        await using var services = new ServiceCollection()
            .AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>))
            .AddCommerceActivities(configuration)
            .AddOutboxWebhookDispatcher(configuration)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        await using var scope = services.CreateAsyncScope();

        Assert.NotNull(scope.ServiceProvider.GetRequiredService<OrderActivities>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<InventoryActivities>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<PaymentActivities>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<RiskActivities>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<ReturnActivities>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<ReadModelActivities>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<NotificationActivities>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<WebhookDispatcher>());
        Assert.Equal("Host=127.0.0.1;Port=1;Database=unused", scope.ServiceProvider.GetRequiredService<NpgsqlDataSource>().ConnectionString);
        Assert.Equal(60, scope.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<RiskOptions>>().Value.ApprovalThreshold);
    }

    [Fact]
    public void AddCommerceActivities_WithoutProviderUrl_FailsOnFirstUseNamingTheSetting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Commerce"] = "Host=127.0.0.1;Port=1;Database=unused",
        }).Build();
        using var services = new ServiceCollection().AddCommerceActivities(configuration).BuildServiceProvider();

        var failure = Assert.ThrowsAny<Exception>(() => services.GetRequiredService<IPaymentProvider>());

        Assert.Contains("PaymentProvider:BaseUrl", failure.Message, StringComparison.Ordinal);
    }
}

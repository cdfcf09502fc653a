using Stateset.Activities.Notifications;
using Stateset.Testing;
using Stateset.Workflows.Activities;

namespace Stateset.Activities.Tests.Notifications;

[Collection(PostgresCollection.Name)]
public sealed class NotificationActivitiesTests(PostgresFixture postgres) : IAsyncLifetime
{
    private CommerceDatabase _db = null!;
    private NotificationActivities _notifications = null!;

    public async Task InitializeAsync()
    {
        _db = await CommerceDatabase.CreateAsync(postgres);
        _notifications = new NotificationActivities(_db.DataSource);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Notify_Retried_RecordsOneRenderedEmailAndOneEvent()
    {
        var notification = new CustomerNotification(
            "order-o-1:shipped", "cus-liam", "order_shipped", new Dictionary<string, string> { ["orderId"] = "o-1", ["carrier"] = "Canada Post", ["trackingNumber"] = "7023" });

        var first = await Attempts.RunAsync(() => _notifications.NotifyCustomerAsync(notification));
        var retry = await Attempts.RunAsync(() => _notifications.NotifyCustomerAsync(notification), attempt: 2);

        Assert.True(first);
        Assert.False(retry);
        var email = Assert.Single(await _db.QueryAsync<(string Recipient, string Subject, string Body)>("SELECT recipient, subject, body FROM notifications"));
        Assert.Equal("liam.tremblay@example.ca", email.Recipient);
        Assert.Equal("Order o-1 has shipped", email.Subject);
        Assert.Contains("Hi Liam Tremblay", email.Body, StringComparison.Ordinal);
        Assert.Contains("with Canada Post, tracking number 7023", email.Body, StringComparison.Ordinal);
        Assert.Equal(1, await _db.CountEventsAsync("notification.email_requested"));
    }

    [Fact]
    public async Task Notify_UnknownTemplateOrCustomer_IsRefused()
    {
        await Attempts.FailsAsync(
            () => _notifications.NotifyCustomerAsync(new CustomerNotification("k-1", "cus-ava", "spam", new Dictionary<string, string>())), CommerceErrorTypes.InvalidInput);
        await Attempts.FailsAsync(
            () => _notifications.NotifyCustomerAsync(new CustomerNotification("k-2", "cus-ghost", "order_confirmed", new Dictionary<string, string>())), CommerceErrorTypes.NotFound);
    }
}

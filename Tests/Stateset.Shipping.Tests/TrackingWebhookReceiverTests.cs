using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Stateset.Activities.Shipping;
using Stateset.Sandboxes.Carriers;
using Stateset.Testing;
using Stateset.Workflows.Activities;
using Temporalio.Testing;

namespace Stateset.Shipping.Tests;

/// <summary>Webhooks sent by the carriers sandbox, received and applied to the shipment.</summary>
[Collection(PostgresCollection.Name)]
public sealed class TrackingWebhookReceiverTests(PostgresFixture postgres, SharedCarrierSandbox shared) : IClassFixture<SharedCarrierSandbox>, IAsyncLifetime
{
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);
    private readonly string _shipmentId = $"o-{Guid.NewGuid():N}:shipment-1";
    private CarrierSandboxHost _sandbox = null!;
    private ServiceProvider _services = null!;
    private NpgsqlDataSource _database = null!;
    private Label _label = null!;

    public async Task InitializeAsync()
    {
        _sandbox = shared.Host;
        _sandbox.Reset();
        _database = NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync());
        _services = _sandbox.CreateShippingServices(
            new Dictionary<string, string?> { ["Shipping:WebhookSecret"] = CarrierSandboxHost.WebhookSecret },
            services =>
            {
                services.AddSingleton(_database);
                services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock));
            });
        await using var scope = _services.CreateAsyncScope();
        var activities = scope.ServiceProvider.GetRequiredService<LabelActivities>();
        _label = await new ActivityEnvironment().RunAsync(() => activities.BuyLabelAsync(new BuyLabelInput(
            _shipmentId,
            "o-2002",
            new Rate("ridgeline", "GROUND", ServiceLevel.Ground, 9.30m, "USD", 4),
            Addresses.RenoWarehouse,
            Addresses.Seattle,
            Addresses.SmallBox)));
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Receive_SignedInTransitEvent_IsRecordedAndMovesTheShipment()
    {
        var webhook = await SendAsync("in_transit");

        var result = await ReceiveAsync(webhook);

        Assert.Equal(
            (TrackingWebhookOutcome.Recorded, _shipmentId, "o-2002", "outbound", "in_transit"),
            (result.Outcome, result.ShipmentId, result.OrderId, result.Direction, result.Event?.Status));
        Assert.Equal("in_transit", await ShipmentStatusAsync());
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM carrier_tracking_events WHERE shipment_id IS NOT NULL"));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM outbox_events WHERE event_type = 'shipment.in_transit'"));
    }

    [Fact]
    public async Task Receive_SameEventRedelivered_IsADuplicateAndChangesNothing()
    {
        var webhook = await SendAsync("delivered");

        await ReceiveAsync(webhook);
        var again = await ReceiveAsync(webhook);

        Assert.Equal(TrackingWebhookOutcome.Duplicate, again.Outcome);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM carrier_tracking_events"));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM outbox_events WHERE event_type = 'shipment.delivered'"));
    }

    [Fact]
    public async Task Receive_LateInTransitAfterDelivered_IsStoredButDoesNotMoveTheShipmentBack()
    {
        await ReceiveAsync(await SendAsync("delivered"));

        var late = await ReceiveAsync(await SendAsync("in_transit"));

        Assert.Equal(TrackingWebhookOutcome.Recorded, late.Outcome);
        Assert.Equal("delivered", await ShipmentStatusAsync());
    }

    [Fact]
    public async Task Receive_TamperedBody_IsRejectedAndNothingIsStored()
    {
        var webhook = await SendAsync("exception");

        var result = await ReceiveAsync(webhook with { Body = webhook.Body.Replace("exception", "delivered", StringComparison.Ordinal) });

        Assert.Equal((TrackingWebhookOutcome.Rejected, "signature mismatch"), (result.Outcome, result.Reason));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM carrier_tracking_events"));
        Assert.Equal("label_purchased", await ShipmentStatusAsync());
    }

    [Fact]
    public async Task Receive_StaleSignature_IsRejectedAsAReplay()
    {
        var webhook = await SendAsync("delivered");
        _clock.Now += TimeSpan.FromMinutes(10);

        var result = await ReceiveAsync(webhook);

        Assert.Equal((TrackingWebhookOutcome.Rejected, "signature stale"), (result.Outcome, result.Reason));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM carrier_tracking_events"));
    }

    [Fact]
    public async Task Receive_MissingSignature_IsRejected()
    {
        var webhook = await SendAsync("delivered");

        var result = await ReceiveAsync(webhook with { Signature = null });

        Assert.Equal((TrackingWebhookOutcome.Rejected, "signature malformed"), (result.Outcome, result.Reason));
    }

    [Theory]
    [InlineData("{\"id\":")]
    [InlineData("{\"id\":\"evt-1\",\"carrier\":\"ridgeline\",\"trackingNumber\":\"1Z\",\"status\":\"lost\"}")]
    public async Task Receive_SignedBodyThatIsNotATrackingEvent_IsMalformedNotRejected_AndNothingIsStored(string body)
    {
        var signature = CarrierWebhookSignature.Sign(CarrierSandboxHost.WebhookSecret, body, _clock.GetUtcNow());

        var result = await ReceiveAsync(new ReceivedWebhook(body, signature));

        Assert.Equal(TrackingWebhookOutcome.Malformed, result.Outcome);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM carrier_tracking_events"));
    }

    private async Task<ReceivedWebhook> SendAsync(string status)
    {
        using var http = _sandbox.CreateClient();
        using var response = await http.PostAsJsonAsync(
            $"/carriers/ridgeline/sandbox/labels/{_label.CarrierLabelId}/events", new TrackingEventRequestDto(status));
        response.EnsureSuccessStatusCode();
        return _sandbox.ReceivedWebhooks[^1];
    }

    private async Task<TrackingWebhookResult> ReceiveAsync(ReceivedWebhook webhook)
    {
        await using var scope = _services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<TrackingWebhookReceiver>().ReceiveAsync(webhook.Signature, webhook.Body, default);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = await _database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(sql);
    }

    private async Task<string> ShipmentStatusAsync()
    {
        await using var connection = await _database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<string>("SELECT status FROM shipments WHERE id = @Id", new { Id = _shipmentId }) ?? "none";
    }
}

using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Stateset.Activities.Shipping;
using Stateset.Activities.Shipping.Carriers;
using Stateset.Sandboxes.Carriers;
using Stateset.Testing;
using Stateset.Workflows.Activities;
using Temporalio.Exceptions;
using Temporalio.Testing;

namespace Stateset.Shipping.Tests;

/// <summary>The DB-backed shipping activities against a fresh migrated database and the carriers sandbox.</summary>
[Collection(PostgresCollection.Name)]
public sealed class LabelActivitiesTests(PostgresFixture postgres, SharedCarrierSandbox shared) : IClassFixture<SharedCarrierSandbox>, IAsyncLifetime
{
    private static readonly Rate RidgelineGround = new("ridgeline", "GROUND", ServiceLevel.Ground, 9.30m, "USD", 4);

    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 22, 14, 0, 0, TimeSpan.Zero));
    private readonly string _shipmentId = $"o-{Guid.NewGuid():N}:shipment-1";
    private CarrierSandboxHost _sandbox = null!;
    private ServiceProvider _services = null!;
    private NpgsqlDataSource _database = null!;

    public async Task InitializeAsync()
    {
        _sandbox = shared.Host;
        _sandbox.Reset();
        _database = NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync());
        _services = _sandbox.CreateShippingServices(services =>
        {
            services.AddSingleton(_database);
            services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock));
        });
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task BuyLabel_Twice_BuysOnceAndReturnsTheSameLabel()
    {
        var first = await RunAsync(a => a.BuyLabelAsync(BuyInput()));
        var second = await RunAsync(a => a.BuyLabelAsync(BuyInput()));

        Assert.Equal(first, second);
        Assert.Equal(1, _sandbox.State.CallsTo("ridgeline"));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM labels"));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM outbox_events WHERE event_type = 'label.purchased'"));
        var shipment = await QueryShipmentAsync();
        Assert.Equal(("label_purchased", first.TrackingNumber, "ridgeline"), (shipment.Status, shipment.TrackingNumber, shipment.Carrier));
    }

    [Fact]
    public async Task BuyLabel_ConcurrentDuplicates_StoreOneLabelBoughtOnce()
    {
        var labels = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => RunAsync(a => a.BuyLabelAsync(BuyInput()))));

        Assert.Single(labels.Distinct());
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM labels"));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM outbox_events WHERE event_type = 'label.purchased'"));
    }

    [Fact]
    public async Task BuyLabel_RetriedAfterTheCarrierSoldButBeforeTheRowWasWritten_GetsTheLabelAlreadyPaidFor()
    {
        // The first attempt reached the carrier with the shipment's key, then the worker died.
        var carrier = _services.GetServices<ICarrierClient>().Single(c => c.Carrier == "ridgeline");
        var paidFor = await carrier.PurchaseLabelAsync(
            new CarrierPurchaseRequest("GROUND", Addresses.RenoWarehouse, Addresses.Seattle, Addresses.SmallBox), LabelActivities.LabelKey(_shipmentId), default);

        var label = await RunAsync(a => a.BuyLabelAsync(BuyInput()));

        Assert.Equal((paidFor.LabelId, paidFor.TrackingNumber), (label.CarrierLabelId, label.TrackingNumber));
    }

    [Fact]
    public async Task BuyLabel_CarrierFailingPurchases_FailsRetryably_ThenTheRetryBuysOnce()
    {
        _sandbox.State.SetFaults("ridgeline", new CarrierFaults { FailPurchases = true });

        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(() => RunAsync(a => a.BuyLabelAsync(BuyInput())));
        _sandbox.State.SetFaults("ridgeline", new CarrierFaults());
        var label = await RunAsync(a => a.BuyLabelAsync(BuyInput()));

        Assert.Equal(ShippingFailures.CarriersUnavailable, failure.ErrorType);
        Assert.False(failure.NonRetryable);
        Assert.Equal(label, await RunAsync(a => a.BuyLabelAsync(BuyInput())));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM labels"));
    }

    [Fact]
    public async Task BuyLabel_ServiceTheCarrierDoesNotOfferOnTheRoute_FailsNonRetryable()
    {
        var input = BuyInput() with { Rate = new Rate("maplepost", "PRIORITY", ServiceLevel.Overnight, 29.90m, "USD", 1) };

        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(() => RunAsync(a => a.BuyLabelAsync(input)));

        Assert.Equal(ShippingFailures.LabelPurchaseRejected, failure.ErrorType);
        Assert.True(failure.NonRetryable);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM labels"));
    }

    [Fact]
    public async Task VoidLabel_Twice_VoidsAtTheCarrierOnceThenDoesNothing()
    {
        var label = await RunAsync(a => a.BuyLabelAsync(BuyInput()));

        var first = await RunAsync(a => a.VoidLabelAsync(new VoidLabelInput(_shipmentId)));
        var second = await RunAsync(a => a.VoidLabelAsync(new VoidLabelInput(_shipmentId)));

        Assert.Equal(new VoidLabelResult(_shipmentId, Voided: true, label.TrackingNumber), first);
        Assert.Equal(new VoidLabelResult(_shipmentId, Voided: false, label.TrackingNumber), second);
        Assert.Equal("voided", _sandbox.State.Label(label.CarrierLabelId)!.Status);
        Assert.Equal("voided", (await QueryShipmentAsync()).Status);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM outbox_events WHERE event_type = 'label.voided'"));
    }

    [Fact]
    public async Task VoidLabel_LabelTheCarrierDoesNotKnow_IsMarkedVoidedInsteadOfFailingTheCompensation()
    {
        await RunAsync(a => a.BuyLabelAsync(BuyInput()));
        await using (var connection = await _database.OpenConnectionAsync())
        {
            // As after a carrier-side purge (or a restarted sandbox): our row names a label the carrier never heard of.
            await connection.ExecuteAsync("UPDATE labels SET carrier_label_id = 'lbl_forgotten'");
        }

        var result = await RunAsync(a => a.VoidLabelAsync(new VoidLabelInput(_shipmentId)));

        Assert.True(result.Voided);
        Assert.Equal("voided", (await QueryShipmentAsync()).Status);
    }

    [Fact]
    public async Task VoidLabel_ShipmentThatNeverGotALabel_IsANoOp()
    {
        var result = await RunAsync(a => a.VoidLabelAsync(new VoidLabelInput(_shipmentId)));

        Assert.Equal(new VoidLabelResult(_shipmentId, Voided: false, TrackingNumber: null), result);
        Assert.Equal(0, _sandbox.State.CallsTo("ridgeline"));
    }

    [Fact]
    public async Task BuyLabel_AfterTheLabelWasVoided_FailsNonRetryable()
    {
        await RunAsync(a => a.BuyLabelAsync(BuyInput()));
        await RunAsync(a => a.VoidLabelAsync(new VoidLabelInput(_shipmentId)));

        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(() => RunAsync(a => a.BuyLabelAsync(BuyInput())));

        Assert.Equal(ShippingFailures.LabelVoided, failure.ErrorType);
        Assert.True(failure.NonRetryable);
    }

    [Fact]
    public async Task RenderLabel_StoresZplAndPdfWithTheLabel()
    {
        var label = await RunAsync(a => a.BuyLabelAsync(BuyInput()));

        var rendered = await RunAsync(a => a.RenderLabelAsync(RenderInput()));

        await using var connection = await _database.OpenConnectionAsync();
        var stored = await connection.QuerySingleAsync<(string Zpl, byte[] Pdf)>("SELECT zpl, pdf FROM labels");
        Assert.Equal((label.TrackingNumber, stored.Zpl.Length, stored.Pdf.Length), (rendered.TrackingNumber, rendered.ZplBytes, rendered.PdfBytes));
        Assert.Contains($"^FD{label.TrackingNumber}^FS", stored.Zpl, StringComparison.Ordinal);
        Assert.Equal("%PDF-"u8.ToArray(), stored.Pdf[..5]);
    }

    [Fact]
    public async Task CloseFailedShipment_AfterAFailedLabelRun_MarksItFailedWithTheReasonAndCancelsItsPrintJobsOnce()
    {
        await RunAsync(a => a.BuyLabelAsync(BuyInput()));
        await RunAsync(a => a.RenderLabelAsync(RenderInput()));
        await RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-reno-1")));
        await RunAsync(a => a.VoidLabelAsync(new VoidLabelInput(_shipmentId)));

        var first = await RunAsync(a => a.CloseFailedShipmentAsync(new CloseFailedShipmentInput(_shipmentId, "failed", "printer on fire")));
        var second = await RunAsync(a => a.CloseFailedShipmentAsync(new CloseFailedShipmentInput(_shipmentId, "failed", "printer on fire")));

        Assert.True(first);
        Assert.False(second);
        Assert.Equal("failed", (await QueryShipmentAsync()).Status);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM shipments WHERE failure_reason = 'printer on fire'"));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM print_jobs WHERE status = 'cancelled'"));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM outbox_events WHERE event_type = 'shipment.failed'"));
    }

    [Fact]
    public async Task CloseFailedShipment_NoShipmentRow_IsDoneWithNothingToDo()
    {
        Assert.False(await RunAsync(a => a.CloseFailedShipmentAsync(new CloseFailedShipmentInput("s-never-made", "cancelled", "cancelled by customer"))));
    }

    [Fact]
    public async Task CreatePrintJob_TwiceForTheSameStation_CreatesOneJobInTheStationsFormat()
    {
        await RunAsync(a => a.BuyLabelAsync(BuyInput()));
        await RunAsync(a => a.RenderLabelAsync(RenderInput()));

        var first = await RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-reno-1")));
        var second = await RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-reno-1")));
        var pdfStation = await RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-mississauga-1")));

        Assert.Equal(first, second);
        Assert.Equal(("zpl", "queued", _shipmentId), (first.Format, first.Status, first.ShipmentId));
        Assert.Equal("pdf", pdfStation.Format);
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM print_jobs"));
    }

    [Fact]
    public async Task CreatePrintJob_ConcurrentDuplicates_CreateOneJob()
    {
        await RunAsync(a => a.BuyLabelAsync(BuyInput()));
        await RunAsync(a => a.RenderLabelAsync(RenderInput()));

        var jobs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-reno-1")))));

        Assert.Single(jobs.Distinct());
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM print_jobs"));
    }

    [Fact]
    public async Task CreatePrintJob_LabelNotRenderedYet_FailsNonRetryable()
    {
        await RunAsync(a => a.BuyLabelAsync(BuyInput()));

        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(
            () => RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-reno-1"))));

        Assert.Equal(ShippingFailures.NotFound, failure.ErrorType);
        Assert.True(failure.NonRetryable);
    }

    [Fact]
    public async Task CreatePrintJob_UnknownStation_FailsNonRetryable()
    {
        await RunAsync(a => a.BuyLabelAsync(BuyInput()));
        await RunAsync(a => a.RenderLabelAsync(RenderInput()));

        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(
            () => RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-nowhere"))));

        Assert.Equal(ShippingFailures.InvalidPrintStation, failure.ErrorType);
        Assert.True(failure.NonRetryable);
    }

    [Fact]
    public async Task AcknowledgePrintJob_Twice_KeepsTheFirstAcknowledgementAndMarksTheShipmentPrinted()
    {
        await RunAsync(a => a.BuyLabelAsync(BuyInput()));
        await RunAsync(a => a.RenderLabelAsync(RenderInput()));
        var job = await RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-reno-1")));

        var first = await RunAsync(a => a.AcknowledgePrintJobAsync(new AcknowledgePrintJobInput(job.Id, "ps-reno-1")));
        _clock.Now += TimeSpan.FromMinutes(3);
        var second = await RunAsync(a => a.AcknowledgePrintJobAsync(new AcknowledgePrintJobInput(job.Id, "ps-reno-1")));

        Assert.Equal(("printed", _clock.Now - TimeSpan.FromMinutes(3)), (first.Status, first.AcknowledgedAt));
        Assert.Equal(first, second);
        Assert.Equal("printed", (await QueryShipmentAsync()).Status);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM outbox_events WHERE event_type = 'label.printed'"));
    }

    [Fact]
    public async Task AcknowledgePrintJob_ByAnotherStation_FailsNonRetryable()
    {
        await RunAsync(a => a.BuyLabelAsync(BuyInput()));
        await RunAsync(a => a.RenderLabelAsync(RenderInput()));
        var job = await RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-reno-1")));

        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(
            () => RunAsync(a => a.AcknowledgePrintJobAsync(new AcknowledgePrintJobInput(job.Id, "ps-mississauga-1"))));

        Assert.Equal(ShippingFailures.InvalidPrintStation, failure.ErrorType);
        Assert.Equal("queued", (await RunAsync(a => a.CreatePrintJobAsync(new CreatePrintJobInput(_shipmentId, "ps-reno-1")))).Status);
    }

    [Fact]
    public async Task ShopRates_AllCarriersDown_FailsRetryably()
    {
        foreach (var carrier in SandboxCarrier.All)
        {
            _sandbox.State.SetFaults(carrier.Code, new CarrierFaults { Down = true });
        }

        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(() => RunAsync(a => a.ShopRatesAsync(
            new ShopRatesInput(Addresses.RenoWarehouse, Addresses.Seattle, Addresses.SmallBox, ServiceLevel.Ground))));

        Assert.Equal(ShippingFailures.CarriersUnavailable, failure.ErrorType);
        Assert.False(failure.NonRetryable);
    }

    [Fact]
    public async Task ShopRates_NoCarrierOffersTheServiceLevel_FailsNonRetryable()
    {
        await using var groundOnly = _sandbox.CreateShippingServices(services => services.AddSingleton(_database), "ridgeline");
        var activities = groundOnly.GetRequiredService<LabelActivities>();

        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(() => new ActivityEnvironment().RunAsync(() => activities.ShopRatesAsync(
            new ShopRatesInput(Addresses.RenoWarehouse, Addresses.Seattle, Addresses.SmallBox, ServiceLevel.Overnight))));

        Assert.Equal(ShippingFailures.NoRateAvailable, failure.ErrorType);
        Assert.True(failure.NonRetryable);
    }

    [Fact]
    public async Task ShopRates_ReturnsTheCheapestRateMeetingTheLevel()
    {
        var rate = await RunAsync(a => a.ShopRatesAsync(
            new ShopRatesInput(Addresses.RenoWarehouse, Addresses.Seattle, Addresses.SmallBox, ServiceLevel.TwoDay)));

        Assert.Equal(("swiftair", "TWO_DAY", ServiceLevel.TwoDay), (rate.Carrier, rate.Service, rate.Level));
    }

    private BuyLabelInput BuyInput() => new(
        _shipmentId, OrderId: "o-1001", RidgelineGround, Addresses.RenoWarehouse, Addresses.Seattle, Addresses.SmallBox);

    private RenderLabelInput RenderInput() => new(_shipmentId, Addresses.RenoWarehouse, Addresses.Seattle, Addresses.SmallBox);

    // Each run gets its own DI scope, as the worker gives each activity attempt.
    private async Task<T> RunAsync<T>(Func<LabelActivities, Task<T>> activity)
    {
        await using var scope = _services.CreateAsyncScope();
        var activities = scope.ServiceProvider.GetRequiredService<LabelActivities>();
        return await new ActivityEnvironment().RunAsync(() => activity(activities));
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = await _database.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(sql);
    }

    private async Task<(string Status, string? TrackingNumber, string? Carrier)> QueryShipmentAsync()
    {
        await using var connection = await _database.OpenConnectionAsync();
        return await connection.QuerySingleAsync<(string, string?, string?)>(
            "SELECT status, tracking_number, carrier FROM shipments WHERE id = @Id", new { Id = _shipmentId });
    }
}

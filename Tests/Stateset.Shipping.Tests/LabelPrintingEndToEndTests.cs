using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Stateset.Activities.ReadModels;
using Stateset.Activities.Shipping;
using Stateset.Testing;
using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.LabelPrinting;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Testing;
using Temporalio.Worker;

namespace Stateset.Shipping.Tests;

/// <summary>
/// One Temporal for the end-to-end tests, through the SDK's <see cref="WorkflowEnvironment"/>: a time-skipping test
/// server (the embedded server's executable unless <see cref="TemporalEnvironments"/> is told otherwise), so the label
/// run's retry backoff is skipped while a test awaits its result; or <c>TEMPORAL_ADDRESS</c>.
/// </summary>
public sealed class TemporalEnvironmentFixture : IAsyncLifetime
{
    private WorkflowEnvironment? _environment;

    public ITemporalClient Client => (_environment ?? throw new InvalidOperationException("not started")).Client;

    public async Task InitializeAsync() => _environment = await TemporalEnvironments.StartTimeSkippingAsync();

    public async Task DisposeAsync()
    {
        if (_environment is not null)
        {
            await _environment.DisposeAsync();
        }
    }
}

/// <summary>
/// The LabelPrinting workflow on a real Temporal worker with the real shipping activities, PostgreSQL and the
/// carriers sandbox over HTTP: what the unit tests prove piece by piece, proven together.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class LabelPrintingEndToEndTests(PostgresFixture postgres, SharedCarrierSandbox shared, TemporalEnvironmentFixture temporal)
    : IClassFixture<SharedCarrierSandbox>, IClassFixture<TemporalEnvironmentFixture>, IAsyncLifetime
{
    private readonly string _shipmentId = $"s-{Guid.NewGuid():N}"[..14];
    private readonly string _taskQueue = $"tq-{Guid.NewGuid():N}";
    private ServiceProvider _services = null!;
    private NpgsqlDataSource _database = null!;

    public async Task InitializeAsync()
    {
        shared.Host.Reset();
        _database = NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync());
        _services = shared.Host.CreateShippingServices(services => services.AddSingleton(_database));
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task UsToCanada_ValidatesShopsBuysRendersAndPrints_WithEveryRecordWritten()
    {
        // The customer typed the address loosely; the workflow's validation step normalises it.
        var to = new Address("Liam Tremblay", "290  Bremner Blvd", "Unit 4", "Toronto", "Ontario", "m5v3l9", "Canada");

        var result = await RunAsync(Input(to), async handle =>
        {
            var printing = await WaitForPrintJobAsync(handle);
            await handle.SignalAsync(wf => wf.PrintedAsync(new PrintAcknowledgement(printing.Id, "ps-reno-1")));
        });

        Assert.True(result.Printed);
        Assert.Equal(("ridgeline", "GROUND_SAVER", "USD"), (result.Carrier, result.Service, result.Currency));
        await using var connection = await _database.OpenConnectionAsync();
        var stored = await connection.QuerySingleAsync<(string Status, string TrackingNumber, string ShipTo)>(
            "SELECT s.status, l.tracking_number, s.ship_to::text FROM shipments s JOIN labels l ON l.shipment_id = s.id WHERE s.id = @Id",
            new { Id = _shipmentId });
        Assert.Equal(("printed", result.TrackingNumber), (stored.Status, stored.TrackingNumber));
        Assert.Contains("\"postalCode\": \"M5V 3L9\"", stored.ShipTo, StringComparison.Ordinal);
        Assert.Equal("printed", await connection.ExecuteScalarAsync<string>("SELECT status FROM print_jobs"));
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT zpl IS NOT NULL AND pdf IS NOT NULL FROM labels"));
    }

    [Fact]
    public async Task CanadianPostalCodeOfAnotherProvince_FailsTheRunAtValidation_WithoutBuying()
    {
        var to = new Address("Liam Tremblay", "290 Bremner Blvd", null, "Vancouver", "BC", "M5V 3L9", "CA");

        var failure = await Assert.ThrowsAsync<Temporalio.Exceptions.WorkflowFailedException>(() => RunAsync(Input(to), _ => Task.CompletedTask));

        Assert.Equal(ShippingFailures.InvalidAddress, Failures.ErrorType(failure));
        Assert.Equal(0, shared.Host.State.CallsTo("ridgeline") + shared.Host.State.CallsTo("swiftair") + shared.Host.State.CallsTo("maplepost"));
    }

    private PrintLabelInput Input(Address to) =>
        new(_shipmentId, "o-3003", Addresses.RenoWarehouse, to, Addresses.SmallBox, ServiceLevel.Ground, "ps-reno-1");

    private async Task<PrintLabelResult> RunAsync(PrintLabelInput input, Func<WorkflowHandle<LabelPrintingWorkflow, PrintLabelResult>, Task> whileRunning)
    {
        var options = new TemporalWorkerOptions(_taskQueue)
            .AddWorkflow<LabelPrintingWorkflow>()
            .AddAllActivities(_services.GetRequiredService<LabelActivities>())
            .AddAllActivities(new ReadModelActivities(_database));
        using var worker = new TemporalWorker(temporal.Client, options);
        return await worker.ExecuteAsync(async () =>
        {
            var handle = await temporal.Client.StartWorkflowAsync(
                (LabelPrintingWorkflow wf) => wf.RunAsync(input), new WorkflowOptions(WorkflowIds.Label(input.ShipmentId), _taskQueue));
            await whileRunning(handle);
            return await handle.GetResultAsync();
        });
    }

    // Polls the status query: the print job exists only once the workflow got that far. Not a sleep on time the
    // test depends on; the test server skips no time while no client awaits a result.
    private static async Task<PrintJob> WaitForPrintJobAsync(WorkflowHandle<LabelPrintingWorkflow, PrintLabelResult> handle)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await handle.QueryAsync(wf => wf.Status)).PrintJob is { } job)
                {
                    return job;
                }
            }
            catch (TemporalException)
            {
                // Queries answer once the first workflow task has run.
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"{handle.Id} never queued its print job.");
    }
}

using Stateset.TemporalServer;
using Stateset.Workflows.Common;
using Stateset.Workflows.OrderFulfillment;
using Temporalio.Client;
using static Stateset.Workflows.Tests.WorkflowTestKit;

namespace Stateset.Workflows.Tests;

/// <summary>
/// The embedded server in this process, for the tests that must move the clock past an activity attempt that is still
/// outstanding (its worker lost it, or its webhook never comes). Temporal's TestService cannot: while an attempt is
/// outstanding its clock runs at real speed, so <c>WorkflowEnvironment.DelayAsync</c> would wait out the 30-second or
/// two-minute timeout for real. The engine's own <see cref="EmbeddedTemporalServer.SkipAsync"/> moves the clock anyway.
/// </summary>
public sealed class EngineClockFixture : IAsyncLifetime
{
    private EmbeddedTemporalServer? _server;
    private ITemporalClient? _client;

    public EmbeddedTemporalServer Server => _server ?? throw new InvalidOperationException("not started");

    public ITemporalClient Client => _client ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _server = await EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { TimeSkipping = true });
        _client = await TemporalClient.ConnectAsync(new(_server.Target) { Namespace = "default" });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EngineClockCollection : ICollectionFixture<EngineClockFixture>
{
    public const string Name = "engine clock";
}

/// <summary>Payment authorisation attempts that are lost: the workflow asks again once their timeout has passed.</summary>
[Collection(EngineClockCollection.Name)]
public sealed class LostAuthorizationTests(EngineClockFixture engine)
{
    private ITemporalClient Client => engine.Client;

    [Fact]
    public async Task Run_WorkerLostMidAuthorization_RetriesTheProviderRequestWithinSecondsAndProceeds()
    {
        var world = new ScriptedWorld(Client) { LostAuthorizationAttempts = 1 };
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Timeline.Any(e => e.Step == "create authorization"));

            // Under a minute of (skipped) time: the lost attempt's 30-second start-to-close, then an immediate retry.
            await engine.Server.SkipAsync(TimeSpan.FromSeconds(45));
            var status = await WaitForStatusAsync(handle, wf => wf.Status, s => s.Money.Authorized > 0);

            Assert.Equal(100m, status.Money.Authorized);
            await Histories.SaveAsync(Client, "order-authorization-retried", handle.Id);
            await Histories.SaveAsync(Client, "order-steps-authorization-retried", handle.Id);
        });

        Assert.Equal(2, world.CallsTo($"Authorize {orderId} ").Count());
    }

    [Fact]
    public async Task Run_AuthorizationWebhookNeverArrives_AsksTheProviderAfterTwoMinutesAndProceeds()
    {
        var world = new ScriptedWorld(Client) { LoseAuthorizationCallbacks = true };
        var orderId = NewId("o");
        var taskQueue = NewTaskQueue();
        await RunWorkerAsync(Client, taskQueue, world, async () =>
        {
            var handle = await StartAsync(orderId, taskQueue);
            await WaitForStatusAsync(handle, wf => wf.Status, s => s.Stage == "authorizing payment" && s.Timeline.Any(e => e.Step == "authorize payment"));

            await engine.Server.SkipAsync(TimeSpan.FromMinutes(3));
            var status = await WaitForStatusAsync(handle, wf => wf.Status, s => s.Money.Authorized > 0);

            Assert.Equal(100m, status.Money.Authorized);
        });

        Assert.Single(world.CallsTo($"AwaitAuthorization {orderId}:payment attempt 2"));
    }

    private Task<WorkflowHandle<OrderFulfillmentWorkflow, FulfillOrderResult>> StartAsync(string orderId, string taskQueue) =>
        Client.StartWorkflowAsync((OrderFulfillmentWorkflow wf) => wf.RunAsync(Orders.Input(orderId)), new WorkflowOptions(WorkflowIds.Order(orderId), taskQueue));
}

using Temporalio.Client;
using Temporalio.Testing;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

/// <summary>
/// One server for the whole suite, through the SDK's own <see cref="WorkflowEnvironment"/>: the embedded server's
/// executable launched as Temporal's time-skipping test server is (or the executable STATESET_TEMPORAL_TEST_SERVER names,
/// such as Temporal's own test server, so these tests check the embedded one against it), or TEMPORAL_ADDRESS when set.
/// </summary>
public sealed class TemporalServerFixture : IAsyncLifetime
{
    public WorkflowEnvironment Environment { get; private set; } = null!;

    public ITemporalClient Client => Environment.Client;

    public async Task InitializeAsync() => Environment = await TemporalEnvironments.StartTimeSkippingAsync();

    public async Task DisposeAsync() => await Environment.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class TemporalServerCollection : ICollectionFixture<TemporalServerFixture>
{
    public const string Name = "Temporal server";
}

[Collection(TemporalServerCollection.Name)]
public abstract class TemporalServerTest(TemporalServerFixture fixture)
{
    protected TemporalServerFixture Fixture { get; } = fixture;

    protected ITemporalClient Client => Fixture.Client;

    protected WorkflowEnvironment Environment => Fixture.Environment;

    protected static string NewTaskQueue() => $"tq-{Guid.NewGuid()}";

    protected static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid()}";

    /// <summary>Runs <paramref name="test"/> while a real worker polls a fresh task queue.</summary>
    protected async Task WithWorkerAsync(Action<TemporalWorkerOptions> register, Func<string, Task> test)
    {
        var taskQueue = NewTaskQueue();
        var options = new TemporalWorkerOptions(taskQueue);
        register(options);
        using var worker = new TemporalWorker(Client, options);
        await worker.ExecuteAsync(() => test(taskQueue));
    }
}

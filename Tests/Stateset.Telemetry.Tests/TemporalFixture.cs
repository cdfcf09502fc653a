using Stateset.Testing;
using Temporalio.Testing;

namespace Stateset.Telemetry.Tests;

/// <summary>
/// One Temporal for the assembly, through the SDK's own <see cref="WorkflowEnvironment"/>: a dev server on the real clock
/// (the tests here watch spans, metrics and logs of runs that wait for nothing), or TEMPORAL_ADDRESS when set.
/// </summary>
public sealed class TemporalFixture : IAsyncLifetime
{
    private WorkflowEnvironment? _environment;

    public WorkflowEnvironment Environment => _environment ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _environment = await TemporalEnvironments.StartLocalAsync();

    public async Task DisposeAsync()
    {
        if (_environment is not null)
        {
            await _environment.DisposeAsync();
        }
    }
}

/// <summary>
/// Every test here shares the fixture and runs in this one collection, one at a time: span, metric and log
/// listeners are process-wide, so a test running beside another would see its telemetry too.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TemporalCollection : ICollectionFixture<TemporalFixture>
{
    public const string Name = "temporal";
}

using Temporalio.Testing;

namespace Stateset.Workflows.Tests;

/// <summary>
/// One Temporal for the assembly, through the SDK's own <see cref="WorkflowEnvironment"/>: a time-skipping test server
/// (the embedded server's executable unless <see cref="TemporalEnvironments"/> is told otherwise), or TEMPORAL_ADDRESS.
/// </summary>
public sealed class TemporalFixture : IAsyncLifetime
{
    private WorkflowEnvironment? _environment;

    public WorkflowEnvironment Environment => _environment ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _environment = await TemporalEnvironments.StartTimeSkippingAsync();

    public async Task DisposeAsync()
    {
        if (_environment is not null)
        {
            await _environment.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TemporalCollection : ICollectionFixture<TemporalFixture>
{
    public const string Name = "temporal";
}

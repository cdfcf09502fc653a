using Stateset.TemporalServer.Testing;

namespace Stateset.Workflows.Tests;

/// <summary>One Temporal for the assembly: the embedded server with time skipping, or TEMPORAL_ADDRESS when set.</summary>
public sealed class TemporalFixture : IAsyncLifetime
{
    private TemporalTestEnvironment? _environment;

    public TemporalTestEnvironment Environment => _environment ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _environment = await TemporalTestEnvironment.StartAsync();

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

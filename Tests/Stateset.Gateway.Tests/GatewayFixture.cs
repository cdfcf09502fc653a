using Microsoft.AspNetCore.Mvc.Testing;
using Stateset.Testing;
using Temporalio.Testing;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The real gateway app over a real PostgreSQL and a real Temporal: a dev server on the real clock started through the
/// SDK's <see cref="WorkflowEnvironment"/> (the embedded server's executable unless <see cref="TemporalEnvironments"/> is
/// told otherwise; these tests start, signal and describe runs but never wait out a timer), or TEMPORAL_ADDRESS.
/// </summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    private readonly PostgresFixture _postgres = new();
    private WorkflowEnvironment? _temporal;
    private WebApplicationFactory<Program>? _factory;

    /// <summary>The bootstrap admin key the gateway is configured with.</summary>
    public const string AdminKey = "ss_testadmin_0123456789abcdefghijklmnopqrstuvwxyzABCDEF";

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("not started");

    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>Gets the PostgreSQL cluster the gateway uses, which a test may stop and start to simulate an outage.</summary>
    public PostgresFixture Postgres => _postgres;

    public WorkflowEnvironment Temporal => _temporal ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        _temporal = await TemporalEnvironments.StartLocalAsync();
        var connectionString = ConnectionString = await _postgres.CreateEmptyDatabaseAsync();
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Commerce", connectionString);
            web.UseSetting("TEMPORAL_ADDRESS", _temporal.Client.Connection.Options.TargetHost);
            web.UseSetting("TEMPORAL_NAMESPACE", _temporal.Client.Options.Namespace);
            web.UseSetting("Gateway:AdminKey", AdminKey);
        });

        // Started now rather than by the first request: starting is what migrates the empty database, and a test
        // that writes rows before its first request must not depend on running after one that made a request.
        _factory.StartServer();
    }

    /// <summary>A client that sends the given API key.</summary>
    public HttpClient CreateClient(string? apiKey)
    {
        var client = Factory.CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        return client;
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        if (_temporal is not null)
        {
            await _temporal.DisposeAsync();
        }

        await _postgres.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}

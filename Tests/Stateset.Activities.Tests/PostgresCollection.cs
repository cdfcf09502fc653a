using Stateset.Testing;

namespace Stateset.Activities.Tests;

/// <summary>Tests that need only PostgreSQL.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}

/// <summary>
/// Tests that also run web servers on loopback (payment sandbox, webhook subscribers). A second collection with
/// its own cluster lets xunit run it beside <see cref="PostgresCollection"/> on another core.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostgresWithHttpCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres-http";
}

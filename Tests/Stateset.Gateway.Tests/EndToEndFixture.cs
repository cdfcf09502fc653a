using Stateset.Testing.EndToEnd;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The whole system on loopback (<see cref="StatesetSystem"/>, shared with the end-to-end suite): the gateway's own
/// end-to-end and browser tests run against it.
/// </summary>
public sealed class EndToEndFixture : StatesetSystem;

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<EndToEndFixture>
{
    public const string Name = "end-to-end";
}

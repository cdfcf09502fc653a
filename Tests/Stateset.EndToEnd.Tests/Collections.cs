using Stateset.Testing.EndToEnd;

namespace Stateset.EndToEnd.Tests;

// One system per collection. xunit runs a collection's tests one after another and the collections side by side, so
// what one scenario does to shared state (the virtual clock, carrier faults, the worker) stays inside its collection.

/// <summary>Orders on the happy path, the operator's decisions, cancellation, idempotency and hostile input.</summary>
[CollectionDefinition(Name)]
public sealed class OrdersCollection : ICollectionFixture<StatesetSystem>
{
    public const string Name = "e2e-orders";
}

/// <summary>Refunds and returns: every money path after capture.</summary>
[CollectionDefinition(Name)]
public sealed class MoneyCollection : ICollectionFixture<StatesetSystem>
{
    public const string Name = "e2e-money";
}

/// <summary>Labels and the carriers: faults injected into the carrier sandbox reach every run of the system.</summary>
[CollectionDefinition(Name)]
public sealed class CarriersCollection : ICollectionFixture<StatesetSystem>
{
    public const string Name = "e2e-carriers";
}

/// <summary>Scenarios that skip the virtual clock, which moves for every run on the server.</summary>
[CollectionDefinition(Name)]
public sealed class ClockCollection : ICollectionFixture<StatesetSystem>
{
    public const string Name = "e2e-clock";
}

/// <summary>Activities broken on purpose and the worker restarted.</summary>
[CollectionDefinition(Name)]
public sealed class FaultsCollection : ICollectionFixture<StatesetSystem>
{
    public const string Name = "e2e-faults";
}

/// <summary>The Temporal server killed with SIGKILL under load and started again on its file: a system of its own.</summary>
[CollectionDefinition(Name)]
public sealed class TemporalKillCollection : ICollectionFixture<StatesetSystemOnAKillableTemporal>
{
    public const string Name = "e2e-temporal-kill";
}

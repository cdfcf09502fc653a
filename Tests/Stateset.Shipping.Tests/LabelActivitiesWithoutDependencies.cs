using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Stateset.Activities.Shipping;
using Stateset.Activities.Shipping.Carriers;

namespace Stateset.Shipping.Tests;

/// <summary>The activities for tests of methods that touch neither database nor carriers (the data source never connects).</summary>
public sealed class LabelActivitiesWithoutDependencies : IDisposable
{
    private readonly NpgsqlDataSource _unusedDatabase = NpgsqlDataSource.Create("Host=127.0.0.1;Database=unused");

    public LabelActivitiesWithoutDependencies() =>
        Instance = new LabelActivities(
            _unusedDatabase,
            new RateShopper([], NullLogger<RateShopper>.Instance),
            [],
            TimeProvider.System,
            NullLogger<LabelActivities>.Instance);

    public LabelActivities Instance { get; }

    public void Dispose() => _unusedDatabase.Dispose();
}

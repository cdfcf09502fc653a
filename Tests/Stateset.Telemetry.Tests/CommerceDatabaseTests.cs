using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Stateset.ServiceDefaults;

namespace Stateset.Telemetry.Tests;

/// <summary>The commerce data source keeps prepared statements across pool uses unless the connection string says otherwise.</summary>
public sealed class CommerceDatabaseTests
{
    [Theory]
    [InlineData("Host=db;Database=stateset", true, 64)]
    [InlineData("Host=db;Database=stateset;No Reset On Close=false", false, 64)]
    [InlineData("Host=db;Database=stateset;NoResetOnClose=false;Max Auto Prepare=0", false, 0)]
    public void DataSource_ReusesPreparedStatements_UnlessTheConnectionStringSaysOtherwise(string given, bool noReset, int maxAutoPrepare)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Commerce"] = given });
        builder.AddCommerceDatabase();
        using var host = builder.Build();

        var used = new NpgsqlConnectionStringBuilder(host.Services.GetRequiredService<NpgsqlDataSource>().ConnectionString);

        Assert.Equal(noReset, used.NoResetOnClose);
        Assert.Equal(maxAutoPrepare, used.MaxAutoPrepare);
        Assert.Equal("db", used.Host);
    }
}

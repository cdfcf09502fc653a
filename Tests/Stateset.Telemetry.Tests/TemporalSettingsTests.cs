using Microsoft.Extensions.Configuration;
using Stateset.ServiceDefaults;
using Temporalio.Client;

namespace Stateset.Telemetry.Tests;

/// <summary>gRPC compression: on over a network (the SDK's default), off to a server on the loopback, or as set.</summary>
public sealed class TemporalSettingsTests
{
    [Theory]
    [InlineData("localhost:7233", false)]
    [InlineData("127.0.0.1:7233", false)]
    [InlineData("[::1]:7233", false)]
    [InlineData("temporal.internal:7233", true)]
    [InlineData("my-ns.a1b2c.tmprl.cloud:7233", true)]
    [InlineData("10.0.4.2:7233", true)]
    public void Compression_Unset_IsOffOnlyForTheLoopback(string address, bool gzip)
    {
        var options = Settings(("TEMPORAL_ADDRESS", address)).ToConnectOptions();

        Assert.Equal(gzip, options.GrpcCompression is GrpcCompression.Gzip);
        Assert.Equal(!gzip, options.GrpcCompression is GrpcCompression.None);
    }

    [Theory]
    [InlineData("gzip", "localhost:7233", true)]
    [InlineData("none", "temporal.internal:7233", false)]
    [InlineData(" GZIP ", "127.0.0.1:7233", true)]
    public void Compression_AsSet_Wins(string setting, string address, bool gzip)
    {
        var options = Settings(("TEMPORAL_ADDRESS", address), ("TEMPORAL_GRPC_COMPRESSION", setting)).ToConnectOptions();

        Assert.Equal(gzip, options.GrpcCompression is GrpcCompression.Gzip);
    }

    [Fact]
    public void Compression_Unknown_IsRefusedNamingTheVariable()
    {
        var failure = Assert.Throws<InvalidOperationException>(() => Settings(("TEMPORAL_GRPC_COMPRESSION", "zstd")));

        Assert.Equal("TEMPORAL_GRPC_COMPRESSION must be gzip or none, not 'zstd'.", failure.Message);
    }

    private static TemporalSettings Settings(params (string Key, string Value)[] values) =>
        TemporalSettings.From(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build());
}

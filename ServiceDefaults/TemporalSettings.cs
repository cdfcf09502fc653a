using Microsoft.Extensions.Configuration;
using Temporalio.Client;

namespace Stateset.ServiceDefaults;

/// <summary>
/// How to reach Temporal. Read from the <c>Temporal</c> configuration section, with the variables the Temporal
/// CLI and SDKs use (<c>TEMPORAL_ADDRESS</c>, <c>TEMPORAL_NAMESPACE</c>, <c>TEMPORAL_API_KEY</c>,
/// <c>TEMPORAL_TLS_CERT</c>, <c>TEMPORAL_TLS_KEY</c>, and our <c>TEMPORAL_GRPC_COMPRESSION</c>) taking precedence, so one setting points every process at
/// a real server or at Temporal Cloud.
/// </summary>
public sealed record TemporalSettings
{
    /// <summary>The task queue our workflows and activities run on unless configured otherwise.</summary>
    public const string DefaultTaskQueue = "stateset";

    /// <summary>Gets the server's host:port.</summary>
    public string Address { get; init; } = "localhost:7233";

    /// <summary>Gets the namespace.</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>Gets the task queue the worker polls and the gateway starts workflows on.</summary>
    public string TaskQueue { get; init; } = DefaultTaskQueue;

    /// <summary>Gets the API key (Temporal Cloud); setting one turns TLS on.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Gets the path of a client certificate (PEM) for mTLS.</summary>
    public string? TlsCertPath { get; init; }

    /// <summary>Gets the path of the client certificate's private key (PEM).</summary>
    public string? TlsKeyPath { get; init; }

    /// <summary>Gets a value indicating whether to use TLS without a client certificate.</summary>
    public bool Tls { get; init; }

    /// <summary>
    /// Gets a value indicating whether the gRPC calls are gzip-compressed: <c>gzip</c> or <c>none</c>. Unset, they are
    /// compressed over a network (the SDK's default) but not to a server on this machine's loopback, where compressing
    /// every call and its answer saves no bandwidth and costs CPU on both ends.
    /// </summary>
    public bool? Compression { get; init; }

    /// <summary>Gets a value indicating whether the calls are compressed, after <see cref="Compression"/>'s default.</summary>
    public bool Compresses => Compression ?? !IsLoopback(Address);

    /// <summary>Reads the settings from configuration and the standard Temporal environment variables.</summary>
    public static TemporalSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Temporal");
        var defaults = new TemporalSettings();
        string? Read(string variable, string key) => configuration[variable] is { Length: > 0 } fromEnv ? fromEnv : section[key];

        return new TemporalSettings
        {
            Address = Read("TEMPORAL_ADDRESS", "Address") ?? defaults.Address,
            Namespace = Read("TEMPORAL_NAMESPACE", "Namespace") ?? defaults.Namespace,
            TaskQueue = Read("TEMPORAL_TASK_QUEUE", "TaskQueue") ?? defaults.TaskQueue,
            ApiKey = Read("TEMPORAL_API_KEY", "ApiKey"),
            TlsCertPath = Read("TEMPORAL_TLS_CERT", "TlsCertPath"),
            TlsKeyPath = Read("TEMPORAL_TLS_KEY", "TlsKeyPath"),
            Tls = bool.TryParse(Read("TEMPORAL_TLS", "Tls"), out var tls) && tls,
            Compression = Read("TEMPORAL_GRPC_COMPRESSION", "GrpcCompression")?.Trim().ToLowerInvariant() switch
            {
                null or "" => null,
                "gzip" => true,
                "none" => false,
                var other => throw new InvalidOperationException($"TEMPORAL_GRPC_COMPRESSION must be gzip or none, not '{other}'."),
            },
        };
    }

    /// <summary>Builds the SDK's connection options for these settings.</summary>
    public TemporalClientConnectOptions ToConnectOptions()
    {
        var options = new TemporalClientConnectOptions(Address)
        {
            Namespace = Namespace,
            ApiKey = ApiKey,
            GrpcCompression = Compresses ? new GrpcCompression.Gzip() : new GrpcCompression.None(),
        };
        if (TlsCertPath is not null && TlsKeyPath is not null)
        {
            options.Tls = new TlsOptions
            {
                ClientCert = File.ReadAllBytes(TlsCertPath),
                ClientPrivateKey = File.ReadAllBytes(TlsKeyPath),
            };
        }
        else if (Tls || ApiKey is not null)
        {
            options.Tls = new TlsOptions();
        }

        return options;
    }

    private static bool IsLoopback(string address)
    {
        // host:port, [v6]:port or a bare host.
        var host = address.StartsWith('[') ? address[1..address.IndexOf(']', StringComparison.Ordinal)] : address.Split(':')[0];
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));
    }
}

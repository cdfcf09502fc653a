using Grpc.Core;

namespace Stateset.TemporalServer.HttpApi;

/// <summary>
/// The call context an RPC handler sees when it is reached over the HTTP API instead of gRPC: no deadline (as
/// grpc-gateway passes none), cancelled when the browser goes away.
/// </summary>
internal sealed class HttpCallContext(HttpContext http, string method) : ServerCallContext
{
    private readonly Metadata _requestHeaders = [];
    private readonly Metadata _responseTrailers = [];

    protected override string MethodCore => method;

    protected override string HostCore => http.Request.Host.Value ?? string.Empty;

    protected override string PeerCore => $"http:{http.Connection.RemoteIpAddress}:{http.Connection.RemotePort}";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => _requestHeaders;

    protected override CancellationToken CancellationTokenCore => http.RequestAborted;

    protected override Metadata ResponseTrailersCore => _responseTrailers;

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("HTTP API calls do not propagate to other calls.");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}

using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Temporalio.Api.Common.V1;

namespace Stateset.TemporalServer.HttpApi;

/// <summary>Errors in grpc-gateway's shape, <c>{code, message, details}</c>, with its HTTP status for each gRPC code.</summary>
internal static class HttpApiErrors
{
    public static int HttpStatus(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => 499,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static Task WriteAsync(HttpContext http, RpcException error, JsonFormatter formatter)
    {
        var details = new JsonArray();
        var encoded = error.Trailers.GetValueBytes("grpc-status-details-bin");
        if (encoded is not null)
        {
            foreach (var detail in GrpcStatus.Parser.ParseFrom(encoded).Details)
            {
                details.Add(JsonNode.Parse(formatter.Format(detail)));
            }
        }

        return WriteAsync(http, error.StatusCode, error.Status.Detail, details);
    }

    public static Task WriteAsync(HttpContext http, StatusCode code, string message, JsonArray? details = null)
    {
        http.Response.StatusCode = HttpStatus(code);
        http.Response.ContentType = "application/json";
        var body = new JsonObject { ["code"] = (int)code, ["message"] = message, ["details"] = details ?? [] };
        return http.Response.WriteAsync(body.ToJsonString(), http.RequestAborted);
    }
}

using Microsoft.AspNetCore.Diagnostics;
using Temporalio.Exceptions;

namespace Stateset.Gateway.Validation;

/// <summary>
/// Answers 503 problem+json with <c>Retry-After</c> when a request failed because the Temporal frontend could not be
/// reached (a restarting cluster, a lost connection) after the SDK's own retries gave up. Whatever the request did
/// before that is safe to repeat: a start's idempotency claim is answered by the client's retry with the same key,
/// and a signal or an activity completion is simply sent again. Other RPC errors stay what they are.
/// </summary>
public sealed class TemporalUnavailableExceptionHandler(ILogger<TemporalUnavailableExceptionHandler> logger) : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (!IsUnavailable(exception))
        {
            return false;
        }

        logger.LogWarning("Temporal is unreachable; {Method} {Path} answered 503: {Reason}", httpContext.Request.Method, httpContext.Request.Path, exception.Message);
        await UnavailableAnswer.WriteAsync(httpContext, "Temporal is unavailable", "Temporal cannot be reached right now; a start is completed by its retry with the same Idempotency-Key.");
        return true;
    }

    /// <summary>Whether <paramref name="exception"/> (or what it wraps) says the Temporal frontend is out of reach.</summary>
    public static bool IsUnavailable(Exception? exception) => exception switch
    {
        null => false,
        RpcException rpc => rpc.Code is RpcException.StatusCode.Unavailable or RpcException.StatusCode.DeadlineExceeded,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsUnavailable),
        _ => IsUnavailable(exception.InnerException),
    };
}

using Temporalio.Client;
using Temporalio.Exceptions;

namespace Stateset.Activities.Payments;

/// <summary>Completes or fails an activity that returned with <c>CompleteAsyncException</c>, by its task token.</summary>
public interface IAsyncActivityCompleter
{
    /// <summary>Completes the activity with a result.</summary>
    Task CompleteAsync(byte[] taskToken, object? result, CancellationToken ct);

    /// <summary>Fails the activity (an <see cref="ApplicationFailureException"/> keeps its type and retryability).</summary>
    Task FailAsync(byte[] taskToken, Exception failure, CancellationToken ct);
}

/// <summary>
/// Completes activities through the Temporal client. A token the server no longer knows (the attempt already
/// completed, timed out or was retried) is ignored: the activity's next attempt finds the settled row and
/// answers by itself, so nothing is lost.
/// </summary>
public sealed class TemporalAsyncActivityCompleter(ITemporalClient client) : IAsyncActivityCompleter
{
    /// <inheritdoc />
    public async Task CompleteAsync(byte[] taskToken, object? result, CancellationToken ct)
    {
        try
        {
            await client.GetAsyncActivityHandle(taskToken).CompleteAsync(result, new() { Rpc = new() { CancellationToken = ct } });
        }
        catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
        {
        }
    }

    /// <inheritdoc />
    public async Task FailAsync(byte[] taskToken, Exception failure, CancellationToken ct)
    {
        try
        {
            await client.GetAsyncActivityHandle(taskToken).FailAsync(failure, new() { Rpc = new() { CancellationToken = ct } });
        }
        catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
        {
        }
    }
}

using System.Collections.Concurrent;
using Stateset.Activities.Payments;

namespace Stateset.Activities.Tests.Payments;

/// <summary>Stands in for the Temporal server's async completion: records what the webhook processor completes.</summary>
public sealed class RecordingCompleter : IAsyncActivityCompleter
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Completion>> _first = new();

    public ConcurrentQueue<Completion> All { get; } = new();

    public Task CompleteAsync(byte[] taskToken, object? result, CancellationToken ct) => Record(new Completion(taskToken, result, null));

    public Task FailAsync(byte[] taskToken, Exception failure, CancellationToken ct) => Record(new Completion(taskToken, null, failure));

    /// <summary>Waits for the first completion of a token (the webhook arrives on another thread).</summary>
    public Task<Completion> ForTokenAsync(byte[] taskToken) =>
        Slot(taskToken).Task.WaitAsync(TimeSpan.FromSeconds(10));

    private Task Record(Completion completion)
    {
        All.Enqueue(completion);
        Slot(completion.TaskToken).TrySetResult(completion);
        return Task.CompletedTask;
    }

    private TaskCompletionSource<Completion> Slot(byte[] token) =>
        _first.GetOrAdd(Convert.ToBase64String(token), _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    public sealed record Completion(byte[] TaskToken, object? Result, Exception? Failure);
}

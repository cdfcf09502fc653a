using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

/// <summary>
/// Waits for a payment callback (async activity completion); on "Cancel" it gives up on the payment (TRY_CANCEL) and
/// then waits a day before closing, like an order that is cancelled while the payment is pending.
/// </summary>
[Workflow]
public sealed class AbandonedPaymentWorkflow
{
    private bool _cancel;

    [WorkflowRun]
    public async Task<string> RunAsync(string key)
    {
        using var paymentCancellation = new CancellationTokenSource();
        var payment = Workflow.ExecuteActivityAsync(
            (TestActivities a) => a.CompleteLater(key),
            new() { StartToCloseTimeout = TimeSpan.FromHours(1), CancellationToken = paymentCancellation.Token });
        await Workflow.WhenAnyAsync(payment, Workflow.WaitConditionAsync(() => _cancel));
        if (payment.IsCompleted)
        {
            return await payment;
        }

        paymentCancellation.Cancel();
        await Workflow.DelayAsync(TimeSpan.FromDays(1));
        return "cancelled, cooled down";
    }

    [WorkflowSignal]
    public async Task CancelAsync() => _cancel = true;
}

using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Exceptions;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

/// <summary>Async activity completion, as the payment gateway's callback does it.</summary>
public sealed class AsyncCompletionTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    private static void Register(TemporalWorkerOptions options) =>
        options.AddWorkflow<ActivityScenarioWorkflow>().AddWorkflow<AbandonedPaymentWorkflow>().AddAllActivities(new TestActivities());

    [Fact]
    public async Task CompleteByTaskToken_ResultReachesWorkflow()
    {
        var key = NewId("pay");
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var scenario = new ActivityScenario("CompleteLater", key, StartToCloseSeconds: 3600);
            var handle = await Client.StartWorkflowAsync(
                (ActivityScenarioWorkflow wf) => wf.RunAsync(scenario), new(NewId("payment"), taskQueue));
            var token = Convert.FromBase64String(await TestActivities.StartedAsync(key));
            var activity = Client.GetAsyncActivityHandle(token);
            await activity.HeartbeatAsync(new() { Details = ["authorising"] });
            await activity.CompleteAsync("authorised");
            Assert.Equal("authorised", await handle.GetResultAsync());

            var stale = await Assert.ThrowsAnyAsync<Exception>(() => activity.CompleteAsync("twice"));
            Assert.True(stale is RpcException { Code: RpcException.StatusCode.NotFound } or AsyncActivityCanceledException, stale.ToString());
        });
    }

    [Fact]
    public async Task CompleteById_ResultReachesWorkflow()
    {
        var key = NewId("pay");
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var id = NewId("payment");
            var scenario = new ActivityScenario("CompleteLater", key, StartToCloseSeconds: 3600, ActivityId: "authorise");
            var handle = await Client.StartWorkflowAsync(
                (ActivityScenarioWorkflow wf) => wf.RunAsync(scenario),
                new(id, taskQueue));
            await TestActivities.StartedAsync(key);
            var activity = Client.GetAsyncActivityHandle(id, handle.ResultRunId!, "authorise");
            await activity.HeartbeatAsync();
            await activity.CompleteAsync("settled");
            Assert.Equal("settled", await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task FailByTaskToken_WorkflowSeesFailure()
    {
        var key = NewId("pay");
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var scenario = new ActivityScenario("CompleteLater", key, MaximumAttempts: 1, StartToCloseSeconds: 3600);
            var handle = await Client.StartWorkflowAsync(
                (ActivityScenarioWorkflow wf) => wf.RunAsync(scenario),
                new(NewId("payment"), taskQueue));
            var token = Convert.FromBase64String(await TestActivities.StartedAsync(key));
            await Client.GetAsyncActivityHandle(token).FailAsync(new ApplicationFailureException("card declined", "Declined"));
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
            var cause = Assert.IsType<ApplicationFailureException>(Assert.IsType<ActivityFailureException>(e.InnerException).InnerException);
            Assert.Equal("card declined", cause.Message);
        });
    }

    [TimeSkippingFact]
    public async Task WaitingForCallback_ClockDoesNotSkipPastStartToClose()
    {
        var key = NewId("pay");
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var scenario = new ActivityScenario("CompleteLater", key, StartToCloseSeconds: 600);
            var handle = await Client.StartWorkflowAsync(
                (ActivityScenarioWorkflow wf) => wf.RunAsync(scenario), new(NewId("payment"), taskQueue));
            var token = Convert.FromBase64String(await TestActivities.StartedAsync(key));
            var result = handle.GetResultAsync();

            // The result is awaited, but an activity waiting for its callback is outstanding: no skipping past its timeout.
            await Task.WhenAny(result, Task.Delay(300));
            Assert.False(result.IsCompleted);
            await Client.GetAsyncActivityHandle(token).CompleteAsync("in time");
            Assert.Equal("in time", await result);
        });
    }

    [TimeSkippingFact]
    public async Task CancelledWhileWaitingForCallback_LaterTimersStillSkip()
    {
        var key = NewId("pay");
        await WithWorkerAsync(Register, async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync((AbandonedPaymentWorkflow wf) => wf.RunAsync(key), new(NewId("abandoned"), taskQueue));
            await TestActivities.StartedAsync(key);
            await handle.SignalAsync(wf => wf.CancelAsync());
            Assert.Equal("cancelled, cooled down", await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(20)));
        });
    }
}

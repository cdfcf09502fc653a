using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

public sealed class ServerBehaviourTests(TemporalServerFixture fixture) : TemporalServerTest(fixture)
{
    [Fact]
    public async Task ManyWorkersAndClients_RunConcurrentWorkflowsIndependently()
    {
        var taskQueue = NewTaskQueue();
        var options = new TemporalWorkerOptions(taskQueue).AddWorkflow<ActivityScenarioWorkflow>().AddAllActivities(new TestActivities());
        var otherClient = await TemporalClient.ConnectAsync(new(Client.Connection.Options.TargetHost!) { Namespace = Client.Options.Namespace });

        // Two workers (one per client connection, as the SDK allows one per queue and client) share the queue.
        using var first = new TemporalWorker(Client, options);
        using var second = new TemporalWorker(otherClient, (TemporalWorkerOptions)options.Clone());
        await first.ExecuteAsync(() => second.ExecuteAsync(async () =>
        {
            var runs = Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? Client : otherClient).ExecuteWorkflowAsync(
                (ActivityScenarioWorkflow wf) => wf.RunAsync(new("Greet", $"n{i}")), new(NewId($"many-{i}"), taskQueue)));
            var results = await Task.WhenAll(runs);
            Assert.Equal(Enumerable.Range(0, 40).Select(i => $"Hi n{i}"), results);
        }));
    }

    [Fact]
    public async Task WorkflowExecutionTimeout_Exceeded_WorkflowTimesOut()
    {
        RequireTimeSkipping();
        await WithWorkerAsync(w => w.AddWorkflow<WaitForeverWorkflow>(), async taskQueue =>
        {
            var handle = await Client.StartWorkflowAsync(
                (WaitForeverWorkflow wf) => wf.RunAsync(), new(NewId("timeout"), taskQueue) { ExecutionTimeout = TimeSpan.FromDays(2) });
            var e = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
            Assert.IsType<TimeoutFailureException>(e.InnerException);
            Assert.Equal(WorkflowExecutionStatus.TimedOut, (await handle.DescribeAsync()).Status);
        });
    }

    [Fact]
    public async Task Start_PortInUse_ThrowsIOException()
    {
        RequireTimeSkipping();

        // The command turns this exception into its one-line "Cannot listen on ..." message and exit code 1.
        var e = await Assert.ThrowsAnyAsync<IOException>(() =>
            EmbeddedTemporalServer.StartAsync(new EmbeddedTemporalServerOptions { Port = Environment.Server!.Port }));
        Assert.Contains("address already in use", e.Message);
    }
}

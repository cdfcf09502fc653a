using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Client;
using Temporalio.Testing;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

/// <summary>
/// The built server's executable launched by the SDK's own Temporalio.Testing.WorkflowEnvironment, exactly as it
/// launches Temporal's test server (<c>&lt;exe&gt; &lt;port&gt;</c>) and the CLI's dev server (<c>server start-dev ...</c>).
/// </summary>
[Collection(LaunchedServersCollection.Name)]
public sealed class WorkflowEnvironmentTests
{
    [Fact]
    public async Task StartTimeSkipping_AwaitingAResult_SkipsTheTimers()
    {
        await using var env = await WorkflowEnvironment.StartTimeSkippingAsync(
            new() { TestServer = new() { ExistingPath = TemporalEnvironments.EmbeddedServerExecutable } });
        Assert.True(env.SupportsTimeSkipping);
        await WithWorkerAsync(env, async taskQueue =>
        {
            var before = await env.GetCurrentTimeAsync();
            var slept = await env.Client.ExecuteWorkflowAsync((SleepWorkflow wf) => wf.RunAsync(30), new($"sleep-{Guid.NewGuid()}", taskQueue));
            Assert.Equal(30, slept, precision: 3);
            Assert.True(await env.GetCurrentTimeAsync() - before >= TimeSpan.FromDays(30));
        });
    }

    [Fact]
    public async Task StartTimeSkipping_DelayAsync_FiresTimers_AndTheClockIsLockedOtherwise()
    {
        await using var env = await WorkflowEnvironment.StartTimeSkippingAsync(
            new() { TestServer = new() { ExistingPath = TemporalEnvironments.EmbeddedServerExecutable } });
        await WithWorkerAsync(env, async taskQueue =>
        {
            var handle = await env.Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(2), new($"approval-{Guid.NewGuid()}", taskQueue));
            Assert.Equal("awaiting approval", await handle.QueryAsync(wf => wf.Stage));

            // Locked (nobody awaits a result): real time passes, the two-day expiry does not fire.
            var before = await env.GetCurrentTimeAsync();
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.True(await env.GetCurrentTimeAsync() - before < TimeSpan.FromMinutes(1));
            Assert.Equal("awaiting approval", await handle.QueryAsync(wf => wf.Stage));

            await env.DelayAsync(TimeSpan.FromDays(3));
            Assert.True(await env.GetCurrentTimeAsync() - before >= TimeSpan.FromDays(3));
            Assert.Equal("expired", await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task StartTimeSkipping_WithAutoTimeSkippingDisabled_AwaitsInRealTime()
    {
        await using var env = await WorkflowEnvironment.StartTimeSkippingAsync(
            new() { TestServer = new() { ExistingPath = TemporalEnvironments.EmbeddedServerExecutable } });
        await WithWorkerAsync(env, async taskQueue =>
        {
            var handle = await env.Client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(1), new($"approval-{Guid.NewGuid()}", taskQueue));
            await env.WithAutoTimeSkippingDisabledAsync(async () =>
            {
                var result = handle.GetResultAsync();
                await Task.Delay(TimeSpan.FromSeconds(1));
                Assert.False(result.IsCompleted, "the one-day expiry fired although auto time skipping was disabled");
                await handle.SignalAsync(wf => wf.DecideAsync("approved"));
                Assert.Equal("approved", await result);
            });
        });
    }

    [Fact]
    public async Task StartLocal_RunsAWorkflowOnTheRealClock()
    {
        await using var env = await WorkflowEnvironment.StartLocalAsync(
            new() { DevServerOptions = new() { ExistingPath = TemporalEnvironments.EmbeddedServerExecutable } });
        Assert.False(env.SupportsTimeSkipping);
        await WithWorkerAsync(env, async taskQueue =>
            Assert.Equal("Hello, local", await env.Client.ExecuteWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("local"), new($"greet-{Guid.NewGuid()}", taskQueue))));
    }

    private static async Task WithWorkerAsync(WorkflowEnvironment env, Func<string, Task> test)
    {
        var taskQueue = $"tq-{Guid.NewGuid()}";
        using var worker = new TemporalWorker(
            env.Client,
            new TemporalWorkerOptions(taskQueue).AddWorkflow<SleepWorkflow>().AddWorkflow<ApprovalWorkflow>().AddWorkflow<GreetingWorkflow>());
        await worker.ExecuteAsync(() => test(taskQueue));
    }
}

/// <summary>
/// The SDK gives a launched server five seconds to answer; on a two-core machine busy with the other test classes a
/// cold .NET start can take longer, so these tests run on their own, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LaunchedServersCollection
{
    public const string Name = "servers launched by WorkflowEnvironment";
}

using System.Reflection;
using Temporalio.Client;
using Temporalio.Testing;

namespace Stateset.Testing;

/// <summary>
/// Starts a test's Temporal through the SDK's own <see cref="WorkflowEnvironment"/>, so the same test runs on the embedded
/// server, on Temporal's own test or dev server, or on a running Temporal: <c>TEMPORAL_ADDRESS</c> (and
/// <c>TEMPORAL_NAMESPACE</c>) selects a running server; else <c>STATESET_TEMPORAL_TEST_SERVER</c> (time skipping) or
/// <c>STATESET_TEMPORAL_DEV_SERVER</c> (real clock) names the executable to launch; else the embedded server's executable,
/// built beside the test projects (Stateset.Testing references it for that), is launched.
/// </summary>
public static class TemporalEnvironments
{
    // The SDK gives a launched server five seconds to answer and then kills it. A cold .NET start takes about two
    // seconds on an idle two-core machine and more than five while `dotnet test` starts every test assembly at once, so
    // launches inside one test host go one at a time (the collections of a project start their fixtures together), and
    // one that timed out is tried again after a pause that grows, letting the other hosts' start-up pass.
    private const int LaunchAttempts = 10;
    private static readonly SemaphoreSlim OneLaunchAtATime = new(1, 1);

    /// <summary>Gets the embedded server's built executable (the configuration this assembly was built in).</summary>
    public static string EmbeddedServerExecutable
    {
        get
        {
            var configuration = typeof(TemporalEnvironments).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            var path = Path.Combine(RepositoryRoot(), "TemporalServer", "bin", configuration, "net10.0", "Stateset.TemporalServer");
            return File.Exists(path) ? path : throw new FileNotFoundException($"The embedded Temporal server is not built at {path}.", path);
        }
    }

    /// <summary>Gets the dev server to launch: <c>STATESET_TEMPORAL_DEV_SERVER</c> (e.g. the <c>temporal</c> CLI) or the embedded server's executable.</summary>
    public static string DevServerExecutable =>
        Environment.GetEnvironmentVariable("STATESET_TEMPORAL_DEV_SERVER") is { Length: > 0 } chosen ? chosen : EmbeddedServerExecutable;

    /// <summary>Gets a value indicating whether the launched executable is the embedded server (so its own flags may be passed).</summary>
    public static bool LaunchesEmbeddedServer(bool timeSkipping) =>
        Environment.GetEnvironmentVariable(timeSkipping ? "STATESET_TEMPORAL_TEST_SERVER" : "STATESET_TEMPORAL_DEV_SERVER") is not { Length: > 0 };

    /// <summary>
    /// Starts a time-skipping test server (<see cref="WorkflowEnvironment.StartTimeSkippingAsync"/>), or connects to
    /// <c>TEMPORAL_ADDRESS</c>. <paramref name="extraArgs"/>, asked again for each launch attempt (so a port it names is
    /// chosen afresh when a slow start is retried), follow the port on the test server's command line.
    /// </summary>
    public static async Task<WorkflowEnvironment> StartTimeSkippingAsync(Func<IReadOnlyList<string>>? extraArgs = null)
    {
        if (await ConnectToRunningServerAsync() is { } running)
        {
            return running;
        }

        var executable = Environment.GetEnvironmentVariable("STATESET_TEMPORAL_TEST_SERVER") is { Length: > 0 } chosen ? chosen : EmbeddedServerExecutable;
        return await LaunchAsync(() => WorkflowEnvironment.StartTimeSkippingAsync(new()
        {
            TestServer = new() { ExistingPath = executable, ExtraArgs = extraArgs?.Invoke() },
        }));
    }

    /// <summary>
    /// Starts a dev server on the real clock (<see cref="WorkflowEnvironment.StartLocalAsync"/>, as <c>temporal server
    /// start-dev</c>), or connects to <c>TEMPORAL_ADDRESS</c>. <paramref name="extraArgs"/> are appended to its flags.
    /// </summary>
    public static async Task<WorkflowEnvironment> StartLocalAsync(IReadOnlyList<string>? extraArgs = null)
    {
        if (await ConnectToRunningServerAsync() is { } running)
        {
            return running;
        }

        return await LaunchAsync(() => WorkflowEnvironment.StartLocalAsync(new()
        {
            DevServerOptions = new() { ExistingPath = DevServerExecutable, ExtraArgs = extraArgs },
        }));
    }

    private static async Task<WorkflowEnvironment?> ConnectToRunningServerAsync()
    {
        if (Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS") is not { Length: > 0 } address)
        {
            return null;
        }

        var ns = Environment.GetEnvironmentVariable("TEMPORAL_NAMESPACE");
        return new WorkflowEnvironment(await TemporalClient.ConnectAsync(new(address) { Namespace = ns is { Length: > 0 } ? ns : "default" }));
    }

    private static async Task<WorkflowEnvironment> LaunchAsync(Func<Task<WorkflowEnvironment>> launch)
    {
        await OneLaunchAtATime.WaitAsync();
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await launch();
                }
                catch (InvalidOperationException e) when (attempt < LaunchAttempts && IsSlowStart(e))
                {
                    // The SDK killed the server it gave up on; a new launch picks a new port.
                    await Task.Delay(TimeSpan.FromSeconds(attempt));
                }
            }
        }
        finally
        {
            OneLaunchAtATime.Release();
        }
    }

    // Worded "did not start within 5s" by the SDK here, "Failed connecting to test server after 5 seconds" by older ones.
    private static bool IsSlowStart(InvalidOperationException e) =>
        e.Message.Contains("did not start within", StringComparison.Ordinal) ||
        e.Message.Contains("Failed connecting to test server", StringComparison.Ordinal);

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Stateset.Workflows.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}

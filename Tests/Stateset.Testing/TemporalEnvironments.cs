using System.Reflection;
using Temporalio.Client;
using Temporalio.Testing;

namespace Stateset.Testing;

/// <summary>
/// Starts a test's Temporal through the SDK's own <see cref="WorkflowEnvironment"/>, so the same test runs on the embedded
/// server, on Temporal's test server, or on a running Temporal: <c>TEMPORAL_ADDRESS</c> (and <c>TEMPORAL_NAMESPACE</c>)
/// selects a running server; else <c>STATESET_TEMPORAL_TEST_SERVER</c> names a test server executable; else the embedded
/// server's executable built beside this assembly is launched as a time-skipping test server.
/// </summary>
public static class TemporalEnvironments
{
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

    /// <summary>Starts the environment the class summary describes.</summary>
    public static async Task<WorkflowEnvironment> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("TEMPORAL_ADDRESS") is { Length: > 0 } address)
        {
            var ns = Environment.GetEnvironmentVariable("TEMPORAL_NAMESPACE");
            return new WorkflowEnvironment(await TemporalClient.ConnectAsync(new(address) { Namespace = ns is { Length: > 0 } ? ns : "default" }));
        }

        var executable = Environment.GetEnvironmentVariable("STATESET_TEMPORAL_TEST_SERVER") is { Length: > 0 } chosen ? chosen : EmbeddedServerExecutable;
        return await WorkflowEnvironment.StartTimeSkippingAsync(new() { TestServer = new() { ExistingPath = executable } });
    }

    /// <summary>Starts the embedded server's executable as a dev server (real clock), as <c>temporal server start-dev</c>.</summary>
    public static Task<WorkflowEnvironment> StartLocalAsync(IReadOnlyList<string>? extraArgs = null) =>
        WorkflowEnvironment.StartLocalAsync(new()
        {
            DevServerOptions = new() { ExistingPath = EmbeddedServerExecutable, ExtraArgs = extraArgs },
        });

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

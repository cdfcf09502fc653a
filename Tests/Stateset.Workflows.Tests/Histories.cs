using Temporalio.Client;

namespace Stateset.Workflows.Tests;

/// <summary>
/// Histories of real runs, stored in the repository and replayed on every test run. Set
/// <c>STATESET_RECORD_HISTORIES=1</c> to write fresh ones from the scenario tests (after an intended,
/// versioned change to a workflow); otherwise the scenario tests leave the stored ones alone.
/// </summary>
public static class Histories
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "Histories");

    /// <summary>Saves the run's history (and its children's) under <paramref name="name"/> when recording is on.</summary>
    public static async Task SaveAsync(ITemporalClient client, string name, params string[] workflowIds)
    {
        if (Environment.GetEnvironmentVariable("STATESET_RECORD_HISTORIES") != "1")
        {
            return;
        }

        var target = Path.Combine(SourceDirectory(), "Histories");
        System.IO.Directory.CreateDirectory(target);
        for (var i = 0; i < workflowIds.Length; i++)
        {
            var history = await client.GetWorkflowHandle(workflowIds[i]).FetchHistoryAsync();
            var suffix = workflowIds.Length == 1 ? string.Empty : $"-{i}";
            await File.WriteAllTextAsync(Path.Combine(target, $"{name}{suffix}.json"), history.ToJson());
        }
    }

    private static string SourceDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Stateset.Workflows.Tests.csproj")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("test project folder not found");
    }
}

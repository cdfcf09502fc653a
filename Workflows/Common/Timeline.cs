using Temporalio.Exceptions;

namespace Stateset.Workflows.Common;

/// <summary>What happened to a step.</summary>
public enum StepOutcome
{
    /// <summary>The step began.</summary>
    Started,

    /// <summary>The step finished as intended.</summary>
    Completed,

    /// <summary>The step failed.</summary>
    Failed,

    /// <summary>A compensation undid an earlier step.</summary>
    Compensated,

    /// <summary>A compensation failed; the others still ran.</summary>
    CompensationFailed,

    /// <summary>A signal arrived that changed nothing (duplicate, late, or contradicting a decision already made).</summary>
    Ignored,

    /// <summary>A fact arrived (a signal, a reminder) and was recorded.</summary>
    Noted,
}

/// <summary>One line of a run's timeline.</summary>
public sealed record TimelineEntry(DateTime At, string Step, StepOutcome Outcome, string? Detail = null);

/// <summary>
/// The run's own account of what it did, returned by its status query. It lives in workflow state, so it is
/// rebuilt exactly on replay and carried across continue-as-new.
/// </summary>
public sealed class Timeline
{
    private readonly List<TimelineEntry> _entries;

    /// <summary>Initializes a new instance of the <see cref="Timeline"/> class, optionally continuing an earlier one.</summary>
    public Timeline(IEnumerable<TimelineEntry>? earlier = null)
    {
        _entries = earlier?.ToList() ?? [];
    }

    /// <summary>Gets the entries, oldest first.</summary>
    public IReadOnlyList<TimelineEntry> Entries => _entries;

    /// <summary>Runs one step and records its start and its completion or failure (then rethrows).</summary>
    public async Task<T> RunAsync<T>(string step, Func<Task<T>> run)
    {
        Add(step, StepOutcome.Started);
        try
        {
            var result = await run();
            Add(step, StepOutcome.Completed);
            return result;
        }
        catch (Exception e) when (e is ActivityFailureException or ChildWorkflowFailureException or ApplicationFailureException)
        {
            Add(step, StepOutcome.Failed, Failures.Describe(e));
            throw;
        }
    }

    /// <summary>Runs one step that returns nothing; see <see cref="RunAsync{T}(string, Func{Task{T}})"/>.</summary>
    public Task RunAsync(string step, Func<Task> run) => RunAsync(step, async () =>
    {
        await run();
        return true;
    });

    /// <summary>Appends an entry stamped with the workflow's deterministic clock.</summary>
    public void Add(string step, StepOutcome outcome, string? detail = null) =>
        _entries.Add(new TimelineEntry(Temporalio.Workflows.Workflow.UtcNow, step, outcome, detail));
}

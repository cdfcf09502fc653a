using Temporalio.Workflows;

namespace Stateset.TemporalServer.Tests.Workflows;

/// <summary>Waits for a human decision (signal or update) with an expiry, like an order awaiting operator approval.</summary>
[Workflow]
public sealed class ApprovalWorkflow
{
    private readonly List<string> _notes = [];
    private string? _decision;

    [WorkflowRun]
    public async Task<string> RunAsync(double expiryDays)
    {
        if (expiryDays <= 0)
        {
            await Workflow.WaitConditionAsync(() => _decision is not null);
            return _decision!;
        }

        var decided = await Workflow.WaitConditionAsync(() => _decision is not null, TimeSpan.FromDays(expiryDays));
        return decided ? _decision! : "expired";
    }

    [WorkflowQuery]
    public string Stage => _decision is null ? "awaiting approval" : "decided";

    [WorkflowQuery]
    public IReadOnlyList<string> Notes => _notes;

    [WorkflowSignal]
    public async Task DecideAsync(string decision) => _decision = decision;

    [WorkflowSignal]
    public async Task NoteAsync(string note) => _notes.Add(note);

    [WorkflowQuery]
    public string Broken() => throw new InvalidOperationException("this query always fails");

    [WorkflowUpdate]
    public async Task<string> SetDecisionAsync(string decision)
    {
        _decision = decision;
        return $"accepted {decision}";
    }

    [WorkflowUpdateValidator(nameof(SetDecisionAsync))]
    public void ValidateSetDecision(string decision)
    {
        if (string.IsNullOrWhiteSpace(decision))
        {
            throw new ArgumentException("a decision is required");
        }
    }
}

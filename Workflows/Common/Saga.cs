using Temporalio.Exceptions;

namespace Stateset.Workflows.Common;

/// <summary>
/// Compensations of a saga. A compensation is registered before the step it undoes (so a step that fails
/// half-way, or times out after doing its work, is still undone), compensations run in reverse order, and one
/// that fails does not stop the others. Each compensation must be idempotent: it may undo a step that never
/// happened.
/// </summary>
public sealed class Saga(Timeline timeline)
{
    private readonly List<(string Name, Func<Task> Undo)> _compensations = [];

    /// <summary>Gets the names of the compensations that ran.</summary>
    public List<string> Ran { get; } = [];

    /// <summary>Registers a compensation to run if the saga is later unwound.</summary>
    public void Register(string name, Func<Task> undo) => _compensations.Add((name, undo));

    /// <summary>Forgets a compensation whose step no longer needs undoing (e.g. a void once the payment is captured).</summary>
    public void Discard(string name) => _compensations.RemoveAll(c => c.Name == name);

    /// <summary>Runs the registered compensations, newest first, each at most once.</summary>
    public async Task CompensateAsync()
    {
        for (var i = _compensations.Count - 1; i >= 0; i--)
        {
            var (name, undo) = _compensations[i];
            try
            {
                await undo();
                timeline.Add(name, StepOutcome.Compensated);
                Ran.Add(name);
            }
            catch (Exception e) when (e is ActivityFailureException or ChildWorkflowFailureException or ApplicationFailureException)
            {
                // Keep undoing the rest: one stuck compensation must not leave stock reserved or money held.
                timeline.Add(name, StepOutcome.CompensationFailed, Failures.Describe(e));
            }
        }

        _compensations.Clear();
    }
}

namespace Stateset.Workflows.Common;

/// <summary>An operator's decision as a signal carries it: who decided and why.</summary>
public sealed record OperatorDecision(string DecidedBy, string? Reason = null);

/// <summary>A request to cancel, from the customer or an operator.</summary>
public sealed record CancelRequest(string RequestedBy, string? Reason = null);

/// <summary>How a wait for a human ended.</summary>
public enum DecisionOutcome
{
    /// <summary>Approved.</summary>
    Approved,

    /// <summary>Rejected.</summary>
    Rejected,

    /// <summary>Nobody decided before the deadline.</summary>
    Expired,

    /// <summary>The run was cancelled while it waited.</summary>
    Cancelled,
}

/// <summary>A decision that was made, for the status query and the approvals table.</summary>
public sealed record DecisionRecord(DecisionOutcome Outcome, string DecidedBy, DateTime DecidedAt, string? Reason);

/// <summary>What the run is waiting for from a person, shown in the status query and the operator console.</summary>
public sealed record PendingApproval(string Reason, DateTime RequestedAt, DateTime ExpiresAt, bool Reminded);

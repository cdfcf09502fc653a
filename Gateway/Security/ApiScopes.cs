namespace Stateset.Gateway.Security;

/// <summary>
/// What an API key may do. Clients start and read business processes; operators decide approvals and cancel;
/// callbacks are the machines that report back (print stations; payment providers and carriers also sign
/// their requests); admin manages keys and may do everything.
/// </summary>
public static class ApiScopes
{
    /// <summary>Storefronts and ERPs: start and read orders, refunds, returns and labels.</summary>
    public const string Client = "client";

    /// <summary>People in the operator console: approve, reject, cancel.</summary>
    public const string Operator = "operator";

    /// <summary>Machines reporting back: print stations, carrier and payment callbacks.</summary>
    public const string Callback = "callback";

    /// <summary>Key management, and every other scope.</summary>
    public const string Admin = "admin";

    /// <summary>Gets every scope.</summary>
    public static IReadOnlyList<string> All { get; } = [Client, Operator, Callback, Admin];

    /// <summary>
    /// The policy of read endpoints: clients read what they started, operators read what they decide on (the console).
    /// </summary>
    public const string ReadPolicy = "read";

    /// <summary>
    /// The policy of cancelling an order: the client that placed it, or an operator deciding for the customer.
    /// </summary>
    public const string CancelPolicy = "cancel";

    /// <summary>The claim type that carries a key's scopes.</summary>
    public const string ClaimType = "scope";
}

namespace Stateset.Gateway.Security;

/// <summary>
/// What an API key may do. Clients start and read business processes; operators decide approvals and cancel;
/// callbacks are the machines that report back (payment providers and carriers also sign their requests);
/// a station key belongs to one print station and may only list its jobs, fetch their label files and acknowledge
/// them; admin manages keys and may do everything.
/// </summary>
public static class ApiScopes
{
    /// <summary>Storefronts and ERPs: start and read orders, refunds, returns and labels.</summary>
    public const string Client = "client";

    /// <summary>People in the operator console: approve, reject, cancel.</summary>
    public const string Operator = "operator";

    /// <summary>Machines reporting back: print stations, carrier and payment callbacks.</summary>
    public const string Callback = "callback";

    /// <summary>One print station: its queued jobs, their label files, their acknowledgements. Nothing else.</summary>
    public const string Station = "station";

    /// <summary>Key management, and every other scope.</summary>
    public const string Admin = "admin";

    /// <summary>Gets every scope.</summary>
    public static IReadOnlyList<string> All { get; } = [Client, Operator, Callback, Station, Admin];

    /// <summary>The policy of a station's job list: the station itself, or an operator watching the printers.</summary>
    public const string PrintJobsPolicy = "print-jobs";

    /// <summary>The policy of a label's ZPL and PDF: the station printing it, the client that bought it, operators.</summary>
    public const string LabelFilesPolicy = "label-files";

    /// <summary>
    /// The policy of a print acknowledgement: the station, a callback key (how stations acknowledged before the
    /// station scope existed), or an operator marking a job printed by hand.
    /// </summary>
    public const string PrintAcknowledgementPolicy = "print-ack";

    /// <summary>
    /// The policy of a return's receipt and inspection: the warehouse's systems (a callback key), or a person at the
    /// returns desk recording them in the operator console.
    /// </summary>
    public const string ReturnsDeskPolicy = "returns-desk";

    /// <summary>The claim type that carries the print station a station key belongs to.</summary>
    public const string StationClaimType = "station_id";

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

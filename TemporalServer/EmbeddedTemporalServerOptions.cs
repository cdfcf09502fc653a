using System.Net;

namespace Stateset.TemporalServer;

/// <summary>How to run an <see cref="EmbeddedTemporalServer"/>.</summary>
public sealed class EmbeddedTemporalServerOptions
{
    /// <summary>Gets or sets the TCP port; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Gets or sets the address to listen on (loopback by default).</summary>
    public IPAddress Address { get; set; } = IPAddress.Loopback;

    /// <summary>
    /// Gets or sets a value indicating whether the server runs in test mode on a virtual clock that jumps to the next
    /// timer whenever no workflow or activity task is outstanding (true), or in dev mode on the real clock (false).
    /// </summary>
    public bool TimeSkipping { get; set; }

    /// <summary>Gets or sets when a time-skipping server moves its clock by itself (see <see cref="AutoTimeSkipping"/>).</summary>
    public AutoTimeSkipping AutoTimeSkipping { get; set; } = AutoTimeSkipping.WhileAwaitingResult;

    /// <summary>
    /// Gets or sets a value indicating whether a time-skipping server starts with time skipping locked, as Temporal's test
    /// server does: the clock then runs at real speed until the <c>TestService</c> unlocks it (the SDK's
    /// <c>WorkflowEnvironment</c> does while a test awaits a result or calls <c>DelayAsync</c>).
    /// </summary>
    public bool StartTimeSkippingLocked { get; set; }

    /// <summary>
    /// Gets or sets the SQLite file that keeps the server's state across restarts (<c>--db-filename</c>); null keeps it in
    /// memory. Only a dev-mode server (real clock) keeps a file.
    /// </summary>
    public string? DatabaseFile { get; set; }

    /// <summary>Gets or sets the namespaces that exist from the start.</summary>
    public IReadOnlyList<string> Namespaces { get; set; } = ["default"];

    /// <summary>
    /// Gets or sets the HTTP/1.1 port of the Temporal Web UI and its <c>/api/v1</c> HTTP API (0 picks a free one); null
    /// serves no UI. The dev server and the stack use 8233, as <c>temporal server start-dev</c> does; tests ask for one.
    /// </summary>
    public int? UiPort { get; set; }

    /// <summary>Gets or sets a value indicating whether to serve no UI even when <see cref="UiPort"/> is set (<c>--headless</c>).</summary>
    public bool Headless { get; set; }

    /// <summary>Gets or sets where the server logs; nothing is logged when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}

namespace Stateset.TemporalServer;

/// <summary>
/// When a time-skipping server jumps its clock to the next timer by itself. It never jumps while a workflow or
/// activity task is outstanding (queued for a worker, or dispatched and unanswered: an activity waiting for async
/// completion counts), and <see cref="EmbeddedTemporalServer.SkipAsync"/> always moves it.
/// </summary>
public enum AutoTimeSkipping
{
    /// <summary>
    /// Only while some client awaits a workflow result (a history long-poll for the close event, which is what
    /// <c>GetResultAsync</c> sends), like the Temporal SDKs' time-skipping test server. A test can start a workflow,
    /// query and signal it without its timers firing early; awaiting the result then runs the timers out.
    /// </summary>
    WhileAwaitingResult,

    /// <summary>Whenever nothing is outstanding, whether or not anyone waits.</summary>
    WheneverIdle,

    /// <summary>Never by itself; only <see cref="EmbeddedTemporalServer.SkipAsync"/> moves the clock.</summary>
    Never,
}

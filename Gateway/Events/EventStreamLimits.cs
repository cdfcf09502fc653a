namespace Stateset.Gateway.Events;

/// <summary>
/// How many event streams one gateway instance serves (section <c>Gateway:Events</c>). Each open stream holds a
/// connection and a buffer of events, so one client must not be able to exhaust the instance. The caps count this
/// instance's streams only: its connections and memory are what a runaway client exhausts.
/// </summary>
public sealed class EventStreamLimits
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Gateway:Events";

    /// <summary>Gets or sets how many streams one API key may keep open at once.</summary>
    public int MaxStreamsPerKey { get; set; } = 16;

    /// <summary>Gets or sets how many streams the instance serves at once, whatever their keys.</summary>
    public int MaxStreams { get; set; } = 1000;
}

/// <summary>A stream was refused because its key, or the instance, already holds as many as allowed.</summary>
public sealed class EventStreamLimitException(string message) : Exception(message);

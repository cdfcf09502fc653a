namespace Stateset.TemporalServer;

/// <summary>
/// The <c>--db-filename</c> file is not one the server can carry on from (not SQLite, damaged, truncated, another
/// program's, or written by a newer version); the message is the one line the user sees. The server never starts over it.
/// </summary>
public sealed class DatabaseFileException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="DatabaseFileException"/> class.</summary>
    /// <param name="message">The one line the user sees.</param>
    /// <param name="innerException">What SQLite said, if anything.</param>
    public DatabaseFileException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

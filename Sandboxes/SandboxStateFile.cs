using System.Text;
using System.Text.Json;

namespace Stateset.Sandboxes;

/// <summary>
/// A sandbox's records kept in one JSON Lines file across restarts (the stack's <c>payment-sandbox.json</c> and
/// <c>carrier-sandbox.json</c>). Each change appends one line holding only the records it touched, and a reader
/// merges the lines in order, the later record winning. Rewriting the whole state after every change cost in
/// proportion to everything the sandbox ever saw: with 1,000 orders waiting, every payment call serialised a 1 MB
/// document, and those large-object-heap buffers were most of the stack's garbage. The file is compacted to one line
/// when it is read at start, so it grows only with the changes of one run. A file written whole by an earlier version
/// is a journal of one line.
/// </summary>
internal static class SandboxStateFile
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    /// <summary>
    /// Reads every change <paramref name="file"/> holds, oldest first; none when no file is configured or none exists
    /// yet. A last line cut short (the process died while appending it) is dropped: that change was never answered.
    /// </summary>
    public static IReadOnlyList<T> Load<T>(string? file, JsonSerializerOptions json, string what)
        where T : class
    {
        if (file is null || !File.Exists(file))
        {
            return [];
        }

        var lines = File.ReadAllLines(file, Encoding.UTF8);
        var last = Array.FindLastIndex(lines, line => line.Length > 0);
        var changes = new List<T>(lines.Length);
        for (var i = 0; i <= last; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            try
            {
                changes.Add(JsonSerializer.Deserialize<T>(lines[i], json) ?? throw new InvalidDataException($"{file} line {i + 1} holds no {what} state."));
            }
            catch (JsonException) when (i == last)
            {
                // Only the line being appended when the process died can be incomplete; every earlier line was whole.
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{file} line {i + 1} is not {what} state: {e.Message}", e);
            }
        }

        return changes;
    }

    /// <summary>Replaces <paramref name="file"/> with one line holding <paramref name="state"/>, through a temporary file so a crash leaves the old one whole.</summary>
    public static void Compact<T>(string file, T state, JsonSerializerOptions json)
    {
        var temporary = file + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, state, json);
            stream.Write(NewLine);
        }

        File.Move(temporary, file, overwrite: true);
    }

    /// <summary>Appends one change to <paramref name="file"/>; the caller serialises its appends.</summary>
    public static void Append<T>(string file, T change, JsonSerializerOptions json)
    {
        using var stream = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.Read);
        JsonSerializer.Serialize(stream, change, json);
        stream.Write(NewLine);
    }
}

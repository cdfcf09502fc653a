using System.Text.Json;

namespace Stateset.Sandboxes;

/// <summary>
/// A sandbox's records kept in one JSON file across restarts (the stack's <c>payment-sandbox.json</c> and
/// <c>carrier-sandbox.json</c>): read once at start, rewritten whole after every change.
/// </summary>
internal static class SandboxStateFile
{
    /// <summary>Reads the state <paramref name="file"/> holds; null when no file is configured or none exists yet.</summary>
    public static T? Load<T>(string? file, JsonSerializerOptions json, string what)
        where T : class
    {
        if (file is null || !File.Exists(file))
        {
            return null;
        }

        return JsonSerializer.Deserialize<T>(File.ReadAllText(file), json) ?? throw new InvalidDataException($"{file} holds no {what} state.");
    }

    /// <summary>Rewrites <paramref name="file"/> through a temporary file, so a crash leaves the old one whole.</summary>
    public static void Save<T>(string file, T state, JsonSerializerOptions json)
    {
        var temporary = file + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(state, json));
        File.Move(temporary, file, overwrite: true);
    }
}

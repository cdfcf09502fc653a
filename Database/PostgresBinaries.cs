using System.Diagnostics;
using System.Text;

namespace Stateset.Database;

/// <summary>
/// Finds the machine's PostgreSQL server programs (initdb, pg_ctl) and runs them. PostgreSQL refuses to
/// run as root, so under root each program runs as the <c>postgres</c> system user the Debian package creates.
/// </summary>
public sealed class PostgresBinaries
{
    private const string MissingMessage =
        "PostgreSQL server binaries (initdb, pg_ctl) were not found: install them with " +
        "'apt-get install -y postgresql' or set ConnectionStrings__Commerce to an existing server.";

    private PostgresBinaries(string directory, string? runAsUser)
    {
        Directory = directory;
        RunAsUser = runAsUser;
    }

    /// <summary>Gets the folder holding initdb and pg_ctl.</summary>
    public string Directory { get; }

    /// <summary>Gets the user the programs run as, or null to run them as the current user.</summary>
    public string? RunAsUser { get; }

    /// <summary>Locates the binaries: PATH first, then Debian's versioned folders (newest version wins).</summary>
    /// <exception cref="PostgresUnavailableException">No usable installation was found.</exception>
    public static PostgresBinaries Locate()
    {
        var fromPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")));
        var debian = System.IO.Directory.Exists("/usr/lib/postgresql")
            ? System.IO.Directory.GetDirectories("/usr/lib/postgresql")
                .Select(dir => Path.Combine(dir, "bin"))
                .Where(dir => File.Exists(Path.Combine(dir, "initdb")))
                .OrderByDescending(dir => int.TryParse(Path.GetFileName(Path.GetDirectoryName(dir)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        var directory = fromPath ?? debian ?? throw new PostgresUnavailableException(MissingMessage);

        string? runAs = null;
        if (Environment.UserName == "root")
        {
            if (!File.ReadLines("/etc/passwd").Any(line => line.StartsWith("postgres:", StringComparison.Ordinal)))
            {
                throw new PostgresUnavailableException(
                    "PostgreSQL cannot run as root and this machine has no 'postgres' user: install the " +
                    "'postgresql' package (it creates one) or set ConnectionStrings__Commerce.");
            }

            runAs = "postgres";
        }

        return new PostgresBinaries(directory, runAs);
    }

    /// <summary>Makes a folder the server user can own and write.</summary>
    public async Task PrepareDirectoryAsync(string path, CancellationToken ct)
    {
        System.IO.Directory.CreateDirectory(path);
        if (RunAsUser is not null)
        {
            await RunRawAsync(SystemProgram("chown"), [$"{RunAsUser}:", path], ct, "chown");
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (RunAsUser is not null)
        {
            await EnsureReachableAsync(path, ct);
        }
    }

    /// <summary>
    /// Owning the folder is not enough: the server user must also be able to pass through every folder above it.
    /// A data folder under a 0700 one (root's home, a private temp folder) otherwise fails deep inside initdb with a
    /// bare "Permission denied"; this names the folder in the way and the fix instead.
    /// </summary>
    private async Task EnsureReachableAsync(string path, CancellationToken ct)
    {
        if (await CanAsync("-w", path, ct))
        {
            return;
        }

        var blocked = path;
        for (var folder = Path.GetDirectoryName(path); folder is not null; folder = Path.GetDirectoryName(folder))
        {
            if (!await CanAsync("-x", folder, ct))
            {
                blocked = folder;
            }
        }

        var mode = Convert.ToString((int)File.GetUnixFileMode(blocked), 8).PadLeft(4, '0');
        throw new PostgresUnavailableException(
            $"The PostgreSQL data folder {path} is out of reach of the '{RunAsUser}' user the server runs as: it cannot enter {blocked} " +
            $"(mode {mode}). Choose a data folder it can reach (for the stack, e.g. STATESET_DATA_DIR=/var/tmp/stateset-data) or run 'chmod o+x {blocked}'.");
    }

    private async Task<bool> CanAsync(string test, string path, CancellationToken ct)
    {
        try
        {
            await RunRawAsync(SystemProgram("runuser"), ["-u", RunAsUser!, "--", SystemProgram("test"), test, path], ct, "test");
            return true;
        }
        catch (PostgresCommandException)
        {
            return false;
        }
    }

    /// <summary>Runs one of the PostgreSQL programs and returns its output; a non-zero exit throws with that output.</summary>
    public Task<string> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken ct)
    {
        var path = Path.Combine(Directory, program);
        return RunAsUser is null
            ? RunRawAsync(path, arguments, ct, program)
            : RunRawAsync(SystemProgram("runuser"), ["-u", RunAsUser, "--", path, .. arguments], ct, program);
    }

    /// <summary>Like <see cref="RunAsync"/> but returns the exit code instead of throwing.</summary>
    public async Task<int> TryRunAsync(string program, IReadOnlyList<string> arguments, CancellationToken ct)
    {
        try
        {
            await RunAsync(program, arguments, ct);
            return 0;
        }
        catch (PostgresCommandException e)
        {
            return e.ExitCode;
        }
    }

    /// <summary>Finds a system program on PATH or in the sbin folders, which a trimmed PATH may lack.</summary>
    private static string SystemProgram(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists) ?? name;

    private static async Task<string> RunRawAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken ct, string program)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The server inherits the working directory; "/" is readable by the postgres user, a temp folder may not be.
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new PostgresUnavailableException($"Could not start {fileName}.");
        var output = new StringBuilder();
        var stdout = PumpAsync(process.StandardOutput, output);
        var stderr = PumpAsync(process.StandardError, output);
        await process.WaitForExitAsync(ct);
        await Task.WhenAll(stdout, stderr);
        if (process.ExitCode != 0)
        {
            throw new PostgresCommandException(program, process.ExitCode, output.ToString());
        }

        return output.ToString();
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder sink)
    {
        // pg_ctl start leaves the server running with our pipes inherited unless its log goes to a file,
        // which every caller here arranges (-l), so reading to the end terminates.
        var text = await reader.ReadToEndAsync();
        lock (sink)
        {
            sink.Append(text);
        }
    }
}

/// <summary>PostgreSQL cannot be provided on this machine; the message says what to install or set.</summary>
public sealed class PostgresUnavailableException(string message) : Exception(message);

/// <summary>A PostgreSQL program exited with an error.</summary>
public sealed class PostgresCommandException(string program, int exitCode, string output)
    : Exception($"{program} failed with exit code {exitCode}: {output.Trim()}")
{
    /// <summary>Gets the program's exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

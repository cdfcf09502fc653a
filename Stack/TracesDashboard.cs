using System.Diagnostics;
using System.Net.Sockets;
using System.Reflection;

namespace Stateset.Stack;

/// <summary>The OTLP sink the stack's services export to, and where a person reads the traces.</summary>
/// <param name="OtlpEndpoint">What the services export to (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>); null exports nothing.</param>
/// <param name="Description">One line for the start-up banner.</param>
/// <param name="StopAsync">Stops the dashboard if the stack started it.</param>
internal sealed record RunningTraces(string? OtlpEndpoint, string Description, Func<ValueTask> StopAsync);

/// <summary>
/// Starts the standalone Aspire dashboard (restored from NuGet with the stack, never downloaded at run time) on
/// loopback with anonymous access, unless the user exports elsewhere (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> wins) or
/// turns it off (<c>STATESET_DASHBOARD=off</c>).
/// </summary>
internal static class TracesDashboard
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    public static async Task<RunningTraces> StartAsync(StackSettings settings, CancellationToken ct)
    {
        if (Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } endpoint)
        {
            return new RunningTraces(endpoint, $"exported to {endpoint} (OTEL_EXPORTER_OTLP_ENDPOINT)", () => ValueTask.CompletedTask);
        }

        if (!settings.DashboardEnabled)
        {
            return new RunningTraces(null, "off (STATESET_DASHBOARD=off); set OTEL_EXPORTER_OTLP_ENDPOINT to export", () => ValueTask.CompletedTask);
        }

        var dashboard = DashboardAssembly();
        if (dashboard is null)
        {
            return new RunningTraces(null, "no dashboard: Aspire.Dashboard.Sdk.linux-x64 exists for Linux x64 only; set OTEL_EXPORTER_OTLP_ENDPOINT to export", () => ValueTask.CompletedTask);
        }

        TemporalLauncher.EnsurePortFree(settings.DashboardPort, "STATESET_DASHBOARD_PORT");
        TemporalLauncher.EnsurePortFree(settings.DashboardOtlpPort, "STATESET_DASHBOARD_OTLP_PORT");
        var url = $"http://127.0.0.1:{settings.DashboardPort}";
        var otlp = $"http://127.0.0.1:{settings.DashboardOtlpPort}";
        var start = new ProcessStartInfo(dashboard)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dashboard)!,
        };

        // Loopback only, so anonymous access exposes nothing beyond this machine; both spellings of the settings
        // (DOTNET_ before Aspire 9.2, ASPIRE_ since) are given.
        start.Environment["ASPNETCORE_URLS"] = url;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var prefix in (string[])["DOTNET_DASHBOARD_", "ASPIRE_DASHBOARD_"])
        {
            start.Environment[$"{prefix}OTLP_ENDPOINT_URL"] = otlp;
            start.Environment[$"{prefix}UNSECURED_ALLOW_ANONYMOUS"] = "true";
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(start) ?? throw new StackStartException("Could not start the Aspire dashboard.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        async ValueTask StopAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }

            process.Dispose();
        }

        try
        {
            await WaitUntilListeningAsync(process, settings.DashboardPort, ct);
            await WaitUntilListeningAsync(process, settings.DashboardOtlpPort, ct);
        }
        catch
        {
            await StopAsync();
            throw;
        }

        return new RunningTraces(otlp, url, StopAsync);
    }

    /// <summary>The dashboard's executable restored with the stack (see its csproj), or null where the package has no build for this machine.</summary>
    private static string? DashboardAssembly()
    {
        var directory = typeof(TracesDashboard).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "AspireDashboardDirectory")?.Value;
        var path = directory is { Length: > 0 } ? Path.Combine(directory, "Aspire.Dashboard") : null;
        return OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64 &&
            File.Exists(path) ? path : null;
    }

    private static async Task WaitUntilListeningAsync(Process process, int port, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (process.HasExited)
            {
                throw new StackStartException($"The Aspire dashboard exited with code {process.ExitCode} before listening on port {port}.");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(System.Net.IPAddress.Loopback, port, ct);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200, ct);
            }
            catch (SocketException)
            {
                throw new StackStartException($"The Aspire dashboard did not listen on port {port} within {StartTimeout.TotalSeconds:0} s.");
            }
        }
    }
}

using Stateset.Sandboxes;

// Serves the sandboxes alone, e.g. `dotnet run --project Sandboxes -- --Sandboxes:Port=5080`.
var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build();
await using var host = await SandboxHost.StartAsync(configuration);
Console.WriteLine($"Sandboxes listening on {host.BaseAddress} (payment provider: {host.PaymentProviderBaseAddress})");
await host.WaitForShutdownAsync();

/// <summary>The sandboxes command; internal so it does not clash with the gateway's public Program where both are referenced.</summary>
internal sealed partial class Program;

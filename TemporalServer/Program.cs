using Stateset.TemporalServer;

// Runs the embedded Temporal server alone, as Temporal's CLI dev server or as its time-skipping test server:
//   dotnet run --project TemporalServer -- server start-dev --port 7233 [--db-filename FILE] [--namespace default] ...
//   dotnet run --project TemporalServer -- --port 7233 ...          (the same, without "server start-dev")
//   dotnet run --project TemporalServer -- 7233 [--enable-time-skipping]   (test server: virtual clock, TestService)
return await ServerHost.RunAsync(args);

/// <summary>The server command; internal so it does not clash with the gateway's public Program in assemblies that reference both.</summary>
internal sealed partial class Program;

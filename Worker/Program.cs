using Microsoft.Extensions.Hosting;
using Stateset.Worker;

var builder = Host.CreateApplicationBuilder(args);
builder.AddWorker();
await builder.Build().RunAsync();

/// <summary>The worker command; internal so only the gateway's Program is public where both are referenced.</summary>
internal sealed partial class Program;

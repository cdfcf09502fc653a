using Microsoft.Extensions.Hosting;
using Stateset.Worker;

var builder = Host.CreateApplicationBuilder(args);
builder.AddWorker();
await builder.Build().RunAsync();

using Stateset.Gateway;

var builder = WebApplication.CreateBuilder(args);
builder.AddGateway();

var app = builder.Build();
app.MapGateway();
await app.RunAsync();

/// <summary>The gateway's entry point; public so tests can host it with WebApplicationFactory.</summary>
public partial class Program;

using Stateset.Sandboxes.Carriers;

// The sandboxes host: the outside services on one loopback port (Kestrel's default unless ASPNETCORE_URLS says otherwise).
var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.AddCarrierSandbox(builder.Configuration.GetSection(CarrierSandboxOptions.Section));

var app = builder.Build();
app.MapCarrierSandbox();
await app.RunAsync();

/// <summary>The sandboxes host, visible to <c>WebApplicationFactory</c> in tests.</summary>
public partial class Program;

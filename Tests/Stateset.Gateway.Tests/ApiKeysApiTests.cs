using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stateset.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class ApiKeysApiTests(GatewayFixture gateway)
{
    [Fact]
    public async Task NoKey_Is401ProblemJson()
    {
        using var client = gateway.CreateClient(apiKey: null);

        var response = await client.GetAsync(new Uri("/api-keys", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("ss_testadmin_wrong-secret")]
    [InlineData("not-a-key")]
    [InlineData("ss_nosuchprefix_0123456789")]
    public async Task ForgedOrUnknownKey_Is401(string key)
    {
        using var client = gateway.CreateClient(key);

        var response = await client.GetAsync(new Uri("/api-keys", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Admin_CreatesClientKey_WhichIsForbiddenFromKeyManagement()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = "storefront", scopes = new[] { "client" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;

        using var storefront = gateway.CreateClient(key);
        var response = await storefront.GetAsync(new Uri("/api-keys", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task List_NeverShowsSecrets()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = "erp", scopes = new[] { "client", "operator" } });
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;

        var list = await admin.GetStringAsync(new Uri("/api-keys", UriKind.Relative));

        Assert.Contains("\"erp\"", list, StringComparison.Ordinal);
        // The secret is everything after ss_<prefix>_; it is base64url, so it may itself contain '_'.
        Assert.DoesNotContain(key.Split('_', 3)[2], list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_StopsAKeyThatWasNeverCached()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = "temp", scopes = new[] { "admin" } });
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var key = body.GetProperty("key").GetString()!;
        var prefix = body.GetProperty("info").GetProperty("prefix").GetString()!;

        var revoked = await admin.DeleteAsync(new Uri($"/api-keys/{prefix}", UriKind.Relative));
        using var temp = gateway.CreateClient(key);
        var response = await temp.GetAsync(new Uri("/api-keys", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Revoke_StopsACachedKeyAtOnce_OnTheGatewayThatRevokedIt()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), new { name = "cached", scopes = new[] { "admin" } });
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        using var cached = gateway.CreateClient(body.GetProperty("key").GetString()!);
        using var accepted = await cached.GetAsync(new Uri("/api-keys", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        // The key's answer is now cached for half a minute; the revoke must end it here, not when it expires.
        using var revoked = await admin.DeleteAsync(new Uri($"/api-keys/{body.GetProperty("info").GetProperty("prefix").GetString()}", UriKind.Relative));
        using var refused = await cached.GetAsync(new Uri("/api-keys", UriKind.Relative));
        using var stillAdmin = await admin.GetAsync(new Uri("/api-keys", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stillAdmin.StatusCode);
    }

    [Theory]
    [InlineData("{\"name\":\"\",\"scopes\":[\"client\"]}", "name")]
    [InlineData("{\"name\":\"x\",\"scopes\":[]}", "scopes")]
    [InlineData("{\"name\":\"x\",\"scopes\":[\"root\"]}", "scopes")]
    public async Task Create_InvalidBody_Is400NamingTheField(string json, string field)
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);

        var response = await admin.PostAsync(new Uri("/api-keys", UriKind.Relative), new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }
}

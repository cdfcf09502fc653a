using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Stateset.Gateway.Events;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The print stations' API over the real gateway and PostgreSQL, with labels and jobs written as the label
/// activities write them: the station key scope, the job list and its long-poll, the label files.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class PrintStationsApiTests(GatewayFixture gateway)
{
    /// <summary>What a station key may call; everything else must be 403.</summary>
    private static readonly string[] StationEndpoints =
        ["GET /print-stations/{stationId}/jobs", "GET /labels/{shipmentId}/label.zpl", "GET /labels/{shipmentId}/label.pdf", "POST /print-jobs/{printJobId}/ack"];

    [Fact]
    public async Task StationKey_IsForbiddenEverywhereButItsJobsLabelFilesAndAck()
    {
        var station = await NewStationAsync();
        using var client = gateway.CreateClient(await StationKeyAsync(station));
        var endpoints = gateway.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IAuthorizeData>() is not null && e.Metadata.GetMetadata<IAllowAnonymous>() is null)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(method => (Method: method, Route: "/" + e.RoutePattern.RawText!.Trim('/'))))
            .Distinct()
            .ToList();
        Assert.Contains(endpoints, e => e.Route == "/orders" && e.Method == "POST");
        Assert.All(StationEndpoints, allowed => Assert.Contains(endpoints, e => $"{e.Method} {e.Route}" == allowed));

        var answers = new List<string>();
        foreach (var (method, route) in endpoints.Where(e => !StationEndpoints.Contains($"{e.Method} {e.Route}")))
        {
            var path = string.Join('/', route.Split('/').Select(segment =>
                !segment.StartsWith('{') ? segment : segment.Contains(":guid", StringComparison.Ordinal) ? Guid.NewGuid().ToString() : "x-1"));
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method is "POST" or "PUT" or "PATCH")
            {
                request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            }

            using var response = await client.SendAsync(request);
            answers.Add($"{method} {route}: {(int)response.StatusCode}");
        }

        Assert.True(answers.Count >= 20, string.Join("\n", answers));
        Assert.All(answers, answer => Assert.EndsWith(": 403", answer, StringComparison.Ordinal));
    }

    [Fact]
    public async Task StationKey_SeesOnlyItsOwnStation()
    {
        var own = await NewStationAsync();
        var other = await NewStationAsync();
        var shipmentId = await QueueJobAsync(other);
        using var client = gateway.CreateClient(await StationKeyAsync(own));

        var jobs = await client.GetAsync(new Uri($"/print-stations/{other}/jobs", UriKind.Relative));
        var zpl = await client.GetAsync(new Uri($"/labels/{shipmentId}/label.zpl", UriKind.Relative));
        var ack = await client.PostAsJsonAsync(new Uri($"/print-jobs/{shipmentId}:label:print:{other}/ack", UriKind.Relative), new { stationId = other });
        var ownJobs = await client.GetFromJsonAsync<JsonElement>(new Uri($"/print-stations/{own}/jobs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, jobs.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, zpl.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, ack.StatusCode);
        Assert.Equal("application/problem+json", ack.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, ownJobs.GetProperty("items").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"name":"dock","scopes":["station"]}""", "stationId")]
    [InlineData("""{"name":"dock","scopes":["station","client"],"stationId":"ps-reno-1"}""", "scopes")]
    [InlineData("""{"name":"dock","scopes":["client"],"stationId":"ps-reno-1"}""", "stationId")]
    [InlineData("""{"name":"dock","scopes":["station"],"stationId":"ps-nowhere"}""", "stationId")]
    public async Task StationKey_NamesOneExistingStation_AndNoOtherScope(string body, string field)
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        var response = await admin.PostAsync(new Uri("/api-keys", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Jobs_ListQueuedJobsWithTheirLabelAndLinks_OperatorsToo()
    {
        var station = await NewStationAsync();
        var shipmentId = await QueueJobAsync(station);
        using var operatorClient = gateway.CreateClient(await KeyAsync(new { name = "floor", scopes = new[] { "operator" } }));

        var list = await operatorClient.GetFromJsonAsync<JsonElement>(new Uri($"/print-stations/{station}/jobs?status=queued", UriKind.Relative));
        var printed = await operatorClient.GetFromJsonAsync<JsonElement>(new Uri($"/print-stations/{station}/jobs?status=printed", UriKind.Relative));

        var job = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal($"{shipmentId}:label:print:{station}", job.GetProperty("id").GetString());
        Assert.Equal(shipmentId, job.GetProperty("shipmentId").GetString());
        Assert.Equal("queued", job.GetProperty("status").GetString());
        Assert.Equal($"{shipmentId}:label", job.GetProperty("label").GetProperty("id").GetString());
        Assert.Equal($"1Z{shipmentId}", job.GetProperty("label").GetProperty("trackingNumber").GetString());
        Assert.Equal("rl_1", job.GetProperty("label").GetProperty("carrierLabelId").GetString());
        Assert.Equal($"/labels/{shipmentId}/label.zpl", job.GetProperty("links").GetProperty("zpl").GetString());
        Assert.Equal($"/labels/{shipmentId}/label.pdf", job.GetProperty("links").GetProperty("pdf").GetString());
        Assert.Equal($"/print-jobs/{shipmentId}:label:print:{station}/ack", job.GetProperty("links").GetProperty("ack").GetString());
        Assert.Equal(0, printed.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Stations_ListEachStationWithItsQueuedCount_ForOperatorsOnly()
    {
        var busy = await NewStationAsync();
        var idle = await NewStationAsync();
        await QueueJobAsync(busy);
        await QueueJobAsync(busy);
        using var operatorClient = gateway.CreateClient(await KeyAsync(new { name = "floor", scopes = new[] { "operator" } }));
        using var stationClient = gateway.CreateClient(await StationKeyAsync(busy));

        var stations = await operatorClient.GetFromJsonAsync<JsonElement>(new Uri("/print-stations", UriKind.Relative));
        using var refused = await stationClient.GetAsync(new Uri("/print-stations", UriKind.Relative));

        var byId = stations.EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        Assert.Equal(2, byId[busy].GetProperty("queued").GetInt32());
        Assert.Equal(0, byId[idle].GetProperty("queued").GetInt32());
        Assert.Equal("test station", byId[busy].GetProperty("name").GetString());
        Assert.Equal("wh-reno", byId[busy].GetProperty("locationId").GetString());
        Assert.Equal("zpl", byId[busy].GetProperty("format").GetString());
        Assert.Contains("ps-reno-1", byId.Keys);
        var ids = stations.EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Theory]
    [InlineData("status=printing", "status")]
    [InlineData("waitSeconds=-1", "waitSeconds")]
    [InlineData("waitSeconds=soon", "waitSeconds")]
    [InlineData("status=printed&waitSeconds=5", "waitSeconds")]
    [InlineData("limit=0", "limit")]
    public async Task Jobs_BadQuery_Is400NamingTheParameter(string query, string field)
    {
        var station = await NewStationAsync();
        using var client = gateway.CreateClient(await StationKeyAsync(station));

        var response = await client.GetAsync(new Uri($"/print-stations/{station}/jobs?{query}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Jobs_UnknownStation_Is404ProblemJson()
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);

        var response = await admin.GetAsync(new Uri("/print-stations/ps-nowhere/jobs", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Jobs_Waiting_AnswersEmptyWhenTheWaitRunsOut()
    {
        var station = await NewStationAsync();
        using var client = gateway.CreateClient(await StationKeyAsync(station));

        var list = await client.GetFromJsonAsync<JsonElement>(new Uri($"/print-stations/{station}/jobs?waitSeconds=1", UriKind.Relative));

        Assert.Equal(0, list.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Jobs_Waiting_AnswersAsSoonAsAJobIsQueued()
    {
        var station = await NewStationAsync();
        using var client = gateway.CreateClient(await StationKeyAsync(station));
        var hub = gateway.Factory.Services.GetRequiredService<OutboxEventHub>();
        var waitingBefore = hub.SubscriberCount;

        // The whole minute: an answer before it can only come from the queued job waking the wait.
        var started = DateTimeOffset.UtcNow;
        var waiting = client.GetFromJsonAsync<JsonElement>(new Uri($"/print-stations/{station}/jobs?waitSeconds=60", UriKind.Relative));
        while (hub.SubscriberCount == waitingBefore && !waiting.IsCompleted)
        {
            await Task.Delay(20);
        }

        var shipmentId = await QueueJobAsync(station);
        var list = await waiting;

        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(45), "the wait ran out instead of being woken");
        Assert.Equal(shipmentId, Assert.Single(list.GetProperty("items").EnumerateArray()).GetProperty("shipmentId").GetString());
    }

    [Fact]
    public async Task LabelFiles_AreZplTextAndPdf_AndAVoidedLabelSaysSo()
    {
        var station = await NewStationAsync();
        var shipmentId = await QueueJobAsync(station);
        using var client = gateway.CreateClient(await StationKeyAsync(station));

        var zpl = await client.GetAsync(new Uri($"/labels/{shipmentId}/label.zpl", UriKind.Relative));
        var pdf = await client.GetAsync(new Uri($"/labels/{shipmentId}/label.pdf", UriKind.Relative));
        await ExecuteAsync("UPDATE labels SET voided = true, voided_at = now() WHERE shipment_id = @shipmentId", new { shipmentId });
        var voided = await client.GetAsync(new Uri($"/labels/{shipmentId}/label.zpl", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, zpl.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", zpl.Content.Headers.ContentType?.ToString());
        Assert.Equal("^XA\n^FDMONTRÉAL^FS\n^XZ\n", await zpl.Content.ReadAsStringAsync());
        Assert.Equal("active", zpl.Headers.GetValues("Label-Status").Single());
        Assert.Equal("application/pdf", pdf.Content.Headers.ContentType?.MediaType);
        Assert.Equal("%PDF-1.7 test"u8.ToArray(), await pdf.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, voided.StatusCode);
        Assert.Equal("voided", voided.Headers.GetValues("Label-Status").Single());
        Assert.True(voided.Headers.Contains("Label-Voided-At"));
    }

    [Fact]
    public async Task LabelFiles_UnknownOrUnrenderedLabel_Is404ProblemJson()
    {
        var station = await NewStationAsync();
        var shipmentId = await QueueJobAsync(station);
        await ExecuteAsync("UPDATE labels SET pdf = NULL WHERE shipment_id = @shipmentId", new { shipmentId });
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);

        var unknown = await admin.GetAsync(new Uri("/labels/no-such-shipment/label.pdf", UriKind.Relative));
        var unrendered = await admin.GetAsync(new Uri($"/labels/{shipmentId}/label.pdf", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, unrendered.StatusCode);
        Assert.Contains("not rendered", (await unrendered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private async Task<string> NewStationAsync()
    {
        var id = $"ps-{Guid.NewGuid():N}"[..16];
        await ExecuteAsync("INSERT INTO print_stations (id, name, location_id, format) VALUES (@id, 'test station', 'wh-reno', 'zpl')", new { id });
        return id;
    }

    /// <summary>A bought, rendered label with a queued job on the station, written as the label activities write them.</summary>
    private async Task<string> QueueJobAsync(string station)
    {
        var shipmentId = $"s-{Guid.NewGuid():N}"[..16];
        await ExecuteAsync(
            """
            INSERT INTO shipments (id, order_id, status, ship_from, ship_to, carrier, service, tracking_number)
            VALUES (@shipmentId, 'o-' || @shipmentId, 'label_purchased', '{}', '{}', 'ridgeline', 'GROUND', '1Z' || @shipmentId);
            INSERT INTO labels (id, shipment_id, idempotency_key, carrier, service, tracking_number, carrier_label_id, cost, currency, zpl, pdf)
            VALUES (@shipmentId || ':label', @shipmentId, @shipmentId || ':label', 'ridgeline', 'GROUND', '1Z' || @shipmentId, 'rl_1', 7.5, 'USD',
                    E'^XA\n^FDMONTRÉAL^FS\n^XZ\n', convert_to('%PDF-1.7 test', 'UTF8'));
            INSERT INTO print_jobs (id, label_id, station_id, idempotency_key, format)
            VALUES (@shipmentId || ':label:print:' || @station, @shipmentId || ':label', @station, @shipmentId || ':label:print:' || @station, 'zpl');
            INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload)
            VALUES (gen_random_uuid(), 'shipment', @shipmentId, 'print_job.queued', jsonb_build_object('stationId', @station));
            """,
            new { shipmentId, station });
        return shipmentId;
    }

    private Task<string> StationKeyAsync(string station) => KeyAsync(new { name = $"station {station}", scopes = new[] { "station" }, stationId = station });

    private async Task<string> KeyAsync(object body)
    {
        using var admin = gateway.CreateClient(GatewayFixture.AdminKey);
        var created = await admin.PostAsJsonAsync(new Uri("/api-keys", UriKind.Relative), body);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    private async Task ExecuteAsync(string sql, object parameters)
    {
        await using var connection = new NpgsqlConnection(gateway.ConnectionString);
        await connection.ExecuteAsync(sql, parameters);
    }
}

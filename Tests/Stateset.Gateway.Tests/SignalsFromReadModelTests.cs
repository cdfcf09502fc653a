using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;

namespace Stateset.Gateway.Tests;

/// <summary>
/// Operator decisions, cancellation, the returns desk's events and the print stations' acknowledgements are decided
/// from SQL (the run's read-model row, the print job's row) and then sent as one plain signal; the workflow is never
/// asked. The runs here are real Temporal workflows that no worker runs, so what reached them is read from their
/// histories, and their read-model rows are written as the workflows write them.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class SignalsFromReadModelTests(GatewayFixture gateway)
{
    public static TheoryData<string, string, string, string, string, string, string> Signals() => new()
    {
        // resource, action, workflow type, body, a view that waits for it, a view that does not, the signal
        { "orders", "approve", "OrderFulfillment", """{"reason":"known customer"}""", Pending("awaiting approval"), """{"stage":"printing label","pendingApproval":null}""", "Approve" },
        { "orders", "reject", "OrderFulfillment", """{"reason":"fraud"}""", Pending("awaiting approval"), """{"stage":"capturing payment"}""", "Reject" },
        { "orders", "cancel", "OrderFulfillment", """{"reason":"changed mind"}""", """{"stage":"awaiting shipment","shipment":{"shippedAt":null}}""", """{"stage":"in transit","shipment":{"shippedAt":"2026-01-02T03:04:05Z"}}""", "Cancel" },
        { "refunds", "approve", "RefundProcessing", """{"reason":"ok"}""", Pending("awaiting approval"), """{"stage":"refunding","pendingApproval":null}""", "Approve" },
        { "returns", "reject", "ReturnAuthorization", """{"reason":"worn"}""", Pending("awaiting approval"), """{"stage":"awaiting receipt"}""", "Reject" },
        { "returns", "received", "ReturnAuthorization", """{"note":"one box"}""", """{"stage":"awaiting receipt"}""", """{"stage":"awaiting inspection"}""", "Received" },
        { "returns", "inspected", "ReturnAuthorization", """{"lines":[{"sku":"TENT-2P","condition":"opened"}]}""", """{"stage":"awaiting inspection"}""", """{"stage":"restocking"}""", "Inspected" },
    };

    [Theory]
    [MemberData(nameof(Signals))]
    public async Task Signal_IsDecidedByTheReadModelRow_404Unknown_409NotWaitingOrClosed_202Signalled(
        string resource, string action, string workflowType, string body, string waiting, string notWaiting, string signal)
    {
        using var operatorClient = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));
        var prefix = resource switch { "orders" => "order-", "refunds" => "refund-", _ => "rma-" };

        // Nothing known of it: 404.
        var unknown = await PostAsync(operatorClient, $"/{resource}/unknown-{Guid.NewGuid():N}/{action}", body);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        // The row says the run waits for something else: 409, and the run is not bothered.
        var busy = await RunAsync(prefix, workflowType, notWaiting);
        var refused = await PostAsync(operatorClient, $"/{resource}/{busy.Id}/{action}", body);
        await AssertNotWaitingAsync(refused);
        Assert.Empty(await SignalsAsync(busy.Handle));

        // The row waits for it: 202, one signal.
        var ready = await RunAsync(prefix, workflowType, waiting);
        var accepted = await PostAsync(operatorClient, $"/{resource}/{ready.Id}/{action}", body);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal([signal], await SignalsAsync(ready.Handle));

        // The row closed: 409 whatever its view says.
        var closed = await RunAsync(prefix, workflowType, waiting, closed: true);
        await AssertNotWaitingAsync(await PostAsync(operatorClient, $"/{resource}/{closed.Id}/{action}", body));
        Assert.Empty(await SignalsAsync(closed.Handle));

        // A stale row (the run ended before its row said so): the signal finds no open run, 409 as well.
        var stale = await RunAsync(prefix, workflowType, waiting);
        await stale.Handle.TerminateAsync("ended behind the row's back");
        await AssertNotWaitingAsync(await PostAsync(operatorClient, $"/{resource}/{stale.Id}/{action}", body));
    }

    [Fact]
    public async Task PrintAcknowledgement_IsDecidedByTheJobAndLabelRows_AndSignalsTheLabelRun()
    {
        var station = await NewStationAsync();
        using var stationClient = gateway.CreateClient(await gateway.CreateKeyAsync("operator"));
        var stationBody = JsonSerializer.Serialize(new { stationId = station });

        var unknown = await PostAsync(stationClient, $"/print-jobs/{Guid.NewGuid():N}:label:print:{station}/ack", stationBody);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        // Queued, its label run open: 202 and the run gets the acknowledgement, whether or not it has taken in the job yet.
        var (shipmentId, job, label) = await QueuedJobAsync(station);
        var wrongStation = await PostAsync(stationClient, $"/print-jobs/{job}/ack", JsonSerializer.Serialize(new { stationId = "ps-reno-1" }));
        Assert.Equal(HttpStatusCode.Conflict, wrongStation.StatusCode);
        var accepted = await PostAsync(stationClient, $"/print-jobs/{job}/ack", stationBody);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(["Printed"], await SignalsAsync(label));

        // Printed already: 409, no second signal.
        await gateway.ExecuteSqlAsync("UPDATE print_jobs SET status = 'printed', acknowledged_at = now() WHERE id = @job", new { job });
        await AssertNotWaitingAsync(await PostAsync(stationClient, $"/print-jobs/{job}/ack", stationBody));
        Assert.Equal(["Printed"], await SignalsAsync(label));

        // Still queued, but its label run closed (it gave up waiting for the station): 409.
        (shipmentId, job, label) = await QueuedJobAsync(station);
        await gateway.ExecuteSqlAsync("UPDATE workflow_runs SET closed_at = now(), stage = 'done' WHERE workflow_id = @id", new { id = $"label-{shipmentId}" });
        await AssertNotWaitingAsync(await PostAsync(stationClient, $"/print-jobs/{job}/ack", stationBody));
        Assert.Empty(await SignalsAsync(label));

        // Cancelled with its shipment: 409.
        (_, job, label) = await QueuedJobAsync(station);
        await gateway.ExecuteSqlAsync("UPDATE print_jobs SET status = 'cancelled' WHERE id = @job", new { job });
        await AssertNotWaitingAsync(await PostAsync(stationClient, $"/print-jobs/{job}/ack", stationBody));
        Assert.Empty(await SignalsAsync(label));

        // The rows say it waits but the run is gone: the signal finds no open run, 409.
        (_, job, label) = await QueuedJobAsync(station);
        await label.TerminateAsync("ended behind the rows' back");
        await AssertNotWaitingAsync(await PostAsync(stationClient, $"/print-jobs/{job}/ack", stationBody));
    }

    private static string Pending(string stage) => JsonSerializer.Serialize(new
    {
        stage,
        pendingApproval = new { reason = "over threshold", requestedAt = "2026-01-01T00:00:00Z", expiresAt = "2999-01-01T00:00:00Z", reminded = false },
    });

    private static async Task AssertNotWaitingAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Not waiting", problem.GetProperty("title").GetString());
    }

    private static async Task<List<string>> SignalsAsync(WorkflowHandle handle)
    {
        var history = await handle.FetchHistoryAsync();
        return [.. history.Events.Where(e => e.EventType == EventType.WorkflowExecutionSignaled).Select(e => e.WorkflowExecutionSignaledEventAttributes.SignalName)];
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string body)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        return await client.PostAsync(new Uri(path, UriKind.Relative), content);
    }

    /// <summary>A run open in Temporal (no worker runs it, so it stays as it is) with the read-model row its workflow would have written.</summary>
    private async Task<(string Id, WorkflowHandle Handle)> RunAsync(string prefix, string workflowType, string view, bool closed = false)
    {
        var id = $"sig-{Guid.NewGuid():N}";
        var handle = await gateway.Temporal.Client.StartWorkflowAsync(workflowType, [], new WorkflowOptions(prefix + id, $"tq-nobody-{Guid.NewGuid():N}"));
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO workflow_runs (workflow_id, workflow_type, business_id, status, stage, started_at, updated_at, closed_at, view)
            VALUES (@workflowId, @workflowType, @id, 'pending', @view::jsonb ->> 'stage', now(), now(), CASE WHEN @closed THEN now() END, @view::jsonb)
            """,
            new { workflowId = prefix + id, workflowType, id, view, closed });
        return (id, handle);
    }

    private async Task<string> NewStationAsync()
    {
        var id = $"ps-{Guid.NewGuid():N}"[..16];
        await gateway.ExecuteSqlAsync("INSERT INTO print_stations (id, name, location_id, format) VALUES (@id, 'signal station', 'wh-reno', 'zpl')", new { id });
        return id;
    }

    /// <summary>A queued print job of a rendered label, as the label activities write them, and its label run, open and waiting.</summary>
    private async Task<(string ShipmentId, string Job, WorkflowHandle Label)> QueuedJobAsync(string station)
    {
        var shipmentId = $"s-{Guid.NewGuid():N}"[..16];
        var job = $"{shipmentId}:label:print:{station}";
        await gateway.ExecuteSqlAsync(
            """
            INSERT INTO shipments (id, order_id, status, ship_from, ship_to, carrier, service, tracking_number)
            VALUES (@shipmentId, 'o-' || @shipmentId, 'label_purchased', '{}', '{}', 'ridgeline', 'GROUND', '1Z' || @shipmentId);
            INSERT INTO labels (id, shipment_id, idempotency_key, carrier, service, tracking_number, carrier_label_id, cost, currency, zpl, pdf)
            VALUES (@shipmentId || ':label', @shipmentId, @shipmentId || ':label', 'ridgeline', 'GROUND', '1Z' || @shipmentId, 'rl_1', 7.5, 'USD',
                    E'^XA\n^XZ\n', convert_to('%PDF-1.7 test', 'UTF8'));
            INSERT INTO print_jobs (id, label_id, station_id, idempotency_key, format)
            VALUES (@job, @shipmentId || ':label', @station, @job, 'zpl');
            INSERT INTO workflow_runs (workflow_id, workflow_type, business_id, status, stage, started_at, updated_at, view)
            VALUES ('label-' || @shipmentId, 'LabelPrinting', @shipmentId, 'printing', 'waiting for print station', now(), now(),
                    '{"stage":"waiting for print station"}');
            """,
            new { shipmentId, job, station });
        var label = await gateway.Temporal.Client.StartWorkflowAsync("LabelPrinting", [], new WorkflowOptions($"label-{shipmentId}", $"tq-nobody-{Guid.NewGuid():N}"));
        return (shipmentId, job, label);
    }
}

using System.Security.Claims;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Gateway.Security;
using Stateset.Gateway.Validation;
using Stateset.Gateway.Workflows;
using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;
using Stateset.Workflows.LabelPrinting;

namespace Stateset.Gateway.Apis;

/// <summary>Buy and print a shipping label (US and Canada).</summary>
/// <param name="ShipmentId">Your shipment id; omitted, one is derived from the Idempotency-Key.</param>
/// <param name="StationId">The print station; omitted, the label is bought and rendered but not printed.</param>
public sealed record PrintLabelRequest(
    string? ShipmentId, string? OrderId, AddressBody? From, AddressBody? To, ParcelBody? Parcel, string? ServiceLevel, string? StationId);

/// <summary>A parcel, metric.</summary>
public sealed record ParcelBody(int? WeightGrams, int? LengthMm, int? WidthMm, int? HeightMm);

/// <summary>A print station's confirmation that it printed a job.</summary>
public sealed record PrintAcknowledgementBody(string? StationId);

/// <summary>Labels and the print stations' acknowledgements.</summary>
public static class LabelsApi
{
    private static readonly Dictionary<string, ServiceLevel> ServiceLevels = new(StringComparer.Ordinal)
    {
        ["ground"] = ServiceLevel.Ground,
        ["two_day"] = ServiceLevel.TwoDay,
        ["overnight"] = ServiceLevel.Overnight,
    };

    /// <summary>Maps <c>/labels</c> and <c>/print-jobs</c>.</summary>
    public static IEndpointRouteBuilder MapLabelsApi(this IEndpointRouteBuilder routes)
    {
        var labels = routes.MapGroup("/labels").WithTags("Labels").RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        labels.MapResourceList("labels", "LabelPrinting", "ListLabels");
        labels.MapPost("/", PrintAsync).RequireAuthorization(ApiScopes.Client)
            .WithName("PrintLabel").WithSummary("Validates both addresses, rate-shops, buys, renders and prints a label.");
        labels.MapGet("/{shipmentId}", GetAsync).RequireAuthorization(ApiScopes.ReadPolicy).DocumentsStatusAs<LabelStatus>()
            .WithName("GetLabel").WithSummary("The label run's status: rate, label, tracking number, print job.");

        var printJobs = routes.MapGroup("/print-jobs").WithTags("Labels").RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        printJobs.MapPost("/{printJobId}/ack", AcknowledgeAsync).RequireAuthorization(ApiScopes.PrintAcknowledgementPolicy)
            .WithName("AcknowledgePrintJob").WithSummary("A print station confirms it printed a job.");
        return routes;
    }

    private static async Task<Results<Accepted<StartedResource>, ValidationProblem, ProblemHttpResult>> PrintAsync(
        PrintLabelRequest request, HttpContext http, WorkflowGateway workflows)
    {
        var check = new RequestValidator()
            .Id("shipmentId", request.ShipmentId, required: false)
            .Id("orderId", request.OrderId)
            .Address("from", request.From)
            .Address("to", request.To)
            .OneOf("serviceLevel", request.ServiceLevel, ServiceLevels.Keys, required: false)
            .Id("stationId", request.StationId, required: false);
        if (request.Parcel is null)
        {
            check.Add("parcel", "is required.");
        }
        else
        {
            check.Range("parcel.weightGrams", request.Parcel.WeightGrams, 1, 70_000)
                .Range("parcel.lengthMm", request.Parcel.LengthMm, 1, 2_700)
                .Range("parcel.widthMm", request.Parcel.WidthMm, 1, 2_700)
                .Range("parcel.heightMm", request.Parcel.HeightMm, 1, 2_700);
        }

        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        return await workflows.StartAsync<LabelPrintingWorkflow, PrintLabelResult>(
            http,
            "labels",
            "s",
            request,
            request.ShipmentId,
            WorkflowIds.Label,
            shipmentId =>
            {
                var parcel = new Parcel(request.Parcel!.WeightGrams!.Value, request.Parcel.LengthMm!.Value, request.Parcel.WidthMm!.Value, request.Parcel.HeightMm!.Value);
                var input = new PrintLabelInput(
                    shipmentId, request.OrderId!, request.From!.ToAddress(), request.To!.ToAddress(), parcel, ServiceLevels[request.ServiceLevel ?? "ground"], request.StationId);
                return wf => wf.RunAsync(input);
            });
    }

    private static Task<Results<StoredResourceView, NotFound, ValidationProblem>> GetAsync(string shipmentId, WorkflowGateway workflows, CancellationToken ct) =>
        workflows.GetAsync("labels", "shipmentId", shipmentId, WorkflowIds.Label, ct);

    private static async Task<Results<Accepted, NotFound, ProblemHttpResult, ValidationProblem>> AcknowledgeAsync(
        string printJobId, PrintAcknowledgementBody body, ClaimsPrincipal user, NpgsqlDataSource database, WorkflowGateway workflows, CancellationToken ct)
    {
        var check = new RequestValidator().Id("printJobId", printJobId).Id("stationId", body.StationId);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        if (StationKeys.RefuseOtherStation(user, body.StationId) is { } otherStation)
        {
            return otherStation;
        }

        // The job's row and its label run's read-model row decide it: the run itself is not asked, so an
        // acknowledgement sent the moment the job is listed (before the run has taken in that step's result) is
        // delivered, and the run keeps it until it knows the job (Patches.EarlyPrintAcknowledgement).
        PrintJobState? job;
        await using (var connection = await database.OpenConnectionAsync(ct))
        {
            job = await connection.QuerySingleOrDefaultAsync<PrintJobState>(new CommandDefinition(
                """
                SELECT l.shipment_id AS ShipmentId, pj.station_id AS StationId, pj.status AS Status, r.closed_at IS NULL AS Live
                FROM print_jobs pj
                JOIN labels l ON l.id = pj.label_id
                LEFT JOIN workflow_runs r ON r.workflow_id = @labelRunPrefix || l.shipment_id
                WHERE pj.id = @printJobId
                """,
                new { printJobId, labelRunPrefix = WorkflowIds.Label(string.Empty) },
                cancellationToken: ct));
        }

        if (job is null)
        {
            return TypedResults.NotFound();
        }

        if (job.StationId != body.StationId)
        {
            return TypedResults.Problem($"Print job {printJobId} belongs to another station.", statusCode: StatusCodes.Status409Conflict, title: "Wrong station");
        }

        var refusal = job.Status switch
        {
            "printed" => $"Print job {printJobId} was already acknowledged.",
            "queued" or "sent" when !job.Live => $"The label run of shipment {job.ShipmentId} has finished; it no longer waits for print job {printJobId}.",
            "queued" or "sent" => null,
            _ => $"Print job {printJobId} is {job.Status}; nothing waits for it.",
        };
        if (refusal is not null)
        {
            return TypedResults.Problem(refusal, statusCode: StatusCodes.Status409Conflict, title: WorkflowGateway.NotWaitingTitle);
        }

        var acknowledgement = new PrintAcknowledgement(printJobId, body.StationId!);
        var signalled = await workflows.SignalAsync<LabelPrintingWorkflow>(WorkflowIds.Label(job.ShipmentId), wf => wf.PrintedAsync(acknowledgement), ct);
        return signalled.Result switch
        {
            Accepted accepted => accepted,
            _ => (ProblemHttpResult)signalled.Result,
        };
    }

    // Dapper fills it by column name.
    private sealed record PrintJobState(string ShipmentId, string StationId, string Status, bool Live);
}

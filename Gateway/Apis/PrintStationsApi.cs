using System.Globalization;
using System.Security.Claims;
using System.Text;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Stateset.Activities.Shipping;
using Stateset.Gateway.Events;
using Stateset.Gateway.Security;
using Stateset.Gateway.Validation;

namespace Stateset.Gateway.Apis;

/// <summary>A print station with how many of its jobs wait to print.</summary>
/// <param name="Format">What it prints: <c>zpl</c> (thermal printers) or <c>pdf</c>.</param>
/// <param name="Queued">Its jobs queued or sent and not yet acknowledged.</param>
/// <param name="LastSeenAt">When the station last asked for its jobs, if ever.</param>
public sealed record PrintStationItem(string Id, string Name, string? LocationId, string Format, bool Active, int Queued, DateTimeOffset? LastSeenAt);

/// <summary>A station's print jobs, oldest first (the order they should print in).</summary>
public sealed record PrintJobList(string StationId, string Status, IReadOnlyList<PrintJobItem> Items);

/// <summary>One print job with what a station needs to print and acknowledge it.</summary>
/// <param name="Format">What the station prints: <c>zpl</c> (thermal printers) or <c>pdf</c>.</param>
public sealed record PrintJobItem(
    string Id,
    string ShipmentId,
    string StationId,
    string Format,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? AcknowledgedAt,
    PrintJobLabel Label,
    PrintJobLinks Links);

/// <summary>The label a print job prints.</summary>
/// <param name="CarrierLabelId">The carrier's own id of the label (what the carrier's API, and its sandbox, know it by).</param>
/// <param name="Voided">The label was voided after the job was queued: do not stick it on a parcel.</param>
public sealed record PrintJobLabel(string Id, string Carrier, string Service, string TrackingNumber, string? CarrierLabelId, bool Voided);

/// <summary>Where the label's files are and where to acknowledge the job.</summary>
/// <param name="Ack">POST <c>{"stationId": …}</c> here once the label is printed.</param>
public sealed record PrintJobLinks(string Zpl, string Pdf, string Ack);

/// <summary>
/// The print stations' side: a station waits on its job list (long-poll), fetches each job's label as ZPL or PDF,
/// and acknowledges it at <c>POST /print-jobs/{id}/ack</c>.
/// </summary>
/// <remarks>
/// Long-poll rather than Server-Sent Events: a station is a small agent (a script beside a Zebra printer, a
/// print server) that already speaks request/response; one GET that returns as soon as a job is queued works with any
/// HTTP client and through proxies that buffer streams, answers in the same JSON as the plain list, and holds no
/// stream open between jobs. The wait is woken by the outbox's <c>print_job.queued</c> event (the gateway's one
/// <c>LISTEN outbox</c> connection), never by polling SQL in a loop.
/// </remarks>
public static class PrintStationsApi
{
    /// <summary>The longest a job list waits for a job (<c>waitSeconds</c> above this is cut to it).</summary>
    public const int MaxWaitSeconds = 60;

    /// <summary>The header that says whether a label file's label is still good to ship with.</summary>
    public const string LabelStatusHeader = "Label-Status";

    private const int DefaultLimit = 50;
    private const int MaxLimit = 200;
    private static readonly string[] Statuses = ["queued", "sent", "printed", "failed", "cancelled"];
    private static readonly EventStreamFilter QueuedJobs = new([], [], ["print_job.queued"]);

    /// <summary>Maps <c>/print-stations/{id}/jobs</c> and <c>/labels/{shipmentId}/label.zpl|pdf</c>.</summary>
    public static IEndpointRouteBuilder MapPrintStationsApi(this IEndpointRouteBuilder routes)
    {
        var stations = routes.MapGroup("/print-stations").WithTags("Print stations").RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);

        // Operators only: a station key knows its own station and must not learn the others.
        stations.MapGet("/", StationsAsync).RequireAuthorization(ApiScopes.Operator)
            .WithName("ListPrintStations")
            .WithSummary("The print stations by id, each with its queued job count (the console's station picker).");
        stations.MapGet("/{stationId}/jobs", JobsAsync).RequireAuthorization(ApiScopes.PrintJobsPolicy)
            .WithName("ListPrintJobs")
            .WithSummary($"A station's print jobs by status (default queued), oldest first; with waitSeconds (at most {MaxWaitSeconds}) an empty answer waits until a job is queued.");

        var files = routes.MapGroup("/labels").WithTags("Print stations").RequireRateLimiting(SecurityExtensions.PerKeyRateLimit);
        files.MapGet("/{shipmentId}/label.zpl", ZplAsync).RequireAuthorization(ApiScopes.LabelFilesPolicy)
            .Produces(StatusCodes.Status200OK, contentType: "text/plain")
            .WithName("GetLabelZpl")
            .WithSummary($"The label as ZPL II for 203 dpi 4x6 thermal printers (text/plain; charset=utf-8); header {LabelStatusHeader}: active or voided.");
        files.MapGet("/{shipmentId}/label.pdf", PdfAsync).RequireAuthorization(ApiScopes.LabelFilesPolicy)
            .Produces(StatusCodes.Status200OK, contentType: "application/pdf")
            .WithName("GetLabelPdf")
            .WithSummary($"The label as a 4x6 inch PDF (application/pdf); header {LabelStatusHeader}: active or voided.");
        return routes;
    }

    private static async Task<Ok<IReadOnlyList<PrintStationItem>>> StationsAsync(NpgsqlDataSource database, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<PrintStationRow>(new CommandDefinition(
            """
            SELECT s.id, s.name, s.location_id, s.format, s.active, s.last_seen_at,
                   (SELECT count(*) FROM print_jobs j WHERE j.station_id = s.id AND j.status IN ('queued', 'sent'))::int AS queued
            FROM print_stations s
            ORDER BY s.id
            """,
            cancellationToken: ct));
        return TypedResults.Ok<IReadOnlyList<PrintStationItem>>([.. rows.Select(row => new PrintStationItem(
            row.Id,
            row.Name,
            row.Location_Id,
            row.Format,
            row.Active,
            row.Queued,
            row.Last_Seen_At is { } seen ? new DateTimeOffset(seen, TimeSpan.Zero) : null))]);
    }

    private static async Task<Results<Ok<PrintJobList>, ValidationProblem, ProblemHttpResult>> JobsAsync(
        string stationId,
        string? status,
        string? waitSeconds,
        string? limit,
        ClaimsPrincipal user,
        HttpContext http,
        NpgsqlDataSource database,
        OutboxEventHub hub,
        TimeProvider time,
        IHostApplicationLifetime lifetime)
    {
        var check = new RequestValidator().Id("stationId", stationId);
        var errors = check.Errors;
        status = QueryParameters.OneOf(status, "status", Statuses, errors) ?? "queued";
        var wait = Number(waitSeconds, "waitSeconds", 0, int.MaxValue, 0, errors);
        var size = Number(limit, "limit", 1, MaxLimit, DefaultLimit, errors);
        if (wait > 0 && status != "queued")
        {
            errors["waitSeconds"] = ["Only a list of queued jobs waits: new jobs arrive queued."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (StationKeys.RefuseOtherStation(user, stationId) is { } otherStation)
        {
            return otherStation;
        }

        var ct = http.RequestAborted;
        await using (var connection = await database.OpenConnectionAsync(ct))
        {
            if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM print_stations WHERE id = @stationId)", new { stationId }, cancellationToken: ct)))
            {
                return TypedResults.Problem($"There is no print station '{stationId}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown print station");
            }
        }

        if (wait == 0)
        {
            return TypedResults.Ok(new PrintJobList(stationId, status, await ListAsync(database, stationId, status, size, ct)));
        }

        EventSubscription subscription;
        try
        {
            // Subscribed before the first read, so a job queued between that read and the wait still wakes it.
            subscription = await hub.SubscribeAsync(QueuedJobs, user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "anonymous", ct);
        }
        catch (TimeoutException)
        {
            return TypedResults.Problem(
                "The gateway's outbox listener is not connected; list without waitSeconds, or retry shortly.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Waiting unavailable");
        }
        catch (EventStreamLimitException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status429TooManyRequests, title: "Too many waiting requests");
        }

        using (subscription)
        {
            var deadline = time.GetUtcNow().AddSeconds(Math.Min(wait, MaxWaitSeconds));
            while (true)
            {
                var jobs = await ListAsync(database, stationId, status, size, ct);
                var remaining = deadline - time.GetUtcNow();
                if (jobs.Count > 0 || remaining <= TimeSpan.Zero)
                {
                    return TypedResults.Ok(new PrintJobList(stationId, status, jobs));
                }

                using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
                waiting.CancelAfter(remaining);
                try
                {
                    if (!await subscription.Events.WaitToReadAsync(waiting.Token))
                    {
                        // The listener lost PostgreSQL: answer with what is there; the station simply asks again.
                        return TypedResults.Ok(new PrintJobList(stationId, status, await ListAsync(database, stationId, status, size, ct)));
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // The wait ran out, or the gateway is stopping: the list as it is now.
                    return TypedResults.Ok(new PrintJobList(stationId, status, await ListAsync(database, stationId, status, size, ct)));
                }

                // Any station's job wakes every waiter; each reads its own list again.
                while (subscription.Events.TryRead(out _))
                {
                }
            }
        }
    }

    private static Task<Results<ContentHttpResult, ValidationProblem, ProblemHttpResult>> ZplAsync(
        string shipmentId, ClaimsPrincipal user, HttpContext http, NpgsqlDataSource database) =>
        FileAsync(shipmentId, "zpl", user, http, database, file =>
            TypedResults.Text(Encoding.UTF8.GetString(file.Bytes), "text/plain", Encoding.UTF8));

    private static Task<Results<FileContentHttpResult, ValidationProblem, ProblemHttpResult>> PdfAsync(
        string shipmentId, ClaimsPrincipal user, HttpContext http, NpgsqlDataSource database) =>
        FileAsync(shipmentId, "pdf", user, http, database, file => TypedResults.File(file.Bytes, "application/pdf"));

    /// <summary>
    /// Serves a label's stored artwork. A voided label is still served, so a station can show what it printed, but
    /// every answer says in <see cref="LabelStatusHeader"/> whether the label is <c>active</c> or <c>voided</c>
    /// (and when, in <c>Label-Voided-At</c>): 200 with a header rather than 410, because the file is still there
    /// and still the one that was printed; what changed is whether it may ship.
    /// </summary>
    private static async Task<Results<TFile, ValidationProblem, ProblemHttpResult>> FileAsync<TFile>(
        string shipmentId, string format, ClaimsPrincipal user, HttpContext http, NpgsqlDataSource database, Func<LabelFile, TFile> answer)
        where TFile : IResult
    {
        var check = new RequestValidator().Id("shipmentId", shipmentId);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        var ct = http.RequestAborted;
        await using var connection = await database.OpenConnectionAsync(ct);
        var station = StationKeys.StationOf(user);
        var label = await connection.QuerySingleOrDefaultAsync<LabelFileRow>(new CommandDefinition(
            $"""
            SELECT l.carrier, l.tracking_number, l.voided, l.voided_at,
                   {(format == "zpl" ? "convert_to(l.zpl, 'UTF8')" : "l.pdf")} AS file,
                   (@station::text IS NULL OR EXISTS (SELECT 1 FROM print_jobs j WHERE j.label_id = l.id AND j.station_id = @station)) AS visible
            FROM labels l WHERE l.id = @labelId
            """,
            new { labelId = LabelActivities.LabelKey(shipmentId), station },
            cancellationToken: ct));
        if (label is null)
        {
            return TypedResults.Problem($"Shipment '{shipmentId}' has no label.", statusCode: StatusCodes.Status404NotFound, title: "Unknown label");
        }

        if (!label.Visible)
        {
            return TypedResults.Problem(
                $"This API key belongs to print station '{station}', which has no print job for shipment '{shipmentId}'.",
                statusCode: StatusCodes.Status403Forbidden,
                title: "Another station");
        }

        if (label.File is null)
        {
            return TypedResults.Problem(
                $"The label of shipment '{shipmentId}' is bought but not rendered yet; its print job appears once it is.",
                statusCode: StatusCodes.Status404NotFound,
                title: "Label not rendered");
        }

        var headers = http.Response.Headers;
        headers[LabelStatusHeader] = label.Voided ? "voided" : "active";
        if (label.Voided_At is { } voidedAt)
        {
            headers["Label-Voided-At"] = new DateTimeOffset(voidedAt, TimeSpan.Zero).ToString("O", CultureInfo.InvariantCulture);
        }

        // Inline, so a browser shows it; named, so a download is not called "label".
        headers.ContentDisposition = $"inline; filename=\"{label.Carrier}-{label.Tracking_Number}.{format}\"";
        headers.CacheControl = "no-cache";
        return answer(new LabelFile(label.File));
    }

    private static async Task<IReadOnlyList<PrintJobItem>> ListAsync(NpgsqlDataSource database, string stationId, string status, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<PrintJobRow>(new CommandDefinition(
            """
            SELECT j.id, l.shipment_id, j.station_id, j.format, j.status, j.created_at, j.acknowledged_at,
                   l.id AS label_id, l.carrier, l.service, l.tracking_number, l.carrier_label_id, l.voided
            FROM print_jobs j JOIN labels l ON l.id = j.label_id
            WHERE j.station_id = @stationId AND j.status = @status
            ORDER BY j.created_at, j.id
            LIMIT @limit
            """,
            new { stationId, status, limit },
            cancellationToken: ct));
        return [.. rows.Select(row => new PrintJobItem(
            row.Id,
            row.Shipment_Id,
            row.Station_Id,
            row.Format,
            row.Status,
            new DateTimeOffset(row.Created_At, TimeSpan.Zero),
            row.Acknowledged_At is { } acknowledged ? new DateTimeOffset(acknowledged, TimeSpan.Zero) : null,
            new PrintJobLabel(row.Label_Id, row.Carrier, row.Service, row.Tracking_Number, row.Carrier_Label_Id, row.Voided),
            new PrintJobLinks(
                $"/labels/{Segment(row.Shipment_Id)}/label.zpl",
                $"/labels/{Segment(row.Shipment_Id)}/label.pdf",
                $"/print-jobs/{Segment(row.Id)}/ack")))];
    }

    // Ids are letters, digits and - _ . : (see RequestValidator.Id); ':' is fine in a path segment and kept readable.
    private static string Segment(string id) => Uri.EscapeDataString(id).Replace("%3A", ":", StringComparison.Ordinal);

    private static int Number(string? value, string name, int min, int max, int fallback, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return fallback;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max)
        {
            return number;
        }

        errors[name] = [max == int.MaxValue ? $"{name} must be a whole number from {min}." : $"{name} must be a whole number from {min} to {max}."];
        return fallback;
    }

    private sealed record LabelFile(byte[] Bytes);

    private sealed record PrintStationRow(string Id, string Name, string? Location_Id, string Format, bool Active, DateTime? Last_Seen_At, int Queued);

    // Dapper fills these by column name; timestamptz arrives as a UTC DateTime.
    private sealed record LabelFileRow(string Carrier, string Tracking_Number, bool Voided, DateTime? Voided_At, byte[]? File, bool Visible);

    private sealed record PrintJobRow(
        string Id,
        string Shipment_Id,
        string Station_Id,
        string Format,
        string Status,
        DateTime Created_At,
        DateTime? Acknowledged_At,
        string Label_Id,
        string Carrier,
        string Service,
        string Tracking_Number,
        string? Carrier_Label_Id,
        bool Voided);
}

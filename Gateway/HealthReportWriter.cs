using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Stateset.Gateway;

/// <summary>Writes a health report as JSON, one entry per dependency, so an operator sees which one is down.</summary>
internal static class HealthReportWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        // An unready gateway is a wait, not an error: say when to look again, as the API's own 503s do.
        if (report.Status == HealthStatus.Unhealthy)
        {
            context.Response.Headers.RetryAfter = Validation.UnavailableAnswer.RetryAfterSeconds;
        }

        return context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
        });
    }
}

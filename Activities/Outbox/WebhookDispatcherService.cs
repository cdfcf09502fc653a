using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Stateset.Activities.Outbox;

/// <summary>Runs <see cref="WebhookDispatcher"/> passes until shutdown, pausing when nothing was due.</summary>
public sealed partial class WebhookDispatcherService(
    IServiceScopeFactory scopes, IOptions<WebhookDispatcherOptions> options, TimeProvider time, ILogger<WebhookDispatcherService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var dispatched = 0;
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                dispatched = await scope.ServiceProvider.GetRequiredService<WebhookDispatcher>().DispatchDueAsync(stoppingToken);
            }
            catch (NpgsqlException e)
            {
                // The database being briefly unreachable must not end the loop; the deliveries stay queued.
                LogPassFailed(e);
            }

            if (dispatched == 0)
            {
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
        }
    }

    [LoggerMessage(LogLevel.Warning, "A webhook dispatch pass failed; retrying after the poll interval")]
    private partial void LogPassFailed(Exception exception);
}

using Microsoft.Extensions.Logging;
using Temporalio.Activities;
using Temporalio.Exceptions;

namespace Stateset.Telemetry.Tests;

public sealed class TracedActivities
{
    [Activity]
    public string Charge(string orderId)
    {
        ActivityExecutionContext.Current.Logger.LogInformation("Charging {Order}", orderId);
        return $"charged {orderId}";
    }

    [Activity]
    public void Decline() => throw new ApplicationFailureException("card declined", errorType: "PaymentDeclined", nonRetryable: true);
}

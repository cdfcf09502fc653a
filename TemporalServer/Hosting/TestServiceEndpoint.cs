using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Stateset.TemporalServer.Engine;
using Temporalio.Api.TestService.V1;

namespace Stateset.TemporalServer.Hosting;

/// <summary>
/// Temporal's <c>TestService</c>, served by a time-skipping server only (as by Temporal's own test server), so the SDK's
/// <c>WorkflowEnvironment.StartTimeSkippingAsync</c> can drive the clock. Bound by name like <see cref="WorkflowServiceEndpoint"/>.
/// </summary>
internal sealed class TestServiceEndpoint(TemporalEngine engine)
{
    public Task<LockTimeSkippingResponse> LockTimeSkipping(LockTimeSkippingRequest request, ServerCallContext context)
    {
        engine.LockTimeSkipping();
        return Task.FromResult(new LockTimeSkippingResponse());
    }

    public Task<UnlockTimeSkippingResponse> UnlockTimeSkipping(UnlockTimeSkippingRequest request, ServerCallContext context)
    {
        engine.UnlockTimeSkipping();
        return Task.FromResult(new UnlockTimeSkippingResponse());
    }

    public async Task<SleepResponse> Sleep(SleepRequest request, ServerCallContext context)
    {
        await engine.SleepAsync(ToTimeSpan(request.Duration), context.CancellationToken);
        return new SleepResponse();
    }

    public async Task<SleepResponse> SleepUntil(SleepUntilRequest request, ServerCallContext context)
    {
        await engine.SleepUntilAsync(request.Timestamp?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch, context.CancellationToken);
        return new SleepResponse();
    }

    public async Task<SleepResponse> UnlockTimeSkippingWithSleep(SleepRequest request, ServerCallContext context)
    {
        await engine.UnlockTimeSkippingWithSleepAsync(ToTimeSpan(request.Duration), context.CancellationToken);
        return new SleepResponse();
    }

    public Task<GetCurrentTimeResponse> GetCurrentTime(Empty request, ServerCallContext context) =>
        Task.FromResult(new GetCurrentTimeResponse { Time = Timestamp.FromDateTimeOffset(engine.Now) });

    private static TimeSpan ToTimeSpan(Duration? duration)
    {
        var value = duration?.ToTimeSpan() ?? TimeSpan.Zero;
        return value < TimeSpan.Zero ? throw Errors.InvalidArgument("Duration must not be negative.") : value;
    }
}

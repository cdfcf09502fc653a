using Stateset.Workflows.Activities;
using Stateset.Workflows.Common;

namespace Stateset.Workflows.Tests;

/// <summary>
/// <see cref="Calls.Extract"/> must hand the SDK what its own lambda overloads would: the method called and the
/// arguments' values at the call, however the argument is written.
/// </summary>
public sealed class CallsTests
{
    private readonly UpdateReturnStatusInput _field = new("r-field", "approved", DateTimeOffset.UnixEpoch);

    private UpdateReturnStatusInput Property => _field with { ReturnId = "r-property" };

    [Fact]
    public void Extract_ACapturedLocal_IsItsValueAtTheCall()
    {
        var input = new UpdateReturnStatusInput("r-1", "approved", DateTimeOffset.UnixEpoch);

        var (method, args) = Calls.Extract((IReturnActivities a) => a.UpdateReturnStatusAsync(input));

        Assert.Equal(nameof(IReturnActivities.UpdateReturnStatusAsync), method.Name);
        Assert.Same(input, Assert.Single(args));
    }

    [Fact]
    public void Extract_FieldsPropertiesConstantsAndExpressions_AreEvaluated()
    {
        var when = DateTimeOffset.UnixEpoch;

        Assert.Same(_field, Assert.Single(Calls.Extract((IReturnActivities a) => a.UpdateReturnStatusAsync(_field)).Args));
        Assert.Equal("r-property", ((UpdateReturnStatusInput)Assert.Single(Calls.Extract((IReturnActivities a) => a.UpdateReturnStatusAsync(Property)).Args)!).ReturnId);
        Assert.Equal("r-9", Assert.Single(Calls.Extract((IPaymentActivities a) => a.RecordRefundLedgerEntryAsync("r-9")).Args));
        var built = (UpdateReturnStatusInput)Assert.Single(Calls.Extract((IReturnActivities a) => a.UpdateReturnStatusAsync(new UpdateReturnStatusInput("r-" + 2, "closed", when.AddDays(1), null))).Args)!;
        Assert.Equal(new UpdateReturnStatusInput("r-2", "closed", when.AddDays(1)), built);
    }

    [Fact]
    public void Extract_AnythingButACallOnTheParameter_IsRefused()
    {
        var other = new ScriptedWorld(null!);

        Assert.Throws<ArgumentException>(() => Calls.Extract((IPaymentActivities a) => other.RecordRefundLedgerEntryAsync("r-1")));
    }
}

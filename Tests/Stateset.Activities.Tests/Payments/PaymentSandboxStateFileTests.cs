using System.Text.Json;
using Microsoft.Extensions.Options;
using Stateset.Activities.Payments;
using Stateset.Sandboxes.PaymentProvider;

namespace Stateset.Activities.Tests.Payments;

/// <summary>
/// The payment sandbox's state file, which the one-command stack keeps so a restarted provider still knows what it
/// authorised: each change appends only what it touched, and a new sandbox on the same file knows everything.
/// </summary>
public sealed class PaymentSandboxStateFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("psp-state-").FullName;

    private string StateFile => Path.Combine(_directory, "payment-sandbox.json");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void EveryChange_AppendsOnlyWhatItTouched_AndARestartedSandboxKnowsItAll()
    {
        var (sandbox, settlements) = Start();
        var ids = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            var before = File.ReadAllText(StateFile);
            var created = sandbox.CreatePaymentIntent($"key-{i}", Request(i));
            ids.Add(((PspPaymentIntent)created.Body).Id);

            // The file is appended to, never rewritten, and the new line holds this order's intent and no other.
            var after = File.ReadAllText(StateFile);
            Assert.StartsWith(before, after, StringComparison.Ordinal);
            var appended = after[before.Length..];
            Assert.Contains(ids[^1], appended, StringComparison.Ordinal);
            Assert.All(ids.SkipLast(1), earlier => Assert.DoesNotContain(earlier, appended, StringComparison.Ordinal));
        }

        while (settlements.Reader.TryRead(out var settlement))
        {
            Assert.NotNull(sandbox.Settle(settlement));
        }

        Assert.Equal(200, sandbox.Capture("capture-0", ids[0], new PspCapture(null)).StatusCode);

        var (restarted, _) = Start();
        Assert.Equal("succeeded", restarted.FindIntent(ids[0])!.Status);
        Assert.All(ids.Skip(1), id => Assert.Equal("requires_capture", restarted.FindIntent(id)!.Status));

        // The idempotency records came back too: a retried create answers the same intent and creates none.
        // (A replayed answer is the stored JSON, as the provider sends it again.)
        var retried = restarted.CreatePaymentIntent("key-7", Request(7));
        Assert.Equal(ids[7], ((JsonElement)retried.Body).GetProperty("id").GetString());
        Assert.Equal(0, restarted.EffectiveRequests);

        // Read at start, the file is compacted to one line.
        Assert.Single(File.ReadAllLines(StateFile), line => line.Length > 0);
    }

    [Fact]
    public void ALastLineCutShort_IsDropped_AndEveryEarlierChangeKept()
    {
        var (sandbox, _) = Start();
        var kept = ((PspPaymentIntent)sandbox.CreatePaymentIntent("key-a", Request(1)).Body).Id;
        var cut = ((PspPaymentIntent)sandbox.CreatePaymentIntent("key-b", Request(2)).Body).Id;

        // The process died while appending its last change: the line ends halfway.
        var text = File.ReadAllText(StateFile).TrimEnd('\n');
        File.WriteAllText(StateFile, text[..(text.Length - 40)]);

        var (restarted, _) = Start();
        Assert.Equal("processing", restarted.FindIntent(kept)!.Status);
        Assert.Null(restarted.FindIntent(cut));
    }

    [Fact]
    public void AFileWrittenWholeByTheEarlierVersion_IsReadAsAJournalOfOneLine()
    {
        var intent = new PspPaymentIntent("pi_earlier", 1000, 1000, 0, 0, "usd", "requires_capture", SandboxTestCards.Approved, new Dictionary<string, string>(), null, 1);
        File.WriteAllText(StateFile, JsonSerializer.Serialize(new { intents = new Dictionary<string, PspPaymentIntent> { ["pi_earlier"] = intent }, refunds = new { }, idempotency = new { } }, PspWire.Json));

        var (restarted, _) = Start();

        Assert.Equal(200, restarted.Capture("capture", "pi_earlier", new PspCapture(null)).StatusCode);
    }

    [Fact]
    public void ALineInTheMiddleThatIsNotState_StopsTheStart_RatherThanLosingWhatFollows()
    {
        var (sandbox, _) = Start();
        sandbox.CreatePaymentIntent("key-a", Request(1));
        File.WriteAllText(StateFile, "{ not json\n" + File.ReadAllText(StateFile));

        var error = Assert.Throws<InvalidDataException>(() => Start());
        Assert.Contains("line 1", error.Message, StringComparison.Ordinal);
    }

    private static PspCreatePaymentIntent Request(int i) =>
        new(1000 + i, "USD", SandboxTestCards.Approved, "manual", new Dictionary<string, string> { ["order_id"] = $"o-{i}" });

    private (PaymentProviderSandbox Sandbox, SandboxSettlementQueue Settlements) Start()
    {
        var settlements = new SandboxSettlementQueue();
        var options = Options.Create(new PaymentProviderSandboxOptions { StateFile = StateFile, SettleDelay = TimeSpan.Zero });
        return (new PaymentProviderSandbox(options, TimeProvider.System, settlements), settlements);
    }
}

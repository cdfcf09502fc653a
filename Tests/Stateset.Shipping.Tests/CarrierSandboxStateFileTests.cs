using Microsoft.Extensions.Options;
using Stateset.Sandboxes.Carriers;

namespace Stateset.Shipping.Tests;

/// <summary>
/// The carrier sandbox's state file, which the one-command stack keeps so a parcel labelled before a restart can be
/// scanned after it: each sale or change appends only that label, and a new sandbox on the same file knows them all.
/// </summary>
public sealed class CarrierSandboxStateFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("carrier-state-").FullName;

    private string StateFile => Path.Combine(_directory, "carrier-sandbox.json");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void EverySaleAndChange_AppendsOnlyItsLabel_AndARestartedSandboxKnowsLabelsAndKeys()
    {
        var state = Start();
        var labels = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var before = File.ReadAllText(StateFile);
            var (label, _, _) = state.GetOrBuy("ups", $"key-{i}", $"fingerprint-{i}", () => Label($"lbl-{i:00}"));
            labels.Add(label.LabelId);

            var after = File.ReadAllText(StateFile);
            Assert.StartsWith(before, after, StringComparison.Ordinal);
            Assert.All(labels.SkipLast(1), earlier => Assert.DoesNotContain(earlier, after[before.Length..], StringComparison.Ordinal));
        }

        state.Update("lbl-03", label => label with { Status = "voided", VoidedAt = DateTimeOffset.UnixEpoch });

        var restarted = Start();
        Assert.Equal("voided", restarted.Label("lbl-03")!.Status);
        Assert.All(labels.Where(id => id != "lbl-03"), id => Assert.Equal("purchased", restarted.Label(id)!.Status));

        // The idempotency keys came back too: the same key buys nothing new.
        var (replayed, wasReplayed, conflict) = restarted.GetOrBuy("ups", "key-5", "fingerprint-5", () => throw new InvalidOperationException("bought twice"));
        Assert.Equal("lbl-05", replayed.LabelId);
        Assert.True(wasReplayed);
        Assert.False(conflict);
    }

    private static LabelDto Label(string id) => new(id, "ups", "ground", $"1Z{id}", 9.5m, "USD", "purchased", DateTimeOffset.UnixEpoch, null);

    private CarrierSandboxState Start() => new(Options.Create(new CarrierSandboxOptions { StateFile = StateFile }));
}

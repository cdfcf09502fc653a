using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Stateset.Sandboxes.Carriers;

/// <summary>
/// The sandbox carriers' memory: labels sold (by id and by idempotency key), injected faults and call counts. Labels
/// and their keys are also kept in <see cref="CarrierSandboxOptions.StateFile"/> when one is set, one appended line per
/// change; everything else is forgotten by a restart.
/// </summary>
public sealed class CarrierSandboxState
{
    private readonly ConcurrentDictionary<string, CarrierFaults> _faults = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _failNext = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Lazy<Purchase>> _byIdempotencyKey = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LabelDto> _labels = new(StringComparer.Ordinal);
    private readonly Lock _saving = new();
    private readonly string? _stateFile;

    /// <summary>Initializes a new instance of the <see cref="CarrierSandboxState"/> class, with what its state file holds.</summary>
    public CarrierSandboxState(IOptions<CarrierSandboxOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (carrier, faults) in options.Value.Faults)
        {
            _faults[carrier] = faults;
        }

        _stateFile = options.Value.StateFile;
        if (_stateFile is not null)
        {
            foreach (var saved in SandboxStateFile.Load<SavedState>(_stateFile, CarrierSandboxApi.Json, "carrier sandbox"))
            {
                foreach (var label in saved.Labels)
                {
                    _labels[label.LabelId] = label;
                }

                foreach (var (key, purchase) in saved.Purchases)
                {
                    var kept = purchase;
                    _byIdempotencyKey[key] = new Lazy<Purchase>(() => kept);
                }
            }

            var purchases = _byIdempotencyKey.ToDictionary(p => p.Key, p => p.Value.Value, StringComparer.Ordinal);
            SandboxStateFile.Compact(_stateFile, new SavedState([.. _labels.Values], purchases), CarrierSandboxApi.Json);
        }
    }

    /// <summary>Clears injected faults, pending failures and call counts; labels sold stay sold.</summary>
    public void Reset()
    {
        _faults.Clear();
        _failNext.Clear();
        _calls.Clear();
    }

    /// <summary>Gets the faults injected into a carrier.</summary>
    public CarrierFaults FaultsOf(string carrier) => _faults.GetValueOrDefault(carrier) ?? new CarrierFaults();

    /// <summary>Replaces the faults injected into a carrier.</summary>
    public void SetFaults(string carrier, CarrierFaults faults) => _faults[carrier] = faults;

    /// <summary>Makes the carrier's next <paramref name="calls"/> API calls answer 503, as a brief outage would.</summary>
    public void FailNextCalls(string carrier, int calls) => _failNext[carrier] = calls;

    /// <summary>Uses up one of the calls set by <see cref="FailNextCalls"/>; true when this call must fail.</summary>
    public bool TakeInjectedFailure(string carrier)
    {
        while (_failNext.TryGetValue(carrier, out var left) && left > 0)
        {
            if (_failNext.TryUpdate(carrier, left - 1, left))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Gets how many API calls (including refused ones) a carrier received.</summary>
    public int CallsTo(string carrier) => _calls.GetValueOrDefault(carrier);

    /// <summary>Counts one API call.</summary>
    public void CountCall(string carrier) => _calls.AddOrUpdate(carrier, 1, (_, count) => count + 1);

    /// <summary>
    /// Returns the label bought with <paramref name="idempotencyKey"/>, buying it with <paramref name="buy"/> the first
    /// time; concurrent requests with the same key get the same label. <paramref name="fingerprint"/> describes the
    /// request so a key reused for a different purchase can be refused.
    /// </summary>
    public (LabelDto Label, bool Replayed, bool Conflict) GetOrBuy(string carrier, string idempotencyKey, string fingerprint, Func<LabelDto> buy)
    {
        var created = false;
        var key = $"{carrier}\n{idempotencyKey}";
        var purchase = _byIdempotencyKey.GetOrAdd(
            key,
            _ => new Lazy<Purchase>(
                () =>
                {
                    created = true;
                    var label = buy();
                    _labels[label.LabelId] = label;
                    return new Purchase(label.LabelId, fingerprint);
                },
                LazyThreadSafetyMode.ExecutionAndPublication)).Value;
        if (created)
        {
            Save(purchase.LabelId, key, purchase);
        }

        return (_labels[purchase.LabelId], Replayed: !created, Conflict: purchase.Fingerprint != fingerprint);
    }

    /// <summary>Gets a label by id.</summary>
    public LabelDto? Label(string labelId) => _labels.GetValueOrDefault(labelId);

    /// <summary>Replaces a label (void, tracking status).</summary>
    public LabelDto Update(string labelId, Func<LabelDto, LabelDto> change)
    {
        var updated = _labels.AddOrUpdate(labelId, _ => throw new KeyNotFoundException(labelId), (_, label) => change(label));
        Save(labelId);
        return updated;
    }

    /// <summary>
    /// Appends the label (and the purchase that bought it) to the state file: one line per change, not the whole state
    /// again. The label is read under the lock, so whichever of two concurrent changes appends last writes the newer label.
    /// </summary>
    private void Save(string labelId, string? purchaseKey = null, Purchase? purchase = null)
    {
        if (_stateFile is null)
        {
            return;
        }

        lock (_saving)
        {
            var purchases = new Dictionary<string, Purchase>(StringComparer.Ordinal);
            if (purchaseKey is not null && purchase is not null)
            {
                purchases[purchaseKey] = purchase;
            }

            SandboxStateFile.Append(_stateFile, new SavedState([_labels[labelId]], purchases), CarrierSandboxApi.Json);
        }
    }

    private sealed record Purchase(string LabelId, string Fingerprint);

    private sealed record SavedState(List<LabelDto> Labels, Dictionary<string, Purchase> Purchases);
}

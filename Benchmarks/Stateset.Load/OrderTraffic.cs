using System.Collections.Concurrent;
using System.Diagnostics;

namespace Stateset.Load;

/// <summary>How a batch of orders went: each one's start-to-close time, and the span from the first start to the last close.</summary>
internal sealed record BatchResult(IReadOnlyList<string> OrderIds, IReadOnlyList<double> SecondsToClose, TimeSpan Elapsed)
{
    public double PerSecond => SecondsToClose.Count / Elapsed.TotalSeconds;

    public double Percentile(double p)
    {
        var sorted = SecondsToClose.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, p * sorted.Count)];
    }
}

/// <summary>
/// Drives full orders through the gateway as every outside party would: the client places the order, the payment
/// sandbox settles it by webhook on its own, the print stations wait on their job lists, print and acknowledge, and
/// the carrier reports the parcel in transit and delivered through its sandbox; each order is done when its read
/// model says it closed. An order that ends any other way than delivered stops the run with what it shows.
/// </summary>
internal sealed class OrderTraffic : IAsyncDisposable
{
    // Long enough for the last of 1,000 orders started at once on a slow machine; an order that ends early is caught
    // at once (see FulfilAsync), so only one stuck for good waits this out.
    private static readonly TimeSpan OrderTimeout = TimeSpan.FromMinutes(20);
    private readonly GatewayCalls _calls;
    private readonly string _clientKey;
    private readonly Dictionary<string, string> _stationKeys;
    private readonly string _orderPrefix;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StationJob>> _awaitingPrint = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _stations = [];
    private Exception? _failure;
    private int _sequence;
    private int _started;
    private int _printed;
    private int _closed;
    private int _earlyAcknowledgements;
    private int _failedAcknowledgements;

    private OrderTraffic(GatewayCalls calls, string clientKey, Dictionary<string, string> stationKeys, string orderPrefix)
    {
        _calls = calls;
        _clientKey = clientKey;
        _stationKeys = stationKeys;
        _orderPrefix = orderPrefix;
    }

    /// <summary>Gets the prefix of every order id this run places.</summary>
    public string OrderPrefix => _orderPrefix;

    /// <summary>Gets the gateway calls, for the memory mode's operator decisions.</summary>
    public GatewayCalls Calls => _calls;

    /// <summary>Gets the client key.</summary>
    public string ClientKey => _clientKey;

    /// <summary>Makes the keys (a client, one per print station) and starts the stations' wait loops.</summary>
    public static async Task<OrderTraffic> StartAsync(GatewayCalls calls, string adminKey, CancellationToken ct)
    {
        var client = await calls.CreateKeyAsync(adminKey, "load client", ["client"], null, ct);
        var stations = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var station in Customer.Seed.Select(c => c.StationId).Distinct())
        {
            stations[station] = await calls.CreateKeyAsync(adminKey, $"load station {station}", ["station"], station, ct);
        }

        var traffic = new OrderTraffic(calls, client, stations, $"ld{Guid.NewGuid().ToString("N")[..6]}-");
        foreach (var (station, key) in stations)
        {
            traffic._stations.Add(Task.Run(() => traffic.PlayStationAsync(station, key)));
        }

        return traffic;
    }

    /// <summary>Gets how many acknowledgements the gateway refused (409) because the label run did not wait for them yet.</summary>
    public int EarlyAcknowledgements => Volatile.Read(ref _earlyAcknowledgements);

    /// <summary>Gets how many acknowledgements the gateway failed with 5xx (the station tried again).</summary>
    public int FailedAcknowledgements => Volatile.Read(ref _failedAcknowledgements);

    /// <summary>Gets the counts a progress line shows: started, printed, closed.</summary>
    public (int Started, int Printed, int Closed) Progress => (Volatile.Read(ref _started), Volatile.Read(ref _printed), Volatile.Read(ref _closed));

    /// <summary>
    /// Runs <paramref name="count"/> orders to delivered: <paramref name="concurrency"/> at a time, or, with a
    /// <paramref name="rate"/>, started at that many per second however many are in flight.
    /// </summary>
    public async Task<BatchResult> RunAsync(int count, int concurrency, double? rate, CancellationToken ct)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct, _stop.Token);
        var ids = new ConcurrentBag<string>();
        var latencies = new ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        var next = 0;
        async Task OneAsync()
        {
            var sequence = Interlocked.Increment(ref _sequence);
            var id = $"{_orderPrefix}{sequence:D6}";

            // The customers take turns, so every run (and every build compared) gets the same mix.
            var customer = Customer.Seed[sequence % Customer.Seed.Length];
            var started = Stopwatch.GetTimestamp();
            try
            {
                await FulfilWithinTimeoutAsync(id, customer, failed.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException || !failed.IsCancellationRequested)
            {
                Fail(e is LoadException ? e : new LoadException($"Order {id}: {e.GetType().Name}: {e.Message}", e));
                throw;
            }

            latencies.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
            ids.Add(id);
            Interlocked.Increment(ref _closed);
        }

        var tasks = new List<Task>();
        try
        {
            if (rate is { } perSecond)
            {
                for (var i = 0; i < count && !failed.IsCancellationRequested; i++)
                {
                    var due = TimeSpan.FromSeconds(i / perSecond) - clock.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, failed.Token);
                    }

                    tasks.Add(OneAsync());
                }
            }
            else
            {
                tasks.AddRange(Enumerable.Range(0, Math.Min(concurrency, count)).Select(_ => Task.Run(async () =>
                {
                    while (Interlocked.Increment(ref next) <= count && !failed.IsCancellationRequested)
                    {
                        await OneAsync();
                    }
                })));
            }

            await Task.WhenAll(tasks);
        }
        catch when (_failure is not null)
        {
            throw _failure;
        }

        return new BatchResult([.. ids], [.. latencies], clock.Elapsed);
    }

    /// <summary>Places orders that will wait for an operator (fifteen units: over the very-high-amount rule), <paramref name="concurrency"/> at a time.</summary>
    public async Task<IReadOnlyList<string>> PlaceAwaitingApprovalAsync(int count, int concurrency, CancellationToken ct)
    {
        var ids = Enumerable.Range(0, count).Select(_ => $"{_orderPrefix}{Interlocked.Increment(ref _sequence):D6}").ToList();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (id, token) =>
        {
            await _calls.PlaceOrderAsync(_clientKey, Customer.Seed[0], id, quantity: 15, token);
            Interlocked.Increment(ref _started);
        });
        return ids;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_stations);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private void Fail(Exception e)
    {
        if (Interlocked.CompareExchange(ref _failure, e, null) is null)
        {
            _stop.Cancel();
        }
    }

    private async Task FulfilAsync(string orderId, Customer customer, CancellationToken ct)
    {
        var shipmentId = $"{orderId}-1";
        var printed = new TaskCompletionSource<StationJob>(TaskCreationOptions.RunContinuationsAsynchronously);
        _awaitingPrint[shipmentId] = printed;
        await _calls.PlaceOrderAsync(_clientKey, customer, orderId, quantity: 1, ct);
        Interlocked.Increment(ref _started);

        // The station prints it when the order gets there; meanwhile look in now and then, so an order that ended
        // early (declined, failed) stops the run instead of leaving it waiting.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(OrderTimeout);
        StationJob job;
        while (true)
        {
            var check = Task.Delay(TimeSpan.FromSeconds(30), timeout.Token);
            if (await Task.WhenAny(printed.Task, check) == printed.Task)
            {
                job = await printed.Task;
                break;
            }

            await check; // Throws once the order has taken too long, or the run stops.
            if (await _calls.GetOrderAsync(_clientKey, orderId, null, ct) is { Live: false } ended)
            {
                throw new LoadException($"Order {orderId} ended {ended.Status} before its label printed: {ended.Failure ?? "(no reason given)"}");
            }
        }

        Interlocked.Increment(ref _printed);
        if (job.CarrierLabelId is null)
        {
            throw new LoadException($"The print job {job.Id} of order {orderId} names no carrier label id.");
        }

        await _calls.CarrierEventAsync(job.Carrier, job.CarrierLabelId, "in_transit", ct);
        await _calls.CarrierEventAsync(job.Carrier, job.CarrierLabelId, "delivered", ct);
        await AwaitCloseAsync(orderId, timeout.Token);
    }

    private async Task FulfilWithinTimeoutAsync(string orderId, Customer customer, CancellationToken ct)
    {
        try
        {
            await FulfilAsync(orderId, customer, ct);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            var view = await _calls.GetOrderAsync(_clientKey, orderId, null, CancellationToken.None);
            throw new LoadException($"Order {orderId} did not close within {OrderTimeout.TotalMinutes:0} minutes; it is {view?.Status} ({view?.Stage}).");
        }
    }

    // Read with If-None-Match, first soon and then less often: a tenth of the time waited so far (50 ms to 5 s), so the
    // close is seen within about 10 % of the wait, and a thousand orders waiting together do not flood the read side
    // with the load generator's own reads.
    private async Task AwaitCloseAsync(string orderId, CancellationToken ct)
    {
        string? etag = null;
        var waiting = Stopwatch.StartNew();
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(waiting.Elapsed.TotalMilliseconds / 10, 50, 5000)), ct);
            if (await _calls.GetOrderAsync(_clientKey, orderId, etag, ct) is { } view)
            {
                if (!view.Live)
                {
                    if (view.Status != "completed" || !view.Delivered)
                    {
                        throw new LoadException($"Order {orderId} closed {view.Status} ({view.Stage}) instead of delivered: {view.Failure ?? "(no reason given)"}");
                    }

                    return;
                }

                etag = view.ETag;
            }
        }
    }

    /// <summary>
    /// One print station: waits on its queued jobs, fetches each new job's label as its printer would, acknowledges
    /// it and hands the job to its order's carrier. An acknowledged job stays queued until its label run records the
    /// acknowledgement, so a list holding only jobs already handled is asked again after a short pause.
    /// </summary>
    private async Task PlayStationAsync(string stationId, string key)
    {
        var format = Customer.Seed.First(c => c.StationId == stationId).Format;
        var handled = new HashSet<string>(StringComparer.Ordinal);
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            IReadOnlyList<StationJob> jobs;
            try
            {
                jobs = await _calls.WaitForJobsAsync(key, stationId, 20, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Fail(new LoadException($"Print station {stationId}: {e.Message}", e));
                return;
            }

            var fresh = jobs.Where(job => handled.Add(job.Id)).ToList();
            foreach (var job in fresh)
            {
                _ = Task.Run(() => PrintAsync(stationId, key, format, job), CancellationToken.None);
            }

            if (fresh.Count == 0 && jobs.Count > 0)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            if (handled.Count > 10_000)
            {
                handled.IntersectWith(jobs.Select(j => j.Id));
            }
        }
    }

    private async Task PrintAsync(string stationId, string key, string format, StationJob job)
    {
        try
        {
            await _calls.FetchLabelAsync(key, job.ShipmentId, format, _stop.Token);

            // A station told it is too early (409) or that the gateway failed (5xx) tries again, as a station agent would.
            var pause = TimeSpan.FromMilliseconds(50);
            var trying = System.Diagnostics.Stopwatch.StartNew();
            AckOutcome outcome;
            while ((outcome = await _calls.TryAcknowledgeAsync(key, job.Id, stationId, _stop.Token)) != AckOutcome.Accepted)
            {
                Interlocked.Increment(ref outcome == AckOutcome.NotWaiting ? ref _earlyAcknowledgements : ref _failedAcknowledgements);
                // The gateway asks the label run (a workflow query) before it signals: with a thousand runs open
                // the query can time out for minutes, so a station keeps trying as long as that lasts.
                if (trying.Elapsed > (outcome == AckOutcome.NotWaiting ? TimeSpan.FromSeconds(30) : TimeSpan.FromMinutes(5)))
                {
                    throw new LoadException(outcome == AckOutcome.NotWaiting
                        ? $"The label run of job {job.Id} did not wait for its acknowledgement within 30 s."
                        : $"The gateway failed every acknowledgement of job {job.Id} for 5 minutes (5xx; see the gateway's log).");
                }

                await Task.Delay(pause, _stop.Token);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 1000));
            }

            if (_awaitingPrint.TryRemove(job.ShipmentId, out var order))
            {
                order.TrySetResult(job);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Fail(new LoadException($"Print station {stationId}, job {job.Id}: {e.Message}", e));
        }
    }
}

using System.Diagnostics.Metrics;
using Temporalio.Runtime;

namespace Stateset.ServiceDefaults.Temporal;

/// <summary>
/// Hands the Temporal SDK's own metrics (poll and task latencies, slots, sticky cache, workflow and activity
/// counts, client RPCs) to a <see cref="Meter"/>, so they reach the same Prometheus endpoint and OTLP exporter as
/// everything else instead of a second endpoint of the SDK's own.
/// </summary>
public sealed class TemporalMetricsBridge(Meter meter) : ICustomMetricMeter
{
    /// <summary>
    /// Gets a runtime whose metrics go to the <c>Temporalio</c> meter, durations in seconds. One per process: a runtime
    /// owns threads and connections' metrics, and every client built on it shares them.
    /// </summary>
    public static TemporalRuntime Runtime { get; } = new(new TemporalRuntimeOptions(new TelemetryOptions
    {
        Metrics = new MetricsOptions
        {
            CustomMetricMeter = new TemporalMetricsBridge(new Meter(Telemetry.TelemetryExtensions.TemporalSdkMeterName)),
            CustomMetricMeterOptions = new CustomMetricMeterOptions { HistogramDurationFormat = CustomMetricMeterOptions.DurationFormat.FloatSeconds },
        },
    }));

    /// <inheritdoc />
    public ICustomMetricCounter<T> CreateCounter<T>(string name, string? unit, string? description)
        where T : struct => new Counter<T>(meter.CreateCounter<T>(name, unit, description));

    /// <inheritdoc />
    public ICustomMetricHistogram<T> CreateHistogram<T>(string name, string? unit, string? description)
        where T : struct => new Histogram<T>(meter.CreateHistogram<T>(name, unit == "duration" ? "s" : unit, description));

    /// <inheritdoc />
    public ICustomMetricGauge<T> CreateGauge<T>(string name, string? unit, string? description)
        where T : struct => new Gauge<T>(meter.CreateGauge<T>(name, unit, description));

    /// <inheritdoc />
    public object CreateTags(object? appendFrom, IReadOnlyCollection<KeyValuePair<string, object>> tags)
    {
        var inherited = appendFrom as KeyValuePair<string, object?>[] ?? [];
        return inherited.Concat(tags.Select(tag => new KeyValuePair<string, object?>(tag.Key, tag.Value))).ToArray();
    }

    private sealed class Counter<T>(System.Diagnostics.Metrics.Counter<T> counter) : ICustomMetricCounter<T>
        where T : struct
    {
        public void Add(T value, object tags) => counter.Add(value, (KeyValuePair<string, object?>[])tags);
    }

    private sealed class Histogram<T>(System.Diagnostics.Metrics.Histogram<T> histogram) : ICustomMetricHistogram<T>
        where T : struct
    {
        public void Record(T value, object tags) => histogram.Record(value, (KeyValuePair<string, object?>[])tags);
    }

    // .NET's synchronous gauge keeps the last value per tag set, which is what the SDK's Set means.
    private sealed class Gauge<T>(System.Diagnostics.Metrics.Gauge<T> gauge) : ICustomMetricGauge<T>
        where T : struct
    {
        public void Set(T value, object tags) => gauge.Record(value, (KeyValuePair<string, object?>[])tags);
    }
}

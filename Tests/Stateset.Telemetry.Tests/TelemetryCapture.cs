using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Stateset.ServiceDefaults.Telemetry;

namespace Stateset.Telemetry.Tests;

/// <summary>Collects what our code publishes while a test runs: ended spans, business measurements and log lines with their scopes.</summary>
public sealed class TelemetryCapture : IDisposable
{
    /// <summary>Stands in for the ambient span of an HTTP request or an operator's action.</summary>
    public static readonly ActivitySource TestSource = new("Stateset.Telemetry.Tests");

    private readonly ActivityListener _spans;
    private readonly MeterListener _meters;
    private readonly LogCollector _logs = new();

    public TelemetryCapture()
    {
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name is StatesetTelemetry.TemporalSourceName or "Stateset.Telemetry.Tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_spans);

        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == StatesetTelemetry.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meters.Start();

        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Information);
            logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
            logging.AddProvider(_logs);
        });
    }

    public ConcurrentQueue<Activity> Spans { get; } = new();

    public ConcurrentQueue<Measurement> Measurements { get; } = new();

    public IReadOnlyCollection<LogLine> Logs => _logs.Lines;

    public ILoggerFactory LoggerFactory { get; }

    public IEnumerable<Activity> SpansOf(ActivityTraceId trace) => Spans.Where(span => span.TraceId == trace);

    public Activity SingleSpan(ActivityTraceId trace, string name) => Assert.Single(SpansOf(trace), span => span.OperationName == name);

    public IEnumerable<Measurement> MeasurementsOf(string instrument, params (string Key, string Value)[] tags) =>
        Measurements.Where(m => m.Instrument == instrument && tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value)));

    public void Dispose()
    {
        _spans.Dispose();
        _meters.Dispose();
        LoggerFactory.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        Measurements.Enqueue(new Measurement(instrument.Name, value, copy));
    }

    public sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

    public sealed record LogLine(string Category, string Message, IReadOnlyDictionary<string, object?> Scope);

    private sealed class LogCollector : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ConcurrentQueue<LogLine> Lines { get; } = new();

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(LogCollector collector, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => collector._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scope = new Dictionary<string, object?>();
                collector._scopes.ForEachScope(
                    (value, into) =>
                    {
                        if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                        {
                            foreach (var pair in pairs)
                            {
                                into[pair.Key] = pair.Value;
                            }
                        }
                    },
                    scope);
                collector.Lines.Enqueue(new LogLine(category, formatter(state, exception), scope));
            }
        }
    }
}

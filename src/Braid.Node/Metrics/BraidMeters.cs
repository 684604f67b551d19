using System.Diagnostics.Metrics;

namespace Braid.Node.Metrics;

/// <summary>
/// The meters of a node, one per component (issue 14, item 1). Their instruments are listed with
/// type, unit and labels in docs/metrics.md; `dotnet-counters monitor -p PID --counters
/// Braid.Raft,Braid.Overlay,Braid.Stream,Braid.Storage` shows them without any endpoint.
/// </summary>
internal static class BraidMeters
{
    public const string Raft = "Braid.Raft";
    public const string Overlay = "Braid.Overlay";
    public const string Stream = "Braid.Stream";
    public const string Storage = "Braid.Storage";

    public static IReadOnlyList<string> All { get; } = [Raft, Overlay, Stream, Storage];

    /// <summary>Bucket bounds of duration histograms, in seconds: 50 µs to 10 s (the exporter's
    /// defaults are meant for milliseconds and would put every fsync in the first bucket).</summary>
    public static IReadOnlyList<double> SecondsBuckets { get; } =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static InstrumentAdvice<double> SecondsAdvice { get; } = new() { HistogramBucketBoundaries = SecondsBuckets };

    public static KeyValuePair<string, object?> Partition(uint partition) => new("partition", (long)partition);
}

/// <summary>
/// The meters one node made. Meter listeners (OpenTelemetry's exporter, dotnet-counters) subscribe
/// by name, process-wide; where several nodes share a process (tests), a node's exporter keeps
/// only the instruments of its own meters.
/// </summary>
internal sealed class NodeMeters
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Meter, bool> made = new();

    public Meter Create(IMeterFactory factory, string name)
    {
        var meter = factory.Create(name);
        made[meter] = true;
        return meter;
    }

    public bool Made(Meter meter) => made.ContainsKey(meter);
}

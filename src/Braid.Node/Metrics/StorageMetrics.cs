using System.Diagnostics.Metrics;

namespace Braid.Node.Metrics;

/// <summary>The "Braid.Storage" meter: fsync latency (measured by the file device) and the
/// per-replica disk state of the partition loop's last sample.</summary>
internal sealed class StorageMetrics
{
    private readonly Histogram<double> fsyncDuration;

    public StorageMetrics(IMeterFactory factory, NodeMeters meters, NodeSamples samples)
    {
        var meter = meters.Create(factory, BraidMeters.Storage);
        fsyncDuration = meter.CreateHistogram("braid.storage.fsync.duration", "s",
            "One file sync (fdatasync) of a log segment, hard state or snapshot; one per group commit of a partition",
            advice: BraidMeters.SecondsAdvice);
        meter.CreateObservableGauge("braid.storage.nospace.alarm",
            () => samples.Partitions.Running.Select(p => new Measurement<long>(p.NoSpace ? 1 : 0, BraidMeters.Partition(p.Partition))),
            "{alarm}", "1 while the replica's NOSPACE alarm is raised (disk full: read-only), else 0");
        meter.CreateObservableGauge("braid.storage.log.size",
            () => samples.Partitions.Running.Select(p => new Measurement<long>(p.LogBytes, BraidMeters.Partition(p.Partition))),
            "By", "Bytes of the replica's log on disk");
    }

    /// <summary>Called by <see cref="Storage.FileDevice"/> after each sync.</summary>
    public void Synced(TimeSpan duration) => fsyncDuration.Record(duration.TotalSeconds);
}

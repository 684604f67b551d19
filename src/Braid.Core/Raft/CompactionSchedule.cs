namespace Braid.Core.Raft;

/// <summary>
/// Size-based retention for one replica (Kafka's <c>retention.bytes</c>, applied per replica as
/// Kafka and etcd do): once the log holds more than <see cref="KeepBytes"/> plus a segment, the
/// oldest whole segments go. A snapshot must hold the state machine's state exactly at the
/// compaction index, which lies behind the applied index, so the schedule keeps checkpoints of
/// the state taken every <see cref="CheckpointEveryEntries"/> applied entries and compacts at the
/// newest one the retention point allows. Checkpoints are small (a partition's state is its dedup
/// table) and bounded by the retained span over the checkpoint interval.
/// </summary>
public sealed class CompactionSchedule
{
    private readonly Queue<(ulong Index, byte[] State)> checkpoints = new();
    private ulong lastCheckpoint;

    /// <param name="keepBytes">Log bytes always kept; 0 keeps everything (no compaction).</param>
    /// <param name="checkpointEveryEntries">Applied entries between checkpoints of the state.</param>
    public CompactionSchedule(long keepBytes, ulong checkpointEveryEntries)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepBytes);
        ArgumentOutOfRangeException.ThrowIfZero(checkpointEveryEntries);
        KeepBytes = keepBytes;
        CheckpointEveryEntries = checkpointEveryEntries;
    }

    public long KeepBytes { get; }
    public ulong CheckpointEveryEntries { get; }
    public bool Enabled => KeepBytes > 0;
    public int CheckpointCount => checkpoints.Count;

    /// <summary>Call after applying up to <paramref name="appliedIndex"/>; takes a checkpoint when one is due.</summary>
    public void OnApplied(ulong appliedIndex, Func<byte[]> captureState)
    {
        if (!Enabled || appliedIndex < lastCheckpoint + CheckpointEveryEntries) return;
        checkpoints.Enqueue((appliedIndex, captureState()));
        lastCheckpoint = appliedIndex;
    }

    /// <summary>The state machine was replaced by a snapshot at <paramref name="index"/>: older checkpoints are moot.</summary>
    public void OnRestored(ulong index)
    {
        checkpoints.Clear();
        lastCheckpoint = index;
    }

    /// <summary>Compacts <paramref name="raft"/> at the newest checkpoint retention allows, if any;
    /// returns the snapshot index reached (0 when nothing was done).</summary>
    public ulong MaybeCompact(RaftNode raft)
    {
        if (!Enabled || checkpoints.Count == 0) return 0;
        var point = raft.RetentionPoint(KeepBytes);
        (ulong Index, byte[] State)? chosen = null;
        while (checkpoints.Count > 0 && checkpoints.Peek().Index <= point) chosen = checkpoints.Dequeue();
        if (chosen is not { } c || c.Index <= raft.SnapshotIndex) return 0;
        raft.Compact(c.Index, c.State);
        return c.Index;
    }
}

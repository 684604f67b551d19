namespace Braid.Core.Raft;

/// <summary>
/// Size-based retention for one replica (Kafka's <c>retention.bytes</c>, applied per replica as
/// Kafka and etcd do): once the log holds more than <see cref="KeepBytes"/> plus a segment, the
/// oldest whole segments go. A snapshot must hold the state machine's state exactly at the
/// compaction index, which lies behind the applied index, so the schedule keeps checkpoints of
/// the state taken every <see cref="CheckpointEveryBytes"/> of applied entries (a quarter segment
/// is a good choice) and compacts at the newest one the retention point allows. Checkpoints are
/// small (a partition's state is its dedup table) and their number is bounded by the retained
/// log over the checkpoint interval.
/// </summary>
public sealed class CompactionSchedule
{
    private readonly Queue<(ulong Index, byte[] State, long Tick)> checkpoints = new();
    private long bytesSinceCheckpoint;
    private long ticks;

    /// <param name="keepBytes">Log bytes always kept; 0: no retention by size.</param>
    /// <param name="checkpointEveryBytes">Applied entry bytes between checkpoints of the state.</param>
    /// <param name="keepTicks">Retention by time (Kafka's <c>retention.ms</c>, issue 13): entries
    /// applied here at least this many ticks ago may go; 0: no retention by time. The core has no
    /// clock, so age is counted in this replica's ticks since it applied them: a restarted replica
    /// starts counting again (it keeps records longer, never shorter).</param>
    public CompactionSchedule(long keepBytes, long checkpointEveryBytes, long keepTicks = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(checkpointEveryBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(keepTicks);
        KeepBytes = keepBytes;
        CheckpointEveryBytes = checkpointEveryBytes;
        KeepTicks = keepTicks;
    }

    public long KeepBytes { get; }
    public long CheckpointEveryBytes { get; }
    public long KeepTicks { get; }
    public bool Enabled => KeepBytes > 0 || KeepTicks > 0;

    /// <summary>One tick of the replica's clock (ages checkpoints for retention by time).</summary>
    public void Tick() => ticks++;
    public int CheckpointCount => checkpoints.Count;

    /// <summary>Compactions skipped because the state exceeded <see cref="Log.SnapshotStore.DataBytesMax"/>.</summary>
    public long SkippedOversized { get; private set; }

    /// <summary>Call after applying the entry at <paramref name="appliedIndex"/> (of
    /// <paramref name="entryBytes"/>); takes a checkpoint when one is due.</summary>
    public void OnApplied(ulong appliedIndex, long entryBytes, Func<byte[]> captureState)
    {
        if (!Enabled) return;
        bytesSinceCheckpoint += entryBytes;
        if (bytesSinceCheckpoint < CheckpointEveryBytes) return;
        checkpoints.Enqueue((appliedIndex, captureState(), ticks));
        bytesSinceCheckpoint = 0;
    }

    /// <summary>The state machine was replaced by a snapshot: earlier checkpoints are moot.</summary>
    public void OnRestored()
    {
        checkpoints.Clear();
        bytesSinceCheckpoint = 0;
    }

    /// <summary>Compacts <paramref name="raft"/> at the newest checkpoint retention allows, if any;
    /// returns the snapshot index reached (0 when nothing was done).</summary>
    public ulong MaybeCompact(RaftNode raft)
    {
        if (!Enabled || checkpoints.Count == 0) return 0;
        // Either limit lets entries go (as in Kafka): behind the size retention point, or old enough.
        var point = KeepBytes > 0 ? raft.RetentionPoint(KeepBytes) : 0;
        (ulong Index, byte[] State, long Tick)? chosen = null;
        while (checkpoints.Count > 0 && (checkpoints.Peek().Index <= point || KeepTicks > 0 && ticks - checkpoints.Peek().Tick >= KeepTicks))
            chosen = checkpoints.Dequeue();
        if (chosen is not { } c || c.Index <= raft.SnapshotIndex) return 0;
        if (c.State.Length > Log.SnapshotStore.DataBytesMax)
        {
            // Too large to keep or to send in one message: keep the log instead (retention
            // stalls; nothing is lost). Reported through the return value's absence and
            // SkippedOversized.
            SkippedOversized++;
            return 0;
        }
        raft.Compact(c.Index, c.State);
        return c.Index;
    }
}

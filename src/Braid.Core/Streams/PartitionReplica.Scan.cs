using Braid.Core.Raft;

namespace Braid.Core.Streams;

/// <summary>
/// Where a query stands in one partition. The query's snapshot holds the records of entries in
/// (start, <see cref="SnapshotIndex"/>]; <see cref="NextIndex"/> is the first entry not fully
/// passed and <see cref="Skip"/> the records of its batch already passed (returned or filtered
/// out). The one "done" rule lives here.
/// </summary>
public readonly record struct ScanPosition(uint Partition, ulong SnapshotIndex, ulong NextIndex, uint Skip = 0)
{
    /// <summary>Every record of the snapshot in this partition has been passed.</summary>
    public bool Done => NextIndex > SnapshotIndex;

    /// <summary>The start of a snapshot fixed at a leader's commit index: its records from its
    /// retention point on (earlier ones are gone on every replica).</summary>
    public static ScanPosition Start(uint partition, ulong commitIndex, ulong retainedAfter) =>
        new(partition, commitIndex, Math.Min(retainedAfter, commitIndex) + 1);

    /// <summary>Well formed: a position a replica can serve or refuse with a reason.</summary>
    public bool IsValid => NextIndex >= 1 && NextIndex <= SnapshotIndex + 1 && (Skip == 0 || NextIndex <= SnapshotIndex);

    /// <summary>The position past every record of the snapshot.</summary>
    public ScanPosition Finished() => this with { NextIndex = SnapshotIndex + 1, Skip = 0 };

    /// <summary>A partition whose snapshot is not fixed yet: a degraded read found no leader to
    /// fix it at; the query fixes it (<see cref="Start"/>) when it is resumed. Not done, and never
    /// sent to a replica.</summary>
    public static ScanPosition Pending(uint partition) => new(partition, 0, 0);

    /// <summary>This is a <see cref="Pending"/> position.</summary>
    public bool IsPending => NextIndex == 0 && SnapshotIndex == 0 && Skip == 0;
}

/// <summary>Reads the records of one stored batch for a scan: its format and filter are the scanner's.</summary>
public interface IBatchScanner
{
    /// <summary>Passes the records of <paramref name="batch"/> from record <paramref name="skip"/>
    /// on, keeping at most <paramref name="matchesMax"/> matches; stops after the record that
    /// reaches the limit.</summary>
    BatchScan Scan(ReadOnlySpan<byte> batch, int skip, int matchesMax);

    /// <summary>Told the log index of the batch that the next <see cref="Scan"/> call reads
    /// (a scanner that reports record positions keeps it).</summary>
    void AtIndex(ulong index)
    {
    }
}

/// <param name="NextRecord">The first record of the batch not passed.</param>
/// <param name="Completed">Every record of the batch was passed.</param>
/// <param name="Matched">Matches kept from this batch.</param>
public readonly record struct BatchScan(int NextRecord, bool Completed, int Matched);

public enum ScanStatus
{
    /// <summary>A page: the scanner holds its matches; <see cref="ScanPage.Next"/> follows it.</summary>
    Page,

    /// <summary>This replica has not applied up to the snapshot yet: ask another or later.</summary>
    Behind,

    /// <summary>Retention removed records the position still needs, here: ask another replica;
    /// when every replica says so, the query cannot go on.</summary>
    Trimmed,
}

/// <param name="Scanned">Records passed (matching or not).</param>
/// <param name="RetainedAfter">This replica's retention point (for Trimmed).</param>
public readonly record struct ScanPage(ScanStatus Status, ScanPosition Next, long Scanned, int Matched, ulong RetainedAfter);

public sealed partial class PartitionReplica
{
    /// <summary>
    /// Scans the stored records of the query snapshot from <paramref name="position"/>, feeding
    /// whole batches to <paramref name="scanner"/>, until <paramref name="matchesMax"/> matches
    /// or <paramref name="scannedMax"/> records passed (a budget, so a long scan never starves
    /// Raft on the loop that owns the log) or the end of the snapshot.
    /// </summary>
    public ScanPage Scan(ScanPosition position, IBatchScanner scanner, int matchesMax, long scannedMax)
    {
        Invariant.Check(position.Partition == Partition && position.IsValid, $"scan of partition {Partition} at a bad position {position}");
        Invariant.Check(matchesMax >= 1 && scannedMax >= 1, $"scan limits {matchesMax} matches, {scannedMax} records");
        if (position.Done) return new ScanPage(ScanStatus.Page, position, 0, 0, State.RetainedAfter);
        if (State.AppliedIndex < position.SnapshotIndex) return new ScanPage(ScanStatus.Behind, position, 0, 0, State.RetainedAfter);
        // A position at or below this replica's retention point would silently miss records of
        // the query's snapshot: say so (a new query starts after the leader's retention point).
        if (position.NextIndex <= State.RetainedAfter) return new ScanPage(ScanStatus.Trimmed, position, 0, 0, State.RetainedAfter);
        var indexes = State.RecordIndexes;
        var at = indexes.BinarySearch(position.NextIndex);
        if (at < 0) at = ~at;
        var next = position;
        long scanned = 0;
        var matched = 0;
        while (true)
        {
            if (at >= indexes.Count || indexes[at] > position.SnapshotIndex)
            {
                next = position.Finished();
                break;
            }
            var index = indexes[at];
            var skip = index == next.NextIndex ? (int)next.Skip : 0;
            var batch = RecordEntry.Decode(RaftNode.DataOf(log.Read(index, index, long.MaxValue)[0])).Payload;
            scanner.AtIndex(index);
            var result = scanner.Scan(batch.Span, skip, matchesMax - matched);
            Invariant.Check(result.NextRecord >= skip && result.Matched >= 0, $"scanner went back in entry {index}: {skip} -> {result.NextRecord}");
            scanned += result.NextRecord - skip;
            matched += result.Matched;
            if (!result.Completed)
            {
                next = position with { NextIndex = index, Skip = (uint)result.NextRecord };
                break;
            }
            at++;
            // Past the last record: every record up to the snapshot is known here (this replica
            // has applied it), so the partition is done, whatever retention does next.
            next = at < indexes.Count && indexes[at] <= position.SnapshotIndex ? position with { NextIndex = indexes[at], Skip = 0 } : position.Finished();
            if (next.Done || matched >= matchesMax || scanned >= scannedMax) break;
        }
        return new ScanPage(ScanStatus.Page, next, scanned, matched, State.RetainedAfter);
    }
}

namespace Braid.Lab;

/// <summary>What the checker found; empty when the history keeps every promise.</summary>
public sealed record CheckResult(IReadOnlyList<string> Violations, long Lost, long Duplicated, long Phantom, long QueriesChecked)
{
    public bool Ok => Violations.Count == 0;
}

/// <summary>
/// Proves Braid's promises from a history (in the manner of Jepsen's checkers): every acknowledged
/// batch is stored exactly once and as sent; nothing is stored that no producer sent or that was
/// refused for certain; each producer's batches are stored in sequence order within a partition;
/// every query returned exactly the matching records of its snapshot, in order, however often it
/// was resumed; and every query's snapshot holds every batch acknowledged before the query started
/// (no stale snapshot fixed by a deposed leader), unless retention had removed it already.
/// </summary>
public static class HistoryChecker
{
    private const int ViolationsMax = 50;

    public static CheckResult Check(History history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var violations = new List<string>();
        void Violation(string text)
        {
            if (violations.Count < ViolationsMax) violations.Add(text);
        }

        var stored = history.Stored.GroupBy(b => (b.Partition, b.Producer, b.Sequence)).ToDictionary(g => g.Key, g => g.ToList());
        var invoked = history.Appends.GroupBy(a => (a.Partition, a.Producer, a.Sequence)).ToDictionary(g => g.Key, g => g.ToList());
        long lost = 0, duplicated = 0, phantom = 0;

        foreach (var (key, ops) in invoked)
        {
            var copies = stored.GetValueOrDefault(key) ?? [];
            var name = $"partition {key.Partition} ({key.Producer},{key.Sequence})";
            if (copies.Count > 1)
            {
                duplicated += copies.Count - 1;
                Violation($"duplicated: {name} is stored {copies.Count} times (entries {string.Join(", ", copies.Select(c => c.Index))})");
            }
            if (ops.Any(o => o.Result == AppendResult.Ok) && !copies.Any(c => ops.Any(o => o.ContentHash == c.ContentHash)))
            {
                lost++;
                Violation($"lost: {name} was acknowledged at {ops.First(o => o.Result == AppendResult.Ok).CompletedAt} but is not stored as sent");
            }
            if (copies.Count > 0 && ops.All(o => o.Result == AppendResult.Failed))
            {
                phantom++;
                Violation($"phantom: {name} was refused every time it was sent, but is stored at entry {copies[0].Index}");
            }
            foreach (var copy in copies.Where(c => ops.All(o => o.ContentHash != c.ContentHash)))
            {
                phantom++;
                Violation($"phantom: {name} at entry {copy.Index} holds content that was never sent under that key");
            }
        }
        foreach (var (key, copies) in stored.Where(s => !invoked.ContainsKey(s.Key)))
        {
            phantom += copies.Count;
            Violation($"phantom: partition {key.Partition} ({key.Producer},{key.Sequence}) is stored at entry {copies[0].Index}, but no producer sent it");
        }
        CheckOrder(history.Stored, Violation);
        if (history.Queries.Count > 0)
        {
            // Built once for every query: each partition's stored batches in log order, and the
            // acknowledged appends with the entry that holds them, in acknowledgement order.
            var byPartition = history.Stored.GroupBy(b => b.Partition).ToDictionary(g => g.Key, g => g.OrderBy(b => b.Index).ToList());
            var acknowledged = history.Appends
                .Where(a => a.Result == AppendResult.Ok && stored.ContainsKey((a.Partition, a.Producer, a.Sequence)))
                .GroupBy(a => a.Partition)
                .ToDictionary(g => g.Key, g => g.Select(a => (a, stored[(a.Partition, a.Producer, a.Sequence)][0])).OrderBy(x => x.a.CompletedAt).ToList());
            foreach (var query in history.Queries) CheckQuery(query, byPartition, acknowledged, Violation);
        }
        return new CheckResult(violations, lost, duplicated, phantom, history.Queries.Count);
    }

    /// <summary>Per partition and producer, sequences go up with the log index.</summary>
    private static void CheckOrder(IReadOnlyList<StoredBatch> stored, Action<string> violation)
    {
        foreach (var group in stored.GroupBy(b => (b.Partition, b.Producer)))
        {
            StoredBatch? previous = null;
            foreach (var batch in group.OrderBy(b => b.Index))
            {
                if (previous is not null && batch.Sequence <= previous.Sequence)
                    violation($"order: partition {group.Key.Partition} producer {group.Key.Producer} stored sequence {batch.Sequence} at entry {batch.Index} after {previous.Sequence} at {previous.Index}");
                previous = batch;
            }
        }
    }

    private static void CheckQuery(QueryOp query, Dictionary<uint, List<StoredBatch>> byPartition,
        Dictionary<uint, List<(AppendOp Op, StoredBatch Copy)>> acknowledged, Action<string> violation)
    {
        foreach (var snapshot in query.Snapshot)
        {
            var batches = byPartition.GetValueOrDefault(snapshot.Partition) ?? [];
            var expected = batches.Where(b => b.Index > snapshot.StartAfter && b.Index <= snapshot.SnapshotIndex)
                .SelectMany(b => b.Records).Where(query.Matches).ToList();
            var got = query.Returned.GetValueOrDefault(snapshot.Partition) ?? [];
            if (!expected.SequenceEqual(got))
            {
                var at = expected.Zip(got).TakeWhile(p => p.First == p.Second).Count();
                violation($"query {query.Id} (resumed {query.Resumes} times): partition {snapshot.Partition} returned {got.Count} records, " +
                    $"its snapshot ({snapshot.StartAfter}..{snapshot.SnapshotIndex}] holds {expected.Count} matching; first difference at record {at}");
            }
            // Read after ack: a batch acknowledged before the query started must be inside its
            // snapshot, unless retention had removed it (stored at or before StartAfter).
            foreach (var (op, copy) in acknowledged.GetValueOrDefault(snapshot.Partition) ?? [])
            {
                if (op.CompletedAt >= query.InvokedAt) break;
                if (copy.Index <= snapshot.StartAfter || copy.Index <= snapshot.SnapshotIndex) continue;
                violation($"stale snapshot: query {query.Id} started at {query.InvokedAt}, after ({op.Producer},{op.Sequence}) was acknowledged at {op.CompletedAt}, " +
                    $"but its snapshot of partition {snapshot.Partition} ends at {snapshot.SnapshotIndex}, before that batch's entry {copy.Index}");
            }
        }
    }
}

using System.Buffers.Binary;
using Braid.Core.Streams;

namespace Braid.Simulation;

/// <summary>
/// Queries paged across faults: each fixes a snapshot at the partitions' leaders, as the node's
/// coordinator does, then asks for one small page at a time from a random live replica (so
/// nearly every page resumes the query at another replica), carrying only the cursor's bytes
/// from page to page, and sometimes losing a page (the client resends from its last cursor).
/// When a query ends, the checker compares what it returned with its snapshot: every record
/// stored in each partition between the start and the snapshot index that matches the filter,
/// in order, no gap, no duplicate.
/// </summary>
public sealed partial class Simulation
{
    private readonly List<SimQuery> queries = [];
    private int nextQueryId;

    private sealed class SimQuery(int id, ulong modulus, ulong residue, ScanCursor start)
    {
        public int Id { get; } = id;
        public ulong Modulus { get; } = modulus;
        public ulong Residue { get; } = residue;
        public ScanCursor Start { get; } = start;
        public byte[] Cursor { get; set; } = start.Encode();
        public List<ulong>[] Results { get; } = [.. start.Positions.Select(_ => new List<ulong>())];
        public HashSet<string> TrimmedAt { get; } = new(StringComparer.Ordinal);
        public bool Finished { get; set; }
        public ulong FilterHash => FilterHashOf(Modulus, Residue);
    }

    public long QueriesCompleted { get; private set; }
    public long QueriesTrimmed { get; private set; }
    public long QueryPages { get; private set; }

    /// <summary>Queries started and not yet finished.</summary>
    public int ActiveQueries => queries.Count(q => !q.Finished);

    private static ulong FilterHashOf(ulong modulus, ulong residue) => modulus << 8 | residue;

    private void StartQueries() => Schedule(TimeSpan.FromMilliseconds(random.Next(200, 1500)), StartQuery);

    private void StartQuery()
    {
        if (workloadStopped) return;
        var leaders = new List<(ulong, ulong)>();
        for (var g = 0; g < Groups.Count; g++)
        {
            // Asks every replica; the claim of the highest term wins (a deposed leader cut off in
            // a minority may still claim leadership for up to an election timeout).
            var leader = Holders((uint)g).Select(id => Nodes[id]).Where(n => n.Up).Select(n => n.Replicas[(uint)g].Replica)
                .Where(r => r is not null && r.Raft.ServeRead()).MaxBy(r => r!.Raft.Term);
            if (leader is null)
            {
                Schedule(TimeSpan.FromMilliseconds(100), StartQuery);
                return;
            }
            leaders.Add((leader.Raft.CommitIndex, leader.State.RetainedAfter));
        }
        var modulus = (ulong)random.Next(1, 4);
        var residue = (ulong)random.Next((int)modulus);
        var query = new SimQuery(++nextQueryId, modulus, residue, ScanCursor.Start(FilterHashOf(modulus, residue), leaders));
        queries.Add(query);
        Record($"query {query.Id} starts at {string.Join(",", query.Start.Positions.Select(p => $"{p.NextIndex}..{p.SnapshotIndex}"))}");
        NextPage(query);
    }

    private void NextPage(SimQuery query)
    {
        if (!ScanCursor.TryDecode(query.Cursor, query.FilterHash, Groups.Count, out var cursor, out var error))
        {
            Checker.Violation($"query {query.Id}: its own cursor does not decode: {error}");
            query.Finished = true;
            return;
        }
        var position = cursor.Positions.FirstOrDefault(p => !p.Done);
        if (cursor.Done)
        {
            Complete(query);
            return;
        }
        var group = position.Partition;
        var live = Holders(group).Where(id => Nodes[id].Up && Nodes[id].Replicas[group].Replica is not null).ToList();
        if (live.Count == 0)
        {
            Schedule(TimeSpan.FromMilliseconds(50), () => NextPage(query));
            return;
        }
        var node = live[random.Next(live.Count)];
        var scanner = new SimScanner(query.Modulus, query.Residue);
        ScanPage page = default;
        Guard(() => page = Nodes[node].Replicas[group].Replica!.Scan(position, scanner, random.Next(1, 40), random.Next(1, 60)));
        switch (page.Status)
        {
            case ScanStatus.Page when random.NextDouble() >= CurrentDropRate:
                QueryPages++;
                query.Results[group].AddRange(scanner.Values);
                query.Cursor = cursor.Advance(page.Next).Encode();
                query.TrimmedAt.Clear();
                break;
            case ScanStatus.Trimmed:
                query.TrimmedAt.Add(node);
                if (Holders(group).All(query.TrimmedAt.Contains))
                {
                    // Every replica removed records the query still needs: it fails (OUT_OF_RANGE).
                    QueriesTrimmed++;
                    query.Finished = true;
                    Record($"query {query.Id} refused: partition {group} trimmed past {position.NextIndex}");
                    StartQueries();
                    return;
                }
                break;
        }
        // A lost page, a replica behind or trimmed: the client asks again from the same cursor.
        Schedule(TimeSpan.FromMilliseconds(random.Next(1, 30)), () => NextPage(query));
    }

    private void Complete(SimQuery query)
    {
        query.Finished = true;
        QueriesCompleted++;
        for (var g = 0; g < Groups.Count; g++)
        {
            var start = query.Start.Positions[g];
            var expected = Checker.StoredRecords((uint)g, start.NextIndex - 1, start.SnapshotIndex)
                .SelectMany(r => SimScanner.ValuesOf(r.Record.Payload.Span))
                .Where(v => v % query.Modulus == query.Residue).ToList();
            var got = query.Results[g];
            if (expected.SequenceEqual(got)) continue;
            var at = expected.Zip(got).TakeWhile(p => p.First == p.Second).Count();
            Checker.Violation($"resume: query {query.Id} partition {g} ({start.NextIndex}..{start.SnapshotIndex}) returned {got.Count} records, its snapshot holds {expected.Count}; first difference at record {at}");
        }
        Record($"query {query.Id} done");
        StartQueries();
    }

    /// <summary>The simulator's batches (8-byte values) scanned for values v with v % modulus == residue.</summary>
    private sealed class SimScanner(ulong modulus, ulong residue) : IBatchScanner
    {
        public List<ulong> Values { get; } = [];

        public static IEnumerable<ulong> ValuesOf(ReadOnlySpan<byte> batch)
        {
            var values = new ulong[batch.Length / 8];
            for (var j = 0; j < values.Length; j++) values[j] = BinaryPrimitives.ReadUInt64LittleEndian(batch[(8 * j)..]);
            return values;
        }

        public BatchScan Scan(ReadOnlySpan<byte> batch, int skip, int matchesMax)
        {
            var count = batch.Length / 8;
            var matched = 0;
            for (var j = skip; j < count; j++)
            {
                var value = BinaryPrimitives.ReadUInt64LittleEndian(batch[(8 * j)..]);
                if (value % modulus != residue) continue;
                Values.Add(value);
                if (++matched == matchesMax) return new BatchScan(j + 1, j + 1 == count, matched);
            }
            return new BatchScan(count, true, matched);
        }
    }
}

using System.Buffers.Binary;
using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Protocol.V1;
using Braid.Simulation;

namespace Braid.Core.Tests.Streams;

/// <summary>
/// The acknowledgement rule and replica scans of the core <see cref="PartitionReplica"/>, the type
/// the node host and the simulator both drive: three replicas on simulated disks, a FIFO network
/// that can cut a replica off, script in, acks out.
/// </summary>
public sealed class PartitionReplicaTests
{
    private sealed class Group
    {
        private readonly Queue<RaftMessage> network = new();
        public readonly Dictionary<string, PartitionReplica> Replicas = new(StringComparer.Ordinal);
        public readonly List<AppendAck> Acks = [];
        public readonly HashSet<string> Isolated = new(StringComparer.Ordinal);
        public readonly Dictionary<string, SimulatedDevice> Devices = new(StringComparer.Ordinal);
        private static readonly string[] Ids = ["A", "B", "C"];

        private readonly long retainTicks;

        public Group(long retainTicks = 0)
        {
            this.retainTicks = retainTicks;
            for (var i = 0; i < Ids.Length; i++)
            {
                Devices[Ids[i]] = new SimulatedDevice(7 + i);
                Replicas[Ids[i]] = Open(Ids[i]);
            }
        }

        /// <summary>Opens <paramref name="id"/>'s replica from its device, as a process start does.</summary>
        public PartitionReplica Open(string id) =>
            new(0, id, Ids, Devices[id], new Random(1000 * (Array.IndexOf(Ids, id) + 1) + 17),
                new PartitionReplicaOptions(new RaftOptions(), SegmentBytes: 64 * 1024, PendingMax: retainTicks > 0 ? 1000 : 4, RetainTicks: retainTicks));

        public PartitionReplica this[string id] => Replicas[id];

        public void Flush()
        {
            foreach (var (id, r) in Replicas)
            {
                if (!r.HasOutput) continue;
                var output = r.TakeOutput();
                Acks.AddRange(output.Acks);
                foreach (var m in output.Messages)
                    if (!Isolated.Contains(id) && !Isolated.Contains(m.To)) network.Enqueue(m);
            }
        }

        /// <summary>Delivers until the network is quiet (bounded).</summary>
        public void Settle()
        {
            Flush();
            for (var i = 0; i < 10_000 && network.Count > 0; i++)
            {
                var m = network.Dequeue();
                if (!Isolated.Contains(m.To)) Replicas[m.To].Step(m);
                Flush();
            }
            Assert.Empty(network);
        }

        public void Tick(string id, int n)
        {
            for (var i = 0; i < n; i++)
            {
                Replicas[id].Tick();
                Settle();
            }
        }

        public void TickAll(int n)
        {
            for (var i = 0; i < n; i++)
            {
                foreach (var r in Replicas.Values) r.Tick();
                Settle();
            }
        }

        public string ElectA()
        {
            Tick("A", 2 * new RaftOptions().ElectionTicks);
            Assert.Equal(RaftRole.Leader, this["A"].Raft.Role);
            return "A";
        }
    }

    private static byte[] Values(params ulong[] values)
    {
        var bytes = new byte[8 * values.Length];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8 * i), values[i]);
        return bytes;
    }

    [Fact]
    public void AnAppendIsAcknowledgedOnlyOnceCommittedAndARetryOfItAsADuplicate()
    {
        var g = new Group();
        g.ElectA();
        g.Isolated.UnionWith(["B", "C"]);
        Assert.Null(g["A"].Append(1, producer: 9, sequence: 1, Values(1)));
        g.Settle();
        Assert.Empty(g.Acks); // appended and fsynced on A alone: not committed, not acknowledged

        g.Isolated.Clear();
        g.Tick("A", 2); // heartbeats carry it to B and C
        var ack = Assert.Single(g.Acks);
        Assert.Equal((1L, AckStatus.Ok, false), (ack.Ticket, ack.Status, ack.Duplicate));
        Assert.True(ack.Index <= g["B"].Raft.LastIndex && ack.Index <= g["A"].Raft.CommitIndex);

        var retry = g["A"].Append(2, 9, 1, Values(1)); // answered at once: see the test below
        Assert.Equal((AckStatus.Ok, true, ack.Index), (retry?.Status, retry?.Duplicate, retry?.Index));
        Assert.Equal(1, g["A"].State.RecordCount);
    }

    [Fact]
    public void AFollowerAnswersNotLeaderWithTheLeaderAndASkippedSequenceIsAnsweredOutOfOrder()
    {
        var g = new Group();
        g.ElectA();
        var refused = g["B"].Append(1, 9, 1, Values(1));
        Assert.Equal((AckStatus.NotLeader, "A"), (refused?.Status, refused?.Leader));

        g.Tick("A", 2);
        Assert.Null(g["A"].Append(2, 9, 2, Values(2))); // decided on apply (see the next tests)
        g.Settle();
        g.Tick("A", 2);
        var ack = g.Acks.Single(a => a.Ticket == 2);
        Assert.Equal((AckStatus.OutOfOrder, 1ul), (ack.Status, ack.ExpectedSequence));
        Assert.Equal(0, g["A"].State.RecordCount);
    }

    [Fact]
    public void AnAppendWhoseLeaderIsDeposedIsAnsweredRetryAndNeverOkForAnotherBatch()
    {
        var g = new Group();
        g.ElectA();
        g.Isolated.Add("A");
        Assert.Null(g["A"].Append(1, 9, 1, Values(1)));
        g.Settle();
        g.TickAll(4 * new RaftOptions().ElectionTicks); // B or C leads a new term without A
        var leader = Assert.Single(new[] { "B", "C" }, id => g[id].Raft.Role == RaftRole.Leader);
        Assert.Null(g[leader].Append(2, 8, 1, Values(2)));
        g.Settle();
        Assert.Equal(AckStatus.Ok, g.Acks.Single(a => a.Ticket == 2).Status);

        g.Isolated.Clear();
        g.TickAll(2 * new RaftOptions().ElectionTicks); // A hears of the new term and its entry is overwritten
        Assert.Equal(AckStatus.Retry, g.Acks.Single(a => a.Ticket == 1).Status); // once, and never Ok
        Assert.Equal(0, g["A"].PendingCount);
        Assert.Equal(g[leader].Raft.CommitIndex, g["A"].State.AppliedIndex);
        Assert.Equal(0ul, g["A"].State.LastSequenceOf(9)); // A's own batch is gone from the log
    }

    [Fact]
    public void TooManyAppendsInFlightAreAnsweredRetry()
    {
        var g = new Group();
        g.ElectA();
        g.Isolated.UnionWith(["B", "C"]);
        for (var s = 1ul; s <= 4; s++) Assert.Null(g["A"].Append((long)s, 9, s, Values(s)));
        Assert.Equal(AckStatus.Retry, g["A"].Append(5, 9, 5, Values(5))?.Status);
    }

    /// <summary>Keeps values; stops after <c>matchesMax</c>, as the real scanners do.</summary>
    private sealed class ValueScanner : IBatchScanner
    {
        public List<ulong> Values { get; } = [];

        public BatchScan Scan(ReadOnlySpan<byte> batch, int skip, int matchesMax)
        {
            var count = batch.Length / 8;
            var matched = 0;
            for (var j = skip; j < count; j++)
            {
                Values.Add(BinaryPrimitives.ReadUInt64LittleEndian(batch[(8 * j)..]));
                if (++matched == matchesMax) return new BatchScan(j + 1, j + 1 == count, matched);
            }
            return new BatchScan(count, true, matched);
        }
    }

    [Fact]
    public void PagesOfAnySizeResumedAtAnyReplicaYieldExactlyTheSnapshot()
    {
        var g = new Group();
        g.ElectA();
        ulong next = 1;
        for (var s = 1ul; s <= 6; s++)
        {
            Assert.Null(g["A"].Append((long)s, 9, s, Values([.. Enumerable.Range(0, (int)s).Select(_ => next++)])));
            g.Settle();
        }
        g.Tick("A", 2);
        var cursor = ScanCursor.Start(42, [(g["A"].Raft.CommitIndex, g["A"].State.RetainedAfter)]);
        Assert.Null(g["A"].Append(99, 9, 7, Values(1000))); // after the snapshot: not in the result
        g.Settle();

        var got = new List<ulong>();
        string[] order = ["B", "C", "A"];
        for (var page = 0; !cursor.Done; page++)
        {
            Assert.True(page < 100, "the query does not end");
            var scanner = new ValueScanner();
            var result = g[order[page % 3]].Scan(cursor.Positions[0], scanner, matchesMax: 1 + page % 4, scannedMax: 5);
            Assert.Equal(ScanStatus.Page, result.Status);
            got.AddRange(scanner.Values);
            Assert.True(ScanCursor.TryDecode(cursor.Advance(result.Next).Encode(), 42, 1, out cursor, out var error), error);
        }
        Assert.Equal(Enumerable.Range(1, 21).Select(v => (ulong)v), got);
    }

    [Fact]
    public void AReplicaBehindTheSnapshotSaysSoInsteadOfAnsweringShort()
    {
        var g = new Group();
        g.ElectA();
        g.Isolated.Add("C");
        Assert.Null(g["A"].Append(1, 9, 1, Values(1)));
        g.Tick("A", 2);
        var position = ScanPosition.Start(0, g["A"].Raft.CommitIndex, 0);
        Assert.Equal(ScanStatus.Behind, g["C"].Scan(position, new ValueScanner(), 10, 10).Status);
    }

    [Theory]
    [InlineData(new byte[] { 0xff, 0xff }, "not a Braid query cursor")]
    [InlineData(new byte[0], "version 0")]
    public void AMalformedCursorIsRefusedWithTheReason(byte[] bytes, string reason)
    {
        Assert.False(ScanCursor.TryDecode(bytes, 1, 1, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void ACursorOfAnotherQueryOrClusterIsRefused()
    {
        var bytes = ScanCursor.Start(7, [(5, 0), (6, 2)]).Encode();
        Assert.True(ScanCursor.TryDecode(bytes, 7, 2, out var cursor, out _));
        Assert.Equal(3ul, cursor.Positions[1].NextIndex);
        Assert.False(ScanCursor.TryDecode(bytes, 8, 2, out _, out var other));
        Assert.Contains("different query", other);
        Assert.False(ScanCursor.TryDecode(bytes, 7, 3, out _, out var size));
        Assert.Contains("2 partitions", size);
    }

    [Fact]
    public void AGarbageSnapshotIsRefusedBeforeItReplacesTheLogAndTheReplicaStillStarts()
    {
        var g = new Group();
        g.ElectA();
        Assert.Null(g["A"].Append(1, 9, 1, Values(1)));
        g.Settle();
        g.Tick("A", 2);
        var logBefore = g["B"].Raft.LastIndex;
        Assert.True(logBefore >= 2);

        var forged = new RaftMessage
        {
            Type = RaftMessageType.InstallSnapshot, Group = 0, From = "A", To = "B", Term = g["A"].Raft.Term,
            Index = 50, LogTerm = g["A"].Raft.Term, Snapshot = Google.Protobuf.ByteString.CopyFrom(1, 2, 3),
        };
        g["B"].Step(forged);
        g.Settle();

        Assert.Equal(1, g["B"].Raft.RefusedCount);
        Assert.Equal((0ul, logBefore), (g["B"].Raft.SnapshotIndex, g["B"].Raft.LastIndex));
        g["B"].Dispose();
        var reopened = g.Open("B");
        reopened.TakeOutput();
        Assert.Equal(logBefore, reopened.Raft.LastIndex);
    }

    [Fact]
    public void AnEntryTooShortForARecordIsRefusedBeforeItReachesTheLog()
    {
        var g = new Group();
        g.ElectA();
        var last = g["B"].Raft.LastIndex;
        var forged = new RaftMessage
        {
            Type = RaftMessageType.Append, Group = 0, From = "A", To = "B", Term = g["A"].Raft.Term,
            Index = last, LogTerm = g["A"].Raft.Term, Commit = last + 1,
        };
        forged.Entries.Add(new RaftEntry { Index = last + 1, Term = g["A"].Raft.Term, Data = Google.Protobuf.ByteString.CopyFrom(1, 2) });
        g["B"].Step(forged);
        g.Settle(); // applying it would fail on the partition loop

        Assert.Equal((1L, last), (g["B"].Raft.RefusedCount, g["B"].Raft.LastIndex));
    }

    [Fact]
    public void ADuplicateIsAnsweredBeforeItIsAppendedAndASkippingBatchOnApply()
    {
        var g = new Group();
        g.ElectA();
        Assert.Null(g["A"].Append(1, 9, 1, Values(1)));
        Assert.Null(g["A"].Append(2, 9, 2, Values(2)));
        g.Settle();
        g.Tick("A", 2);
        Assert.Equal(2, g.Acks.Count(a => a.Status == AckStatus.Ok));
        var last = g["A"].Raft.LastIndex;

        var older = g["A"].Append(3, 9, 1, Values(1));
        var latest = g["A"].Append(4, 9, 2, Values(2));

        Assert.Equal((AckStatus.Ok, true, 0ul), (older?.Status, older?.Duplicate, older?.Index));
        Assert.Equal((AckStatus.Ok, true, g["A"].State.LastIndexOf(9)), (latest?.Status, latest?.Duplicate, latest?.Index));
        Assert.Equal(last, g["A"].Raft.LastIndex); // nothing appended, replicated or fsynced

        // Skipping ahead is refused on apply: only the current leader knows the next sequence,
        // and without a lease a leader cannot be sure it still is one.
        Assert.Null(g["A"].Append(5, 9, 5, Values(5)));
        g.Settle();
        g.Tick("A", 2);
        var skipping = g.Acks.Single(a => a.Ticket == 5);
        Assert.Equal((AckStatus.OutOfOrder, 3ul), (skipping.Status, skipping.ExpectedSequence));

        // With the producer's own batch in flight, the leader cannot know: the rule decides on apply.
        Assert.Null(g["A"].Append(6, 9, 3, Values(3)));
        Assert.Null(g["A"].Append(7, 9, 5, Values(5)));
        g.Settle();
        g.Tick("A", 2);
        Assert.Equal(AckStatus.OutOfOrder, g.Acks.Single(a => a.Ticket == 7).Status);
    }

    [Fact]
    public void RetentionByTimeCompactsAnIdlePartitionOnceItsRecordsAreOldEnough()
    {
        var group = new Group(retainTicks: 300);
        var leader = group.ElectA();
        for (ulong i = 1; i <= 300; i++) group[leader].Append((long)i, 1, i, new byte[1024]);
        group.Settle();
        Assert.Equal(300L, group[leader].State.RecordCount);
        group.TickAll(200);
        Assert.Equal(0ul, group[leader].Raft.SnapshotIndex); // not old enough yet
        group.TickAll(150); // idle: no commits, retention by time still runs
        foreach (var r in group.Replicas.Values)
        {
            Assert.True(r.Raft.SnapshotIndex > 200, $"{r.Raft.Id}: snapshot at {r.Raft.SnapshotIndex}");
            Assert.True(r.State.RetainedAfter > 200);
            Assert.Equal(300L, r.State.RecordCount); // counted, not lost: removed by retention as asked
        }
    }
}

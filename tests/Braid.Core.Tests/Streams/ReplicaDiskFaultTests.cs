using System.Buffers.Binary;
using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Protocol.V1;
using Braid.Simulation;

namespace Braid.Core.Tests.Streams;

/// <summary>
/// Disk faults at the replica (issue 11, items 4 and 5): a full disk raises the NOSPACE alarm and
/// turns the replica read-only until space returns; corruption at rest is quarantined and the
/// replica rejoins without a vote until it has caught up (three replicas: <see cref="ReplicaGroup"/>).
/// </summary>
public sealed class ReplicaDiskFaultTests
{
    private static byte[] Value(ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes;
    }

    [Fact]
    public void AFullLeaderRefusesWritesWithTheAlarmServesReadsAndResumesWhenSpaceReturns()
    {
        var g = new ReplicaGroup();
        g.ElectA();
        for (var s = 1ul; s <= 3; s++) Assert.Null(g["A"].Append((long)s, 9, s, Value(s)));
        g.Settle();
        Assert.All(g.Acks, a => Assert.Equal(AckStatus.Ok, a.Status));

        g.Devices["A"].FreeBytes = 0;
        var refused = g["A"].Append(4, 9, 4, Value(4));
        Assert.Equal(AckStatus.NoSpace, refused?.Status);
        Assert.Contains("A", refused?.Error);
        Assert.Contains("partition 0", refused?.Error);
        Assert.True(g["A"].NoSpaceAlarm);
        Assert.Equal(AckStatus.NoSpace, g["A"].Append(5, 9, 4, Value(4))?.Status); // refused at once
        g.TickAll(3);
        Assert.Equal(RaftRole.Leader, g["A"].Raft.Role); // stays in its group, and leads
        Assert.Equal(3, g["A"].State.RecordCount); // reads are served

        g.Devices["A"].FreeBytes = null;
        g.TickAll(PartitionReplica.NoSpaceProbeTicksMax + 1);
        Assert.False(g["A"].NoSpaceAlarm); // resumed by itself, no restart
        Assert.Null(g["A"].Append(6, 9, 4, Value(4)));
        g.Settle();
        Assert.Equal(AckStatus.Ok, g.Acks.Single(a => a.Ticket == 6).Status);
        g.TickAll(2); // followers learn the commit index
        Assert.All(g.Replicas.Values, r => Assert.Equal(4ul, r.State.LastSequenceOf(9)));
    }

    [Fact]
    public void AFullFollowerAcknowledgesNothingItCouldNotPersistAndCatchesUpWhenSpaceReturns()
    {
        var g = new ReplicaGroup();
        g.ElectA();
        g.Devices["C"].FreeBytes = 0;
        for (var s = 1ul; s <= 5; s++)
        {
            Assert.Null(g["A"].Append((long)s, 9, s, Value(s)));
            g.Settle();
        }
        Assert.All(g.Acks, a => Assert.Equal(AckStatus.Ok, a.Status)); // A and B are a majority
        Assert.True(g["C"].NoSpaceAlarm);
        Assert.True(g["C"].Raft.Status.DurableIndex < g["A"].Raft.CommitIndex); // C holds less...
        Assert.True(g["A"].Raft.MatchOf("C") <= g["C"].Raft.Status.DurableIndex); // ...and said so
        var answer = g["C"].Append(99, 9, 6, Value(6)); // a full follower still names its leader
        Assert.Equal((AckStatus.NotLeader, "A"), (answer?.Status, answer?.Leader));

        g.Devices["C"].FreeBytes = null;
        g.TickAll(PartitionReplica.NoSpaceProbeTicksMax + 1);
        Assert.False(g["C"].NoSpaceAlarm);
        Assert.Equal(g["A"].Raft.LastIndex, g["C"].Raft.Status.DurableIndex);
        Assert.Equal(5ul, g["C"].State.LastSequenceOf(9));
    }

    /// <summary>Asks <paramref name="voter"/> for a vote from B at the next term, as an
    /// up-to-date candidate; returns whether it was granted (null: no answer).</summary>
    private static bool? AskVote(ReplicaGroup g, string voter, RaftMessageType type)
    {
        var r = g[voter];
        var candidate = g["A"].Raft;
        r.Step(new RaftMessage
        {
            Type = type, From = "B", To = voter, Group = 0, Term = r.Raft.Term + 1,
            Index = candidate.LastIndex, LogTerm = candidate.Term, Transfer = true,
        });
        var answer = r.TakeOutput().Messages.SingleOrDefault(m => m.To == "B" && m.Type is RaftMessageType.VoteResponse or RaftMessageType.PreVoteResponse);
        return answer is null ? null : !answer.Reject;
    }

    private static void Load(ReplicaGroup g, int batches, int bytes)
    {
        for (var s = 1; s <= batches; s++)
        {
            Assert.Null(g["A"].Append(s, 9, (ulong)s, new byte[bytes]));
            g.Settle();
        }
        g.TickAll(2);
        Assert.Equal(batches, g.Acks.Count(a => a.Status == AckStatus.Ok));
    }

    [Fact]
    public void ACorruptSealedSegmentIsQuarantinedAndTheReplicaRejoinsWithoutAVoteUntilCaughtUp()
    {
        var g = new ReplicaGroup(segmentBytes: 4096);
        g.ElectA();
        Load(g, 40, 500);
        g.Stop("C");
        var sealedSegment = g.Devices["C"].ListNames().Where(n => n.EndsWith(SegmentFormat.Extension, StringComparison.Ordinal)).Order().First();
        g.Devices["C"].FlipBit(sealedSegment, 200, 3);

        var c = g.Open("C"); // the node's replica comes up
        Assert.Contains(c.StorageReport.Quarantined, q => q.Name == sealedSegment);
        Assert.NotNull(c.StorageReport.LostState);
        Assert.True(c.Raft.Recovering);
        Assert.True(g.Devices["C"].Exists(ReplicaStorage.RecoveringName));
        Assert.False(AskVote(g, "C", RaftMessageType.PreVote)); // (a vote request would raise its term)
        for (var i = 0; i < 3 * new RaftOptions().ElectionTicks; i++) c.Tick();
        Assert.Equal(RaftRole.Follower, c.Raft.Role); // nor does it campaign
        Assert.Empty(c.TakeOutput().Messages);

        g.Down.Remove("C");
        g.TickAll(10); // A still leads and still thinks C holds what it had acknowledged
        Assert.Equal(RaftRole.Leader, g["A"].Raft.Role);
        Assert.False(c.Raft.Recovering);
        Assert.False(g.Devices["C"].Exists(ReplicaStorage.RecoveringName));
        Assert.Equal(g["A"].Raft.LastIndex, c.Raft.Status.DurableIndex); // the full log again
        Assert.Equal(40ul, c.State.LastSequenceOf(9));
        Assert.True(AskVote(g, "C", RaftMessageType.Vote)); // and its vote back
    }

    [Fact]
    public void AFollowerWhoseFsyncFailedIsDiscardedAndRebuiltFromTheLeaderWithoutAVote()
    {
        var g = new ReplicaGroup(segmentBytes: 4096);
        g.ElectA();
        Load(g, 10, 500);
        g.Devices["C"].FailNextSyncs(1);
        Assert.Null(g["A"].Append(11, 9, 11, new byte[500]));
        var failure = Record.Exception(g.Settle);
        Assert.True(StorageSyncException.IsIn(failure), failure?.ToString());

        // The host's reaction (Braid.Node's PartitionSet): close it, never retry the fsync, discard
        // its files and reopen it empty, recovering.
        g.Replicas["C"].Dispose();
        g.Down.Add("C");
        var moved = ReplicaStorage.Discard(g.Devices["C"], "an fsync failed");
        Assert.Contains(moved, q => q.Name == HardStateStore.FileName);
        var c = g.Open("C");
        Assert.True(c.Raft.Recovering);
        Assert.Equal(0ul, c.Raft.Status.DurableIndex);
        Assert.False(AskVote(g, "C", RaftMessageType.Vote));

        g.Down.Remove("C");
        g.TickAll(10);
        Assert.False(c.Raft.Recovering);
        Assert.Equal(g["A"].Raft.LastIndex, c.Raft.Status.DurableIndex);
        Assert.Equal(11ul, c.State.LastSequenceOf(9));
        Assert.True(AskVote(g, "C", RaftMessageType.Vote));
    }

    [Fact]
    public void ACrashDuringRecoveryKeepsTheRule()
    {
        var g = new ReplicaGroup(segmentBytes: 4096);
        g.ElectA();
        Load(g, 10, 500);
        g.Stop("C");
        g.Devices["C"].FlipBit(HardStateStore.FileName, 20, 1);
        Assert.NotNull(g.Open("C").StorageReport.LostState); // the damaged hard state is moved aside
        g.Stop("C");
        var c = g.Open("C");
        Assert.Empty(c.StorageReport.Quarantined);
        Assert.Contains("recovery was under way", c.StorageReport.LostState);
        Assert.False(AskVote(g, "C", RaftMessageType.Vote));
    }

    [Fact]
    public void AVanishedReplicaRejoinsWithoutAVoteAndANewOneVotesAtOnce()
    {
        var g = new ReplicaGroup();
        g.ElectA();
        Load(g, 5, 100);
        g.Stop("C");
        g.Devices["C"] = new SimulatedDevice(99); // the data folder is gone
        var c = g.Open("C", expectExisting: true);
        Assert.Contains("vanished", c.StorageReport.LostState);
        Assert.False(AskVote(g, "C", RaftMessageType.Vote));
        g.Down.Remove("C");
        g.TickAll(10);
        Assert.False(c.Raft.Recovering);
        Assert.Equal(5ul, c.State.LastSequenceOf(9));

        var fresh = new ReplicaGroup();
        Assert.Null(fresh["A"].StorageReport.LostState);
        Assert.Equal(32, fresh["A"].StorageReport.ReplicaId.Length);
        Assert.False(fresh["A"].Raft.Recovering);
    }

    [Fact]
    public void AReplicaOpensOnAFullDiskAndLostStateStillKeepsItsVote()
    {
        var g = new ReplicaGroup();
        g.ElectA();
        Load(g, 3, 100);
        g.Stop("C");
        g.Devices["C"].FlipBit(HardStateStore.FileName, 20, 1);
        g.Devices["C"].FreeBytes = 0; // neither the marker nor anything else fits
        var c = g.Open("C");
        Assert.Contains("could not be saved", c.StorageReport.LostState);
        Assert.True(c.Raft.Recovering);
        Assert.NotEqual(true, AskVote(g, "C", RaftMessageType.Vote)); // no answer at all: its term cannot be saved

        var empty = new SimulatedDevice(11) { FreeBytes = 0 };
        using var fresh = new PartitionReplica(0, "A", ReplicaGroup.Ids, empty, new Random(1), new PartitionReplicaOptions(new RaftOptions(), 4096));
        Assert.Null(fresh.StorageReport.LostState);
    }

    [Fact]
    public void AReplicaAloneInItsGroupDoesNotWaitForACatchUpThatCannotCome()
    {
        var device = new SimulatedDevice(3);
        var options = new PartitionReplicaOptions(new RaftOptions(), 4096);
        static void Elect(PartitionReplica r)
        {
            for (var i = 0; i < 3 * new RaftOptions().ElectionTicks && r.Raft.Role != RaftRole.Leader; i++)
            {
                r.Tick();
                r.TakeOutput();
            }
            Assert.Equal(RaftRole.Leader, r.Raft.Role);
        }
        using (var alone = new PartitionReplica(0, "A", ["A"], device, new Random(1), options)) Elect(alone);
        device.FlipBit(HardStateStore.FileName, 20, 1);
        using var reopened = new PartitionReplica(0, "A", ["A"], device, new Random(2), options);
        Assert.NotNull(reopened.StorageReport.LostState);
        Elect(reopened);
        Assert.False(device.Exists(ReplicaStorage.RecoveringName));
    }
}

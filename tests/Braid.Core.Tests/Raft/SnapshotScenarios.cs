using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Protocol.V1;
using Braid.Simulation;
using Xunit.Abstractions;

namespace Braid.Core.Tests.Raft;

/// <summary>Compaction and snapshot install (Raft section 7): a follower behind the leader's
/// retained log catches up from a snapshot, keeps it across restarts, and can serve it onwards.</summary>
public sealed class SnapshotScenarios(ITestOutputHelper output)
{
    // Small segments, so compaction can drop whole segments after a few dozen entries.
    private const long SegmentBytes = 1024;

    [Fact]
    public void AFollowerBehindTheRetainedLogCatchesUpFromASnapshot()
    {
        var s = ElectionScenarios.ElectedGroup(output, segmentBytesMax: SegmentBytes);
        s.Isolate("C");
        s.ProposeMany("A", "x", 200);
        s.RoundsUntil(() => s["A"].CommitIndex == 201 && s["B"].CommitIndex == 201);

        Assert.True(s.Compact("A", 201) > 0);
        Assert.True(s.Compact("B", 201) > 0);
        Assert.True(s["A"].FirstIndex > 2, $"A still holds entry {s["A"].FirstIndex}");
        Assert.Equal((201ul, 1ul), (s["A"].SnapshotIndex, s["A"].SnapshotTerm));
        s.ProposeMany("A", "y", 5);
        s.RoundsUntil(() => s["A"].CommitIndex == 206 && s["B"].CommitIndex == 206);
        s.TakeTrace();

        s.Heal();
        s.RoundsUntil(() => s["C"].CommitIndex == 206);

        Assert.Equal(1, s.CountDelivered(m => m.Type == RaftMessageType.InstallSnapshot && m.To == "C"));
        Assert.Equal(s.Committed("A"), s.Committed("C"));
        Assert.Equal(206, s.Committed("C").Count);
        Assert.Equal(["y1@1", "y2@1", "y3@1", "y4@1", "y5@1"], s.LogOf("C")); // the snapshot replaced the rest
        Assert.Equal((202ul, 201ul), (s["C"].FirstIndex, s["C"].SnapshotIndex));
        // A no longer knows the term of C's match point (1), so its heartbeat to C is anchored
        // at 0; C answers with its commit index, 1, which A has compacted away: the snapshot.
        s.AssertFullTrace("""
            A->B APPEND term 1 prev 206@1 commit 206
            A->C APPEND term 1 prev 0@0 commit 0
            B->A APPEND_RESPONSE term 1 match 206
            C->A APPEND_RESPONSE term 1 match 1
            A->C INSTALL_SNAPSHOT term 1 snapshot 201@1 bytes 1298 commit 206
            C: restores snapshot 201@1
            C->A APPEND_RESPONSE term 1 match 201
            A->C APPEND term 1 prev 201@1 entries [202@1 .. 206@1] commit 206
            C commits 202 y1@1
            C commits 203 y2@1
            C commits 204 y3@1
            C commits 205 y4@1
            C commits 206 y5@1
            C->A APPEND_RESPONSE term 1 match 206
            """);
    }

    [Fact]
    public void AnInstalledSnapshotSurvivesARestartAndIsServedOnwardByTheNextLeader()
    {
        var s = ElectionScenarios.ElectedGroup(output, segmentBytesMax: SegmentBytes);
        s.Isolate("C");
        s.ProposeMany("A", "x", 100);
        s.RoundsUntil(() => s["B"].CommitIndex == 101);
        s.Compact("A", 101);
        s.Heal();
        s.RoundsUntil(() => s["C"].SnapshotIndex == 101 && s["C"].CommitIndex == 101);

        // C restarts from its snapshot, not from an empty log.
        s.Crash("C");
        s.Restart("C");
        Assert.Equal(101ul, s["C"].CommitIndex);
        Assert.Equal(s.Committed("A"), s.Committed("C"));

        // B falls behind; C leads, with nothing but the installed snapshot below its log, and
        // brings B up to date once C's own log no longer reaches back far enough for B.
        s.Isolate("B");
        s.Transfer("A", "C");
        s.RoundsUntil(() => s.Leaders.SequenceEqual(["C"]));
        s.ProposeMany("C", "z", 60);
        s.RoundsUntil(() => s["A"].CommitIndex == s["C"].LastIndex);
        s.Compact("C", s["C"].CommitIndex);
        Assert.True(s["C"].FirstIndex > 102);
        s.Heal();
        s.RoundsUntil(() => s["B"].CommitIndex == s["C"].CommitIndex);

        Assert.Equal(s.Committed("C"), s.Committed("B"));
        Assert.Equal(1, s.CountDelivered(m => m.Type == RaftMessageType.InstallSnapshot && m.From == "C" && m.To == "B"));
    }

    [Fact]
    public void AFollowerMatchingRightBelowTheLeadersFirstEntryGetsTheSnapshot()
    {
        // The leader no longer knows the term of the follower's last entry, so it cannot send
        // the next entries (the follower could not check them): a snapshot is the only way on.
        var first = LeaderFirstIndexAfterCompacting(200);
        var s = ElectionScenarios.ElectedGroup(output, segmentBytesMax: SegmentBytes);
        s.ProposeMany("A", "x", (int)first - 2);
        s.RoundsUntil(() => s["C"].CommitIndex == first - 1);
        s.Isolate("C");
        for (var i = (int)first - 1; i <= 200; i++) s.Propose("A", $"x{i}");
        s.RoundsUntil(() => s["B"].CommitIndex == 201);
        s.Compact("A", 201);
        Assert.Equal((first, first - 1), (s["A"].FirstIndex, s["C"].LastIndex));

        s.Heal();
        s.RoundsUntil(() => s["C"].CommitIndex == 201);
        Assert.Equal(201ul, s["C"].SnapshotIndex);
        Assert.Equal(s.Committed("A"), s.Committed("C"));
    }

    private static ulong LeaderFirstIndexAfterCompacting(int entries)
    {
        var s = ElectionScenarios.ElectedGroup(output: null, segmentBytesMax: SegmentBytes);
        s.ProposeMany("A", "x", entries);
        s.RoundsUntil(() => s["A"].CommitIndex == (ulong)entries + 1);
        s.Compact("A", (ulong)entries + 1);
        return s["A"].FirstIndex;
    }

    [Fact]
    public void ALostSnapshotIsSentAgainAfterAnElectionTimeout()
    {
        var s = ElectionScenarios.ElectedGroup(output, segmentBytesMax: SegmentBytes);
        s.Isolate("C");
        s.ProposeMany("A", "x", 100);
        s.RoundsUntil(() => s["B"].CommitIndex == 101);
        s.Compact("A", 101);
        s.Heal();

        // For 20 rounds (two election timeouts) every snapshot is lost in transit and everything
        // else arrives: C answers every heartbeat from below A's log, so A wants to send it the
        // snapshot on every answer, but sends it only once per election timeout.
        s.Lose(m => m.Type == RaftMessageType.InstallSnapshot);
        s.Round(2 * s.Options.ElectionTicks);
        Assert.Equal(0ul, s["C"].SnapshotIndex);
        Assert.Equal(2, s.CountDropped(m => m.Type == RaftMessageType.InstallSnapshot));

        s.Heal();
        var rounds = s.RoundsUntil(() => s["C"].CommitIndex == 101);

        Assert.InRange(rounds, 1, s.Options.ElectionTicks + 1);
        Assert.Equal(1, s.CountDelivered(m => m.Type == RaftMessageType.InstallSnapshot && m.To == "C"));
        Assert.Equal(s.Committed("A"), s.Committed("C"));
    }

    [Fact]
    public void ACrashBetweenSavingASnapshotAndResettingTheLogIsRepairedOnOpen()
    {
        var device = new SimulatedDevice(7);
        WriteDurableLog(device, Enumerable.Repeat(1ul, 10));
        // The snapshot reached the disk; the reset of the log did not.
        new SnapshotStore(device).Save(new StoredSnapshot(50, 3, new byte[] { 42 }));
        new HardStateStore(device).Save(new HardState(3, null, 50));

        var (raft, reopened) = OpenNode(device);
        using var _ = reopened;
        var ready = raft.TakeReady();

        Assert.Equal(50ul, ready.Snapshot?.Index);
        Assert.Equal(new byte[] { 42 }, ready.Snapshot!.Data.ToArray());
        Assert.Empty(ready.Committed);
        Assert.Equal((51ul, 50ul, 50ul), (raft.FirstIndex, raft.LastIndex, raft.CommitIndex));
        Assert.Equal((51ul, 50ul), (reopened.FirstIndex, reopened.LastIndex));
    }

    [Fact]
    public void ACrashDuringAnInstallOverAConflictingLogIsRepairedOnOpen()
    {
        // The follower held entries 1..60 of an old term 2; the snapshot it was installing
        // covers 50 in term 3, so its entries from 50 on conflict. The reset never happened.
        var device = new SimulatedDevice(8);
        WriteDurableLog(device, Enumerable.Repeat(2ul, 60));
        new SnapshotStore(device).Save(new StoredSnapshot(50, 3, new byte[] { 42 }));
        new HardStateStore(device).Save(new HardState(3, null, 10));

        var (raft, log) = OpenNode(device);
        using var _ = log;

        Assert.Equal((51ul, 50ul, 50ul), (raft.FirstIndex, raft.LastIndex, raft.CommitIndex));
        Assert.Equal(50ul, raft.TakeReady().Snapshot?.Index);
    }

    [Fact]
    public void ATermOnDiskAheadOfTheSavedHardStateIsAdoptedWithoutAVote()
    {
        // Step wrote entries of term 5 (a new leader's), and the process died before TakeReady
        // saved term 5: the log and the hard state disagree on open.
        var device = new SimulatedDevice(9);
        WriteDurableLog(device, [3ul, 5ul]);
        new HardStateStore(device).Save(new HardState(3, "B", 1));

        var (raft, log) = OpenNode(device);
        using var _ = log;
        raft.TakeReady();

        Assert.Equal((5ul, (string?)null), (raft.Term, raft.VotedFor));
        Assert.Equal(new HardState(5, null, 1), new HardStateStore(device).Load());
    }

    /// <summary>A log on <paramref name="device"/> with one entry per term given, made durable.</summary>
    private static void WriteDurableLog(SimulatedDevice device, IEnumerable<ulong> terms)
    {
        using var log = SegmentedLog.Open(device);
        byte i = 0;
        foreach (var term in terms) log.Append(term, [1, i++]);
        log.Sync();
    }

    /// <summary>Opens node A of group A, B, C on what <paramref name="device"/> holds, as a restart does.</summary>
    private static (RaftNode Raft, SegmentedLog Log) OpenNode(SimulatedDevice device)
    {
        var log = SegmentedLog.Open(device);
        return (new RaftNode("A", 1, ["A", "B", "C"], log, new HardStateStore(device), new SnapshotStore(device), new Random(1)), log);
    }
}

using Braid.Core.Raft;
using Braid.Core.Streams;

namespace Braid.Core.Tests.Streams;

/// <summary>
/// Leadership goes back to the preferred leader (the placement's first replica) only once that
/// replica holds the whole log and was already close to it (within
/// <see cref="PartitionReplica.PreferredLagMax"/> entries) at the check before, one check interval
/// (2 s) earlier: a node that
/// has just restarted is caught up long before its process is warm, and handing it leadership at
/// once made the longest pauses of a rolling restart (its first appends as leader were slow).
/// </summary>
public sealed class PreferredLeaderTests
{
    [Fact]
    public void LeadershipGoesBackOnlyAfterThePreferredLeaderWasCloseAtTheCheckBefore()
    {
        var g = new ReplicaGroup();
        var electionTicks = g.Elect("B");
        Assert.Equal("A", g["B"].PreferredLeader);
        Assert.Equal(g["B"].Raft.LastIndex, g["B"].Raft.MatchOf("A")); // A holds the whole log

        // B's first check comes once its own tick count reaches a multiple of the interval.
        var untilFirstCheck = PartitionReplica.PreferredLeaderCheckTicks - electionTicks % PartitionReplica.PreferredLeaderCheckTicks;
        g.TickAll(untilFirstCheck);
        Assert.Equal(RaftRole.Leader, g["B"].Raft.Role); // caught up once: not yet

        g.TickAll(PartitionReplica.PreferredLeaderCheckTicks - 1);
        Assert.Equal(RaftRole.Leader, g["B"].Raft.Role);
        g.TickAll(1); // the second check in a row that finds A caught up: TimeoutNow, A wins at once
        Assert.Equal(RaftRole.Leader, g["A"].Raft.Role);
        Assert.Equal("A", g["B"].Raft.Leader);
    }

    [Fact]
    public void APreferredLeaderThatWasDownAtTheLastCheckWaitsAnotherInterval()
    {
        var g = new ReplicaGroup();
        g.Stop("A");
        var electionTicks = g.Elect("B");
        var untilFirstCheck = PartitionReplica.PreferredLeaderCheckTicks - electionTicks % PartitionReplica.PreferredLeaderCheckTicks;
        g.TickAll(untilFirstCheck); // A down: not caught up at this check
        g.Down.Remove("A");
        g.Open("A", expectExisting: true);
        g.TickAll(PartitionReplica.PreferredLeaderCheckTicks); // A back and caught up at the next check: once
        Assert.Equal(RaftRole.Leader, g["B"].Raft.Role);
        g.TickAll(PartitionReplica.PreferredLeaderCheckTicks); // and again: now it gets leadership back
        Assert.Equal(RaftRole.Leader, g["A"].Raft.Role);
    }
}

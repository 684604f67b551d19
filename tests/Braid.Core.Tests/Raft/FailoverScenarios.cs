using Braid.Core.Raft;
using Xunit.Abstractions;

namespace Braid.Core.Tests.Raft;

/// <summary>
/// Instant crash failover (issue 14, item 6): the host's failure detector says the leader cannot
/// be reached; a follower campaigns at once instead of waiting out its election timeout, and
/// PreVote with the CheckQuorum lease still keeps a live leader in place.
/// </summary>
public sealed class FailoverScenarios(ITestOutputHelper output)
{
    private static readonly string[] Placement = ["A", "B", "C"];

    [Fact]
    public void WhenTheDeadLeaderIsReportedUnreachableTheNextInPlacementOrderIsElectedWithoutATick()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.Crash("A");
        Assert.True(RaftNode.ShouldCampaign(Placement, "B", "A", _ => true));
        Assert.False(RaftNode.ShouldCampaign(Placement, "C", "A", _ => true));

        // B hears of it first: its pre-vote reaches C while C still holds A's lease and is ignored...
        s.Do("B", r => r.PeerUnreachable("A", campaign: true));
        Assert.Equal(RaftRole.PreCandidate, s["B"].Role);
        s.Deliver();
        Assert.Equal(RaftRole.PreCandidate, s["B"].Role);
        // ...until C hears of it too: C answers the request it held back, and B wins, no tick at all.
        s.Do("C", r => r.PeerUnreachable("A", campaign: false));
        s.Deliver();
        Assert.Equal(RaftRole.Leader, s["B"].Role);
        Assert.Equal("B", s["C"].Leader);
        Assert.Equal(["B"], s.Leaders);
    }

    [Fact]
    public void AFollowerThatAloneLosesTheLeaderDeposesNobody()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        var term = s["A"].Term;
        // Only B's link to A is flaky: C still hears A and keeps the lease.
        s.Do("B", r => r.PeerUnreachable("A", campaign: true));
        s.Deliver();
        s.Round(3);
        Assert.Equal(RaftRole.Leader, s["A"].Role);
        Assert.Equal(term, s["A"].Term);
        Assert.Equal("A", s["C"].Leader);
    }

    [Fact]
    public void AnUnreachableNodeThatIsNotTheLeaderChangesNothing()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.Do("B", r => r.PeerUnreachable("C", campaign: true));
        s.Do("A", r => r.PeerUnreachable("B", campaign: true));
        Assert.Equal(RaftRole.Follower, s["B"].Role);
        Assert.Equal("A", s["B"].Leader);
        Assert.Equal(RaftRole.Leader, s["A"].Role);
    }

    [Fact]
    public void TheCampaignerIsTheFirstReachableVoterInPlacementOrder()
    {
        Assert.False(RaftNode.ShouldCampaign(Placement, "C", "A", v => v != "A"));
        Assert.True(RaftNode.ShouldCampaign(Placement, "C", "A", v => v == "C")); // B unreachable too
        Assert.True(RaftNode.ShouldCampaign(Placement, "A", "B", _ => true));
        Assert.False(RaftNode.ShouldCampaign(Placement, "B", "B", _ => true)); // never for the dead node itself
    }

    [Fact]
    public void ARetiringNodeNeverCampaignsAgainButStillVotesForItsSuccessor()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        Assert.True(s.Transfer("A", "B"));
        s.Deliver();
        Assert.Equal(["B"], s.Leaders);
        s.Do("A", r => r.Retire());
        // Cut off from B and C, A's election timer runs out again and again: it stays a follower.
        s.Isolate("A");
        s.Round(4 * s.Options.ElectionTicks);
        Assert.Equal(RaftRole.Follower, s["A"].Role);
        s.Heal();
        s.Round(2);
        // B dies: C campaigns, and A's vote still counts toward its majority.
        s.Crash("B");
        s.Do("C", r => r.PeerUnreachable("B", campaign: true));
        s.Do("A", r => r.PeerUnreachable("B", campaign: true));
        s.Deliver();
        Assert.Equal(RaftRole.Leader, s["C"].Role);
        Assert.Equal(RaftRole.Follower, s["A"].Role);
        Assert.Equal("C", s["A"].Leader);
    }
}

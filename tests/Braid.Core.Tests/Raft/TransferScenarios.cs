using Braid.Core.Raft;

namespace Braid.Core.Tests.Raft;

/// <summary>Leadership transfer (Raft thesis 3.10): prompt, no election timeout, proposals paused.</summary>
public sealed class TransferScenarios
{
    [Fact]
    public void TransferToACaughtUpFollowerElectsItInTheNextTermWithoutATimeout()
    {
        var s = ElectionScenarios.ElectedGroup();
        s.ProposeMany("A", "x", 3);
        s.Deliver();
        s.Round();
        s.TakeTrace();

        Assert.True(s.Transfer("A", "B"));
        var during = s.Propose("A", "y");
        Assert.False(during.Accepted);
        Assert.Equal("B", during.LeaderHint);
        Assert.Equal("leadership of group 1 is moving to B", during.Reason);

        s.Deliver(); // no tick: TIMEOUT_NOW makes B campaign at once, and the votes bypass the lease

        Assert.Equal("""
            B: candidate term 2
            A: follower term 2
            B: leader term 2
            B commits 5 noop@2
            """, s.TakeTrace());
        Assert.Equal(["B"], s.Leaders);

        var after = s.Propose("B", "y");
        Assert.True(after.Accepted);
        s.Deliver();
        s.Round();
        Assert.All(s.Ids, id => Assert.Equal(["x1", "x2", "x3", "y"], s.CommittedPayloads(id)));
        Assert.All(s.Ids, id => Assert.Equal(("B", 2ul), (s[id].Leader, s[id].Term)));
    }

    [Fact]
    public void TransferToALaggingFollowerWaitsUntilItHasCaughtUp()
    {
        var s = ElectionScenarios.ElectedGroup();
        s.Isolate("C");
        s.ProposeMany("A", "x", 50);
        s.Deliver();
        s.Heal();

        Assert.True(s.Transfer("A", "C"));
        Assert.False(s.Propose("A", "y").Accepted);
        var rounds = 0;
        s.Deliver();
        while (s.Leaders.SequenceEqual(["A"]))
        {
            s.Round();
            rounds++;
        }

        Assert.InRange(rounds, 0, 2); // a heartbeat or two to find C, far below an election timeout
        Assert.Equal(["C"], s.Leaders);
        Assert.Equal(2ul, s["C"].Term);
        s.Round();
        Assert.All(s.Ids, id => Assert.Equal(52ul, s[id].CommitIndex));
    }

    [Fact]
    public void ATransferToAnUnreachableTargetIsAbandonedAfterAnElectionTimeout()
    {
        var s = ElectionScenarios.ElectedGroup();
        s.Isolate("C");
        s.ProposeMany("A", "x", 2);
        s.Deliver();

        Assert.True(s.Transfer("A", "C"));
        Assert.False(s.Propose("A", "y").Accepted);
        s.Round(s.Options.ElectionTicks);

        Assert.Equal(["A"], s.Leaders);
        Assert.True(s.Propose("A", "y").Accepted);
    }

    [Fact]
    public void OnlyALeaderTransfersAndOnlyToAnotherVoter()
    {
        var s = ElectionScenarios.ElectedGroup();
        Assert.False(s.Transfer("B", "C"));
        Assert.False(s.Transfer("A", "A"));
        Assert.False(s.Transfer("A", "Z"));
        Assert.True(s.Propose("A", "x").Accepted);
    }
}

using Braid.Core.Raft;
using Xunit.Abstractions;

namespace Braid.Core.Tests.Raft;

/// <summary>Leadership transfer (Raft thesis 3.10): prompt, no election timeout, proposals paused.</summary>
public sealed class TransferScenarios(ITestOutputHelper output)
{
    [Fact]
    public void TransferToACaughtUpFollowerElectsItInTheNextTermWithoutATimeout()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.ProposeMany("A", "x", 3);
        s.Deliver();
        s.Round();

        // Each proposal goes out at once (pipelined), each acknowledgement from B moves the
        // commit index. The empty appends "prev 4@1 commit 2" and "commit 3" are the leader's
        // probe for a follower whose next index is past the log while it still lags: it fires on
        // every in-order acknowledgement with later appends in flight. Harmless (it carries the
        // commit index early) but redundant: the acknowledgements in flight would have told.
        // The tick's heartbeat carries commit 4.
        s.AssertFullTrace("""
            A->B APPEND term 1 prev 1@1 entries [2@1] commit 1
            A->C APPEND term 1 prev 1@1 entries [2@1] commit 1
            A->B APPEND term 1 prev 2@1 entries [3@1] commit 1
            A->C APPEND term 1 prev 2@1 entries [3@1] commit 1
            A->B APPEND term 1 prev 3@1 entries [4@1] commit 1
            A->C APPEND term 1 prev 3@1 entries [4@1] commit 1
            B->A APPEND_RESPONSE term 1 match 2
            A commits 2 x1@1
            C->A APPEND_RESPONSE term 1 match 2
            B->A APPEND_RESPONSE term 1 match 3
            A commits 3 x2@1
            C->A APPEND_RESPONSE term 1 match 3
            B->A APPEND_RESPONSE term 1 match 4
            A commits 4 x3@1
            C->A APPEND_RESPONSE term 1 match 4
            A->B APPEND term 1 prev 4@1 commit 2
            B commits 2 x1@1
            A->C APPEND term 1 prev 4@1 commit 2
            C commits 2 x1@1
            A->B APPEND term 1 prev 4@1 commit 3
            B commits 3 x2@1
            A->C APPEND term 1 prev 4@1 commit 3
            C commits 3 x2@1
            B->A APPEND_RESPONSE term 1 match 4
            C->A APPEND_RESPONSE term 1 match 4
            B->A APPEND_RESPONSE term 1 match 4
            C->A APPEND_RESPONSE term 1 match 4
            A->B APPEND term 1 prev 4@1 commit 4
            B commits 4 x3@1
            A->C APPEND term 1 prev 4@1 commit 4
            C commits 4 x3@1
            B->A APPEND_RESPONSE term 1 match 4
            C->A APPEND_RESPONSE term 1 match 4
            """);

        Assert.True(s.Transfer("A", "B"));
        var during = s.Propose("A", "y");
        Assert.False(during.Accepted);
        Assert.Equal("B", during.LeaderHint);
        Assert.Equal("leadership of group 1 is moving to B", during.Reason);

        s.Deliver();

        // No tick: TIMEOUT_NOW makes B campaign at once, skipping PreVote, and its votes are
        // marked "transfer" so A and C grant them although they heard from A a moment ago
        // (the CheckQuorum lease). A steps down on seeing term 2.
        s.AssertFullTrace("""
            A->B TIMEOUT_NOW term 1
            B: candidate term 2
            B->A VOTE term 2 last 4@1 transfer
            A: follower term 2
            B->C VOTE term 2 last 4@1 transfer
            A->B VOTE_RESPONSE term 2 granted
            B: leader term 2
            C->B VOTE_RESPONSE term 2 granted
            B->A APPEND term 2 prev 4@1 entries [5@2] commit 4
            B->C APPEND term 2 prev 4@1 entries [5@2] commit 4
            A->B APPEND_RESPONSE term 2 match 5
            B commits 5 noop@2
            C->B APPEND_RESPONSE term 2 match 5
            """);
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
        var s = ElectionScenarios.ElectedGroup(output);
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
        var s = ElectionScenarios.ElectedGroup(output);
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
        var s = ElectionScenarios.ElectedGroup(output);
        Assert.False(s.Transfer("B", "C"));
        Assert.False(s.Transfer("A", "A"));
        Assert.False(s.Transfer("A", "Z"));
        Assert.True(s.Propose("A", "x").Accepted);
    }
}

using Braid.Core.Raft;
using Braid.Protocol.V1;
using Xunit.Abstractions;

namespace Braid.Core.Tests.Raft;

/// <summary>Crash and restart: what a node promised before the crash it still holds after it.</summary>
public sealed class DurabilityScenarios(ITestOutputHelper output)
{
    [Fact]
    public void AFollowerKeepsEveryEntryItAcknowledgedAcrossACrash()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.ProposeMany("A", "x", 5);
        s.Deliver();
        s.Round();
        Assert.Equal(6ul, s.AckedIndex("C"));
        var acknowledged = s.LogOf("C");

        // C takes y1..y3 in but loses power before its ready is taken: they were never synced
        // and never acknowledged, so A commits them with B alone.
        s.HoldReady("C");
        s.ProposeMany("A", "y", 3);
        s.Deliver();
        Assert.Equal(9ul, s["C"].LastIndex);
        Assert.Equal(6ul, s.AckedIndex("C"));
        Assert.Equal(9ul, s["A"].CommitIndex);

        s.Crash("C");
        s.Restart("C");

        Assert.Equal(acknowledged, s.LogOf("C")); // everything acknowledged, nothing more
        Assert.Equal(1ul, s["C"].Term);

        s.RoundsUntil(() => s["C"].CommitIndex == 9);
        Assert.Equal(s.LogOf("A"), s.LogOf("C"));
        Assert.Equal(["x1", "x2", "x3", "x4", "x5", "y1", "y2", "y3"], s.CommittedPayloads("C"));
    }

    [Fact]
    public void TermAndVoteSurviveARestartSoANodeNeverVotesTwiceInOneTerm()
    {
        var s = new RaftScenario(output: output, options: new RaftOptions(PreVote: false));
        s.TimeOut("A");
        s.TimeOut("B");

        s.DeliverOnly("A", "C"); // C grants A's vote; the grant is synced before it leaves
        Assert.Equal((1ul, "A"), (s["C"].Term, s["C"].VotedFor));

        s.Crash("C");
        s.Restart("C");
        Assert.Equal((1ul, "A"), (s["C"].Term, s["C"].VotedFor));

        s.Deliver(); // B's request reaches the restarted C, which must refuse it

        var votesFromC = s.Delivered.Where(m => m.From == "C" && m.Type == RaftMessageType.VoteResponse)
            .Select(m => $"{m.To}:{(m.Reject ? "refused" : "granted")}");
        Assert.Equal(["A:granted", "B:refused"], votesFromC);
        // C's grant to A was queued before the crash and still arrives; after the restart C
        // turns B down in the same term. A and B refuse each other (each voted for itself).
        s.AssertFullTrace("""
            A: candidate term 1
            B: candidate term 1
            A->C VOTE term 1 last 0@0
            C: crashed
            C: restarted term 1 commit 0
            A->B VOTE term 1 last 0@0
            B->A VOTE term 1 last 0@0
            B->C VOTE term 1 last 0@0
            C->A VOTE_RESPONSE term 1 granted
            A: leader term 1
            B->A VOTE_RESPONSE term 1 rejected
            A->B VOTE_RESPONSE term 1 rejected
            C->B VOTE_RESPONSE term 1 rejected
            B: follower term 1
            A->B APPEND term 1 prev 0@0 entries [1@1] commit 0
            A->C APPEND term 1 prev 0@0 entries [1@1] commit 0
            B->A APPEND_RESPONSE term 1 match 1
            A commits 1 noop@1
            C->A APPEND_RESPONSE term 1 match 1
            """);
        Assert.Equal(["A"], s.Leaders);
    }

    [Fact]
    public void ALeaderRestartedFromItsDeviceFollowsWithItsCommittedLogIntact()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.ProposeMany("A", "x", 3);
        s.Deliver();
        s.Round();
        var committed = s.LogOf("A");

        s.Crash("A");
        s.RoundsUntil(() => s.Leaders.Count == 1);
        s.Restart("A");
        Assert.Equal(committed, s.LogOf("A"));

        var leader = s.Leaders.Single();
        s.Propose(leader, "after");
        s.RoundsUntil(() => s.Ids.All(id => s[id].CommitIndex == s[leader].CommitIndex));
        Assert.Equal(leader, s["A"].Leader);
        Assert.All(s.Ids, id => Assert.Equal(["x1", "x2", "x3", "after"], s.CommittedPayloads(id)));
    }
}

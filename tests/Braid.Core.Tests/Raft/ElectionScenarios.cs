using Braid.Core.Raft;
using Xunit.Abstractions;

namespace Braid.Core.Tests.Raft;

/// <summary>Elections, PreVote, CheckQuorum and proposal routing, as scripts with expected traces.</summary>
public sealed class ElectionScenarios(ITestOutputHelper output)
{
    [Fact]
    public void ThreeNodesElectOneLeaderWhoseNoopCommitsEverywhere()
    {
        var s = new RaftScenario(output: output);

        s.TimeOut("A");
        s.Deliver();
        s.Round(); // the next heartbeat carries the commit index to the followers

        // B's pre-vote is enough (A's own and B's make a quorum of 3), so C's arrives when A is
        // a candidate already and is ignored; so is C's vote after A has won. The no-op commits
        // on the leader once B holds it; the followers learn the commit index from a heartbeat.
        s.AssertFullTrace("""
            A: pre-candidate term 0
            A->B PRE_VOTE term 1 last 0@0
            A->C PRE_VOTE term 1 last 0@0
            B->A PRE_VOTE_RESPONSE term 1 granted
            A: candidate term 1
            C->A PRE_VOTE_RESPONSE term 1 granted
            A->B VOTE term 1 last 0@0
            A->C VOTE term 1 last 0@0
            B->A VOTE_RESPONSE term 1 granted
            A: leader term 1
            C->A VOTE_RESPONSE term 1 granted
            A->B APPEND term 1 prev 0@0 entries [1@1] commit 0
            A->C APPEND term 1 prev 0@0 entries [1@1] commit 0
            B->A APPEND_RESPONSE term 1 match 1
            A commits 1 noop@1
            C->A APPEND_RESPONSE term 1 match 1
            A->B APPEND term 1 prev 1@1 commit 1
            B commits 1 noop@1
            A->C APPEND term 1 prev 1@1 commit 1
            C commits 1 noop@1
            B->A APPEND_RESPONSE term 1 match 1
            C->A APPEND_RESPONSE term 1 match 1
            """);
        foreach (var id in s.Ids)
        {
            Assert.Equal(("A", 1ul, 1ul), (s[id].Leader, s[id].Term, s[id].CommitIndex));
        }
        Assert.Equal(["A"], s.Leaders);
    }

    [Fact]
    public void SplitVoteElectsNobodyThenALaterTermElectsExactlyOne()
    {
        // Without PreVote a timed-out node becomes a candidate at once. C is cut off, so A and B
        // are the only voters left: each votes for itself and refuses the other.
        var s = new RaftScenario(output: output, options: new RaftOptions(PreVote: false));
        s.Isolate("C");

        s.TimeOut("A");
        s.TimeOut("B");
        s.Deliver();

        Assert.Equal("""
            A: candidate term 1
            B: candidate term 1
            """, s.TakeTrace());
        Assert.Empty(s.Leaders);

        var rounds = s.RoundsUntil(() => s.Leaders.Count == 1);

        Assert.InRange(rounds, 1, 2 * s.Options.ElectionTicks);
        var leader = s.Leaders.Single();
        Assert.True(s[leader].Term >= 2, $"term {s[leader].Term}");
        Assert.Equal(s[leader].Term, s["A"].Term);
        Assert.Equal(s[leader].Term, s["B"].Term);
        // C, cut off and without PreVote, campaigns on its own and inflates its term.
        Assert.Equal("""
            C: candidate term 1
            B: candidate term 2
            A: follower term 2
            B: leader term 2
            B commits 1 noop@2
            """, s.TakeTrace());

        s.Heal();
        s.RoundsUntil(() => s.Leaders.Count == 1 && s.Ids.All(id => s[id].Leader == s.Leaders[0] && s[id].CommitIndex == s[s.Leaders[0]].CommitIndex));
        Assert.All(s.Ids, id => Assert.Equal(s[s.Leaders[0]].Term, s[id].Term));
    }

    [Fact]
    public void PreVoteKeepsAPartitionedNodeFromInflatingItsTermAndDeposingTheLeader()
    {
        var s = ElectedGroup(output);
        s.Isolate("C");

        s.Round(10 * s.Options.ElectionTicks);

        Assert.Equal(1ul, s["C"].Term); // it kept asking for pre-votes, never started a real election
        Assert.Equal(RaftRole.PreCandidate, s["C"].Role);
        Assert.Equal("""
            C: pre-candidate term 1
            """, s.TakeTrace());

        s.Heal();
        s.Round(3);

        Assert.Equal("""
            C: follower term 1
            """, s.TakeTrace());
        foreach (var id in s.Ids)
        {
            Assert.Equal(("A", 1ul), (s[id].Leader, s[id].Term));
        }
    }

    [Fact]
    public void CheckQuorumMakesAnIsolatedLeaderStepDownAndTheMajorityElectsANewOne()
    {
        var s = ElectedGroup(output);
        s.Isolate("A");

        var ticks = 0;
        while (s["A"].Role == RaftRole.Leader)
        {
            s.Round();
            ticks++;
        }

        // The lease is checked once per ElectionTicks window, so the step-down comes after one
        // full window of silence and at most two (etcd behaves the same).
        Assert.InRange(ticks, s.Options.ElectionTicks, 2 * s.Options.ElectionTicks);
        Assert.Equal(1ul, s["A"].Term);

        s.RoundsUntil(() => s.Leaders.Count == 1);

        // B and C time out in the same round: both pass PreVote (neither hears a leader), split
        // the real vote of term 2, and C wins term 3. A stepped down on its own meanwhile.
        Assert.Equal("""
            B: pre-candidate term 1
            C: pre-candidate term 1
            B: candidate term 2
            C: candidate term 2
            A: follower term 1
            C: pre-candidate term 2
            C: candidate term 3
            B: follower term 3
            C: leader term 3
            C commits 2 noop@3
            """, s.TakeTrace());
        var leader = s.Leaders.Single();
        Assert.NotEqual("A", leader);
        Assert.True(s[leader].Term > 1);
        Assert.Equal(s[leader].Term, s[leader == "B" ? "C" : "B"].Term);
        Assert.Equal(leader, s[leader == "B" ? "C" : "B"].Leader);
    }

    [Fact]
    public void NonLeadersRejectProposalsWithALeaderHint()
    {
        var s = new RaftScenario(output: output);
        var beforeElection = s.Propose("B", "x");
        Assert.False(beforeElection.Accepted);
        Assert.Null(beforeElection.LeaderHint);
        Assert.Equal("B is not the leader of group 1", beforeElection.Reason);

        s.TimeOut("A");
        s.Deliver();
        s.Round();

        foreach (var follower in new[] { "B", "C" })
        {
            var result = s.Propose(follower, "x");
            Assert.False(result.Accepted);
            Assert.Equal("A", result.LeaderHint);
            Assert.Equal($"{follower} is not the leader of group 1", result.Reason);
        }

        var accepted = s.Propose("A", "x");
        Assert.True(accepted.Accepted);
        Assert.Equal((2ul, 1ul), (accepted.Index, accepted.Term));
        s.Deliver();
        s.Round();
        Assert.All(s.Ids, id => Assert.Equal(["x"], s.CommittedPayloads(id)));
    }

    /// <summary>A group where A leads term 1 and everyone has committed its no-op; trace taken.</summary>
    internal static RaftScenario ElectedGroup(
        ITestOutputHelper? output, RaftOptions? options = null, int seed = 1, long segmentBytesMax = 64 * 1024)
    {
        var s = new RaftScenario(options: options, seed: seed, segmentBytesMax: segmentBytesMax, output: output);
        s.TimeOut("A");
        s.Deliver();
        s.Round();
        Assert.Equal(["A"], s.Leaders);
        Assert.All(s.Ids, id => Assert.Equal(1ul, s[id].CommitIndex));
        s.TakeTrace();
        return s;
    }
}

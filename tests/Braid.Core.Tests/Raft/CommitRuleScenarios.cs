using Braid.Core.Raft;
using Xunit.Abstractions;

namespace Braid.Core.Tests.Raft;

/// <summary>The commit rule of Raft section 5.4.2 (the paper's Figure 8).</summary>
public sealed class CommitRuleScenarios(ITestOutputHelper output)
{
    [Fact]
    public void ALeaderNeverCommitsAnEntryOfAnEarlierTermByCountingReplicas()
    {
        // One entry per append message, so each step below moves exactly one entry.
        var s = ElectionScenarios.ElectedGroup(output, new RaftOptions(AppendEntriesMax: 1));

        // x@1 reaches B only and B's acknowledgement is lost: A never commits it.
        s.Isolate("C");
        s.Propose("A", "x");
        s.DeliverOnly("A", "B");
        s.DropQueued();
        Assert.Equal(1ul, s["A"].CommitIndex);
        s.AssertFullTrace("""
            A->B APPEND term 1 prev 1@1 entries [2@1] commit 1
            A->C APPEND term 1 prev 1@1 entries [2@1] commit 1 dropped
            B->A APPEND_RESPONSE term 1 match 2 dropped
            """);

        // A dies. C's lease on A runs out; B (the longer log) wins term 2 with C's vote.
        s.Crash("A");
        s.Heal();
        s.Tick("C", s.Options.ElectionTicks);
        s.TimeOut("B");
        for (var i = 0; i < 4 && s["B"].Role != RaftRole.Leader; i++)
        {
            s.DeliverOnly("B", "C");
            s.DeliverOnly("C", "B");
        }
        Assert.Equal(RaftRole.Leader, s["B"].Role);
        Assert.Equal(2ul, s["B"].Term);
        Assert.Equal(["noop@1", "x@1", "noop@2"], s.LogOf("B"));
        s.AssertFullTrace("""
            A: crashed
            B: pre-candidate term 1
            B->C PRE_VOTE term 2 last 2@1
            C->B PRE_VOTE_RESPONSE term 2 granted
            B: candidate term 2
            B->C VOTE term 2 last 2@1
            C->B VOTE_RESPONSE term 2 granted
            B: leader term 2
            """);

        // B brings C up to x@1 first: x is now on a majority (B and C), but it is of term 1,
        // so counting replicas must not commit it...
        while (s.LogOf("C").Count < 2)
        {
            s.DeliverOnly("B", "C");
            s.DeliverOnly("C", "B");
        }
        Assert.Equal(["noop@1", "x@1"], s.LogOf("C"));
        Assert.Equal(1ul, s["B"].CommitIndex);
        s.AssertFullTrace("""
            B->C APPEND term 2 prev 2@1 entries [3@2] commit 1
            C->B APPEND_RESPONSE term 2 rejected 2 hint 1@1
            B->C APPEND term 2 prev 1@1 entries [2@1] commit 1
            C->B APPEND_RESPONSE term 2 match 2
            """);

        // ...only B's own no-op of term 2 on a majority commits it, and x with it.
        s.DeliverOnly("B", "C");
        s.DeliverOnly("C", "B");
        Assert.Equal(3ul, s["B"].CommitIndex);
        Assert.Equal(["noop@1", "x@1", "noop@2"], s.Committed("B"));
        s.AssertFullTrace("""
            B->C APPEND term 2 prev 2@1 entries [3@2] commit 1
            C->B APPEND_RESPONSE term 2 match 3
            B commits 2 x@1
            B commits 3 noop@2
            """);
    }
}

using Braid.Core.Raft;
using Braid.Protocol.V1;
using Xunit.Abstractions;

namespace Braid.Core.Tests.Raft;

/// <summary>Log replication under partitions: conflicts, lost proposals, catch-up, backtracking.</summary>
public sealed class ReplicationScenarios(ITestOutputHelper output)
{
    [Fact]
    public void ANewLeaderOverwritesTheOldLeadersUncommittedSuffix()
    {
        var s = ElectionScenarios.ElectedGroup(output, seed: 2);
        s.Propose("A", "x");
        s.Deliver();
        s.Round();
        s.TakeTrace();

        // A appends a1..a3 at indexes 3..5; none of them reaches a follower.
        s.Isolate("A");
        s.ProposeMany("A", "a", 3);
        s.Deliver();
        Assert.Equal(["noop@1", "x@1", "a1@1", "a2@1", "a3@1"], s.LogOf("A"));

        // B and C elect a leader of term 2 and commit other entries at the same indexes.
        s.RoundsUntil(() => s.Leaders.Any(l => l != "A"));
        var leader = s.Leaders.Single(l => l != "A");
        s.ProposeMany(leader, "b", 3);
        s.Deliver();
        s.Round();
        var majorityLog = s.LogOf(leader);
        Assert.Equal(["noop@1", "x@1", "noop@2", "b1@2", "b2@2", "b3@2"], majorityLog);
        Assert.Equal(6ul, s[leader].CommitIndex);

        s.TakeTrace();
        s.Heal();
        s.RoundsUntil(() => s["A"].CommitIndex == s[leader].CommitIndex);

        Assert.Equal(majorityLog, s.LogOf("A")); // a1..a3 truncated and replaced
        Assert.Equal(majorityLog, s.Committed("A"));
        // C leads term 2. A, still leading term 1 (its CheckQuorum window has not run out),
        // heartbeats; B and C turn it away with their term ("rejected 2 hint 0@0" is the answer
        // to a stale term). C's heartbeat to A is anchored at index 0, as C has never heard from
        // A: A answers with its commit index, 2, and C sends 3..6 after it, which overwrite a1..a3.
        s.AssertFullTrace("""
            A->B APPEND term 1 prev 2@1 commit 2
            A->C APPEND term 1 prev 2@1 commit 2
            C->A APPEND term 2 prev 0@0 commit 0
            A: follower term 2
            C->B APPEND term 2 prev 6@2 commit 6
            B->A APPEND_RESPONSE term 2 rejected 2 hint 0@0
            C->A APPEND_RESPONSE term 2 rejected 2 hint 0@0
            A->C APPEND_RESPONSE term 2 match 2
            B->C APPEND_RESPONSE term 2 match 6
            C->A APPEND term 2 prev 2@1 entries [3@2 .. 6@2] commit 6
            A commits 3 noop@2
            A commits 4 b1@2
            A commits 5 b2@2
            A commits 6 b3@2
            A->C APPEND_RESPONSE term 2 match 6
            """);
    }

    [Fact]
    public void ProposalsToAPartitionedOldLeaderAreNeverCommittedAndVanishOnHeal()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.Isolate("A");

        var lost = s.Propose("A", "lost");
        Assert.True(lost.Accepted); // A still thinks it leads: it accepts, but cannot commit
        Assert.Equal((2ul, 1ul), (lost.Index, lost.Term));

        s.RoundsUntil(() => s.Leaders.Count(l => l != "A") == 1 && s["A"].Role != RaftRole.Leader);
        var leader = s.Leaders.Single();
        var kept = s.Propose(leader, "kept");
        Assert.True(kept.Accepted);
        s.Deliver();
        s.Round();
        Assert.Equal(1ul, s["A"].CommitIndex);

        s.Heal();
        s.RoundsUntil(() => s["A"].CommitIndex == s[leader].CommitIndex);

        Assert.Equal((RaftRole.Follower, leader, s[leader].Term), (s["A"].Role, s["A"].Leader, s["A"].Term));
        Assert.DoesNotContain(s.LogOf("A"), e => e.StartsWith("lost", StringComparison.Ordinal));
        Assert.All(s.Ids, id => Assert.Equal(["kept"], s.CommittedPayloads(id)));
        Assert.DoesNotContain(s.Trace, line => line.Contains("lost", StringComparison.Ordinal));

        var retry = s.Propose("A", "lost");
        Assert.False(retry.Accepted);
        Assert.Equal(leader, retry.LeaderHint);
    }

    [Fact]
    public void AFollowerBackFromALongAbsenceCatchesUpInFewRounds()
    {
        var s = ElectionScenarios.ElectedGroup(output, new RaftOptions(AppendEntriesMax: 64));
        s.Crash("C");
        for (int batch = 0; batch < 20; batch++)
        {
            s.ProposeMany("A", $"e{batch}-", 100);
            s.Deliver();
        }
        s.Round();
        Assert.Equal(2001ul, s["A"].CommitIndex);
        Assert.Equal(2001ul, s["B"].CommitIndex);

        s.Restart("C");
        var deliveredBefore = s.Delivered.Count;
        var rounds = s.RoundsUntil(() => s["C"].CommitIndex == s["A"].CommitIndex);

        Assert.Equal(1, rounds); // one heartbeat finds where C stands; the rest is pipelined
        Assert.Equal(s.LogOf("A"), s.LogOf("C"));
        Assert.Equal(s.Committed("A"), s.Committed("C"));
        var appendsToC = s.Delivered.Skip(deliveredBefore).Count(m => m.To == "C" && m.Type == RaftMessageType.Append && m.Entries.Count > 0);
        // 2,000 entries at 64 per message: 32 messages (33 seen), a little slack for probing.
        Assert.InRange(appendsToC, 32, 36);
    }

    [Fact]
    public void AFollowerWithALongConflictingSuffixIsBackedUpInFewRoundTrips()
    {
        var s = ElectionScenarios.ElectedGroup(output, new RaftOptions(AppendEntriesMax: 64));

        // A, cut off, appends 300 entries of term 1 that never commit.
        s.Isolate("A");
        s.ProposeMany("A", "stale", 300);
        s.Deliver();

        // B or C leads (with seed 1: C, term 3, after a split vote in term 2) and commits 500
        // entries with the other; then hands over to it (term 4), so the new leader's first
        // guess for A's log (its own last index + 1) lies far past the point where A's log
        // diverges (index 2).
        s.RoundsUntil(() => s.Leaders.Count(l => l != "A") == 1);
        var first = s.Leaders.Single(l => l != "A");
        var second = first == "B" ? "C" : "B";
        s.ProposeMany(first, "new", 500);
        s.Deliver();
        Assert.True(s.Transfer(first, second));
        s.Deliver();
        s.Round();
        Assert.Equal([second], s.Leaders.Where(l => l != "A"));
        Assert.Equal(503ul, s[second].CommitIndex);

        s.Heal();
        var deliveredBefore = s.Delivered.Count;
        s.RoundsUntil(() => s["A"].CommitIndex == s[second].CommitIndex);

        Assert.Equal(s.LogOf(second), s.LogOf("A"));
        var sinceHeal = s.Delivered.Skip(deliveredBefore).ToList();
        var rejections = sinceHeal.Count(m => m.From == "A" && m.Type == RaftMessageType.AppendResponse && m.Reject);
        var appendsToA = sinceHeal.Count(m => m.To == "A" && m.Type == RaftMessageType.Append);
        // One round trip per conflicting entry costs ~300 rejections (the core did that before
        // rejections carried the term at the hint). Backtracking by term needs one here (1 seen);
        // the 502 missing entries need 8 messages of 64, plus heartbeats (16 appends seen).
        Assert.True(rejections <= 3, $"{rejections} rejections, {appendsToA} appends to A");
        Assert.True(appendsToA <= 24, $"{appendsToA} appends to A");
    }
}

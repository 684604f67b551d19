using Braid.Core.Raft;
using Braid.Protocol.V1;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Braid.Core.Tests.Raft;

/// <summary>Membership changes one server at a time (Ongaro's thesis, 4.1) with learners.</summary>
public sealed class MembershipScenarios(ITestOutputHelper output)
{
    private static readonly string[] Abc = ["A", "B", "C"];
    private static readonly string[] Abcd = ["A", "B", "C", "D"];

    [Fact]
    public void ALearnerCatchesUpWithoutVotingThenCountsOnceItIsPromoted()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.ProposeMany("A", "x", 3);
        s.Round(3);
        s.AddNode("D");
        Assert.False(s["D"].IsVoter);

        Assert.True(s.ProposeConfiguration("A", Abc, ["D"]).Accepted);
        s.RoundsUntil(() => s["D"].CommitIndex == s["A"].LastIndex && s["A"].ConfigurationCommitted);
        Assert.Equal(["x1", "x2", "x3"], s.CommittedPayloads("D"));
        Assert.Equal(["D"], s["D"].Learners);

        // A learner never stands, however long it hears nothing.
        s.Isolate("A");
        s.Tick("D", 10 * s.Options.ElectionTicks);
        Assert.Equal(RaftRole.Follower, s["D"].Role);
        s.Heal();
        s.RoundsUntil(() => s.Leaders.Count == 1 && s[s.Leaders[0]].LeaderWithCurrentCommit);

        var leader = s.Leaders[0];
        Assert.True(s.ProposeConfiguration(leader, Abcd).Accepted);
        s.RoundsUntil(() => s[leader].ConfigurationCommitted && s["D"].IsVoter);
        Assert.Equal(3, s[leader].Quorum);

        // With four voters a majority is three: the leader and one other are not enough.
        var others = Abcd.Where(id => id != leader).ToArray();
        s.Isolate(others[0]);
        s.Isolate(others[1]);
        var before = s[leader].CommitIndex;
        Assert.True(s.Propose(leader, "alone").Accepted);
        s.Round(5);
        Assert.Equal(before, s[leader].CommitIndex);
        s.Heal();
        s.RoundsUntil(() => s.CommittedPayloads("D").Contains("alone") || s.Leaders.Count == 1 && s.CommittedPayloads(s.Leaders[0]).Count > 3, 400);
    }

    [Fact]
    public void AChangeWaitsForTheLastOneToCommitAndChangesOneVoterAtATime()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.AddNode("D");
        s.AddNode("E");
        var twoAtOnce = s.ProposeConfiguration("A", ["A", "B", "C", "D", "E"]);
        Assert.False(twoAtOnce.Accepted);
        Assert.Contains("more than one voter", twoAtOnce.Reason);
        var swap = s.ProposeConfiguration("A", ["A", "B", "D"]);
        Assert.False(swap.Accepted); // C out and D in: two voters changed

        Assert.True(s.ProposeConfiguration("A", Abc, ["D"]).Accepted);
        var second = s.ProposeConfiguration("A", Abc, ["D", "E"]);
        Assert.False(second.Accepted);
        Assert.Contains("not committed", second.Reason);
        s.RoundsUntil(() => s["A"].ConfigurationCommitted);
        Assert.True(s.ProposeConfiguration("A", Abc, ["D", "E"]).Accepted);

        // The same configuration again is answered with the index that set it (idempotent).
        s.RoundsUntil(() => s["A"].ConfigurationCommitted);
        var again = s.ProposeConfiguration("A", Abc, ["D", "E"]);
        Assert.True(again.Accepted);
        Assert.Equal(s["A"].ConfigurationIndex, again.Index);
    }

    [Fact]
    public void ANewLeaderChangesMembershipOnlyAfterCommittingAnEntryOfItsTerm()
    {
        var s = new RaftScenario(output: output);
        s.TimeOut("A");
        s.DeliverOnly("A", "B");
        s.DeliverOnly("B", "A"); // pre-vote granted: A campaigns
        s.DeliverOnly("A", "B");
        s.DeliverOnly("B", "A"); // vote granted: A leads, its no-op not yet acknowledged
        Assert.Equal(RaftRole.Leader, s["A"].Role);
        Assert.False(s["A"].LeaderWithCurrentCommit);
        s.AddNode("D");
        var early = s.ProposeConfiguration("A", Abc, ["D"]);
        Assert.False(early.Accepted);
        Assert.Contains("has not committed", early.Reason);
        s.Round(2);
        Assert.True(s.ProposeConfiguration("A", Abc, ["D"]).Accepted);
    }

    [Fact]
    public void ALeaderThatRemovesItselfCommitsOnTheOthersThenStepsDownForGood()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.ProposeMany("A", "x", 2);
        s.Round(2);
        Assert.True(s.ProposeConfiguration("A", ["B", "C"]).Accepted);
        s.RoundsUntil(() => s.Leaders.Count == 1 && s.Leaders[0] != "A" && s[s.Leaders[0]].LeaderWithCurrentCommit, 400);
        Assert.False(s["A"].IsVoter);
        Assert.Equal(["B", "C"], s[s.Leaders[0]].Voters);

        // The removed node never stands again, and the group goes on without it.
        s.Isolate(s.Leaders[0]);
        s.Tick("A", 10 * s.Options.ElectionTicks);
        Assert.Equal(RaftRole.Follower, s["A"].Role);
        s.Heal();
        s.Round(3);
        var leader = s.Leaders.Single();
        Assert.True(s.Propose(leader, "after").Accepted);
        s.RoundsUntil(() => s.CommittedPayloads("B").Contains("after") && s.CommittedPayloads("C").Contains("after"));
    }

    [Fact]
    public void ARemovedFollowerReceivesTheEntryThatRemovesItThenHearsNoMore()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        Assert.True(s.ProposeConfiguration("A", ["A", "B"]).Accepted);
        // The leader keeps heartbeating C until C knows its removal committed: its host closes it then.
        s.RoundsUntil(() => s["A"].ConfigurationCommitted && s["C"].Removed);
        Assert.False(s["C"].IsVoter);
        s.Round(2 * s.Options.ElectionTicks + 1);
        var heard = s.CountDelivered(m => m.To == "C");
        s.Round(5);
        s.Propose("A", "after");
        s.Round(5);
        Assert.Equal(heard, s.CountDelivered(m => m.To == "C"));
        Assert.Equal(2, s["A"].Quorum);
    }

    [Fact]
    public void AVoterRemovedWhileItWasDownLearnsItFromTheGroupWhenItStandsAgain()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.Crash("C");
        s.AddNode("D");
        Assert.True(s.ProposeConfiguration("A", Abc, ["D"]).Accepted);
        s.RoundsUntil(() => s["A"].ConfigurationCommitted && s["D"].CommitIndex == s["A"].CommitIndex);
        Assert.True(s.ProposeConfiguration("A", Abcd).Accepted);
        s.RoundsUntil(() => s["A"].ConfigurationCommitted);
        Assert.True(s.ProposeConfiguration("A", ["A", "B", "D"]).Accepted);
        s.RoundsUntil(() => s["A"].ConfigurationCommitted);
        s.Round(3 * s.Options.ElectionTicks); // the leader has long stopped talking to C

        // C comes back believing it is a voter of A,B,C. The voters ignore its pre-votes under
        // their lease, but answer that they committed a configuration without it.
        s.Restart("C");
        Assert.True(s["C"].IsVoter);
        s.RoundsUntil(() => s["C"].Removed, 400);
        Assert.True(s["C"].RemovedByPeer);
        s.Tick("C", 10 * s.Options.ElectionTicks);
        Assert.Equal(RaftRole.Follower, s["C"].Role);
        Assert.Equal(["A"], s.Leaders);
    }

    [Fact]
    public void AnUncommittedChangeCutOffWithItsLeaderIsUndoneWhenTheLogIsTruncated()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.AddNode("D");
        s.Isolate("A");
        Assert.True(s.ProposeConfiguration("A", Abc, ["D"]).Accepted);
        Assert.Equal(["D"], s["A"].Learners); // in force on append, before commit
        s.RoundsUntil(() => s.Leaders.Any(l => l != "A"), 400);
        var leader = s.Leaders.First(l => l != "A");
        s.Propose(leader, "y");
        s.Heal();
        s.RoundsUntil(() => s.CommittedPayloads("A").Contains("y"), 400);
        Assert.Empty(s["A"].Learners);
        Assert.Equal(Abc, s["A"].Voters);
    }

    [Fact]
    public void TheConfigurationSurvivesARestartAndTravelsInSnapshots()
    {
        var s = ElectionScenarios.ElectedGroup(output, segmentBytesMax: 256);
        s.AddNode("D");
        Assert.True(s.ProposeConfiguration("A", Abc, ["D"]).Accepted);
        s.RoundsUntil(() => s["A"].ConfigurationCommitted && s["D"].CommitIndex == s["A"].CommitIndex);
        Assert.True(s.ProposeConfiguration("A", Abcd).Accepted);
        s.RoundsUntil(() => s["A"].ConfigurationCommitted && s["D"].IsVoter);

        s.Crash("D");
        s.Restart("D");
        Assert.True(s["D"].IsVoter);
        Assert.Equal(Abcd, s["D"].Voters);

        // Compact the leader past both configuration entries: a newcomer gets the snapshot and,
        // with it, the membership those entries set.
        s.ProposeMany("A", "z", 20);
        s.Round(5);
        s.Compact("A", s["A"].CommitIndex);
        Assert.True(s["A"].FirstIndex > 3);
        s.Crash("A");
        s.Restart("A");
        Assert.Equal(Abcd, s["A"].Voters);
        s.RoundsUntil(() => s.Leaders.Count == 1 && s[s.Leaders[0]].LeaderWithCurrentCommit, 400);
        var leader = s.Leaders[0];
        if (leader != "A")
        {
            s.Compact(leader, s[leader].CommitIndex);
        }
        s.AddNode("E");
        Assert.True(s.ProposeConfiguration(leader, Abcd, ["E"]).Accepted);
        s.RoundsUntil(() => s["E"].CommitIndex == s[leader].CommitIndex && s[leader].ConfigurationCommitted, 400);
        Assert.Equal(Abcd, s["E"].Voters);
        Assert.Equal(["E"], s["E"].Learners);
        Assert.Equal(20, s.CommittedPayloads("E").Count(p => p.StartsWith('z')));
    }

    [Fact]
    public void AMalformedConfigurationEntryIsRefusedBeforeItReachesTheLog()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        var last = s["B"].LastIndex;
        foreach (var data in new[] { new byte[] { 2, 0xFF, 0xFF }, new RaftConfig().ToByteArray().Prepend((byte)2).ToArray() })
        {
            s.Inject(new RaftMessage
            {
                Type = RaftMessageType.Append, Group = RaftScenario.Group, From = "A", To = "B", Term = s["A"].Term,
                Index = last, LogTerm = s["A"].Term, Commit = 1,
                Entries = { new RaftEntry { Index = last + 1, Term = s["A"].Term, Data = ByteString.CopyFrom(data) } },
            });
            s.DeliverOnly("A", "B");
            Assert.Equal(last, s["B"].LastIndex);
            Assert.Equal(Abc, s["B"].Voters);
        }
        Assert.Equal(2, s["B"].RefusedCount);
    }

    [Fact]
    public void SingleChangeRuleCountsOnlyVoters()
    {
        var abc = new RaftConfiguration(Abc);
        Assert.True(new RaftConfiguration(Abc, ["D", "E"]).IsSingleChangeFrom(abc));
        Assert.True(new RaftConfiguration(Abcd).IsSingleChangeFrom(new RaftConfiguration(Abc, ["D"])));
        Assert.True(new RaftConfiguration(["A", "B"], ["C"]).IsSingleChangeFrom(abc));
        Assert.False(new RaftConfiguration(["A", "B", "D"]).IsSingleChangeFrom(abc));
        var decoded = RaftConfiguration.TryDecode(new RaftConfiguration(["B", "A"], ["C"]).Encode(), out var error);
        Assert.Null(error);
        Assert.Equal(["A", "B"], decoded!.Voters);
        Assert.Null(RaftConfiguration.TryDecode(new RaftConfig { Voters = { "A", "A" } }.ToByteArray(), out error));
        Assert.Contains("twice", error);
    }
}

using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Protocol.V1;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Braid.Core.Tests.Raft;

/// <summary>
/// Forged and malformed Raft messages (issue 11, findings 1 and 2): each is refused without a
/// state change, and the group goes on electing and committing.
/// </summary>
public sealed class HostileMessageScenarios(ITestOutputHelper output)
{
    private static RaftMessage Forged(RaftMessageType type, string from, string to, ulong term) =>
        new() { Type = type, Group = RaftScenario.Group, From = from, To = to, Term = term };

    private static void AssertStillCommits(RaftScenario s, string leader, string payload)
    {
        Assert.True(s.Propose(leader, payload).Accepted);
        var index = s[leader].LastIndex;
        s.RoundsUntil(() => s.Ids.All(id => s[id].CommitIndex >= index));
    }

    [Fact]
    public void AnAppendAtTheLargestTermIsRefusedAndTheGroupKeepsItsTerm()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.Inject(Forged(RaftMessageType.Append, "B", "A", ulong.MaxValue));
        s.Inject(Forged(RaftMessageType.Append, "A", "C", RaftNode.TermMax + 1));
        s.Deliver();
        s.Round(4 * s.Options.ElectionTicks);

        Assert.All(s.Ids, id => Assert.Equal(1ul, s[id].Term));
        Assert.Equal(["A"], s.Leaders);
        Assert.Equal(1, s["A"].RefusedCount);
        Assert.Contains("term", s["A"].LastRefusal);
        AssertStillCommits(s, "A", "x");
    }

    [Fact]
    public void ANodeWhoseDiskHoldsAnAbsurdTermStartsAndRejoins()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        s.Crash("C");
        // What a node that accepted the forged term before terms were bounded left on its disk.
        new HardStateStore(s.DeviceOf("C")).Save(new HardState(ulong.MaxValue, null, 1));
        s.Restart("C");
        Assert.Equal(1ul, s["C"].Term); // the last term of its log

        s.Round(4 * s.Options.ElectionTicks); // it neither campaigns nor crashes
        Assert.Equal(["A"], s.Leaders);
        AssertStillCommits(s, "A", "x");
        Assert.Equal(s.Committed("A"), s.Committed("C"));
    }

    [Fact]
    public void AnAcknowledgementBeyondTheLeadersLogIsRefusedAndCommitsNothing()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        // "B holds everything up to 5" while A holds 1 entry: were it believed, B would count
        // towards the quorum of entries that only A's disk holds.
        var lie = Forged(RaftMessageType.AppendResponse, "B", "A", 1);
        lie.Index = 5;
        s.Inject(lie);
        s.DeliverOnly("B", "A");
        s.Isolate("B");
        s.Isolate("C");
        s.ProposeMany("A", "x", 4);
        s.Round(3);

        Assert.Equal(5ul, s["A"].LastIndex);
        Assert.Equal(1ul, s["A"].CommitIndex);
        Assert.Equal(1, s["A"].RefusedCount);
    }

    [Fact]
    public void AppendsWithBrokenEntriesAreRefusedWithoutTouchingTheLog()
    {
        var s = ElectionScenarios.ElectedGroup(output);
        AssertStillCommits(s, "A", "x"); // B holds 1..2, committed
        var before = s.LogOf("B");

        RaftMessage Append(params (ulong Index, ulong Term, byte[] Data)[] entries)
        {
            var m = Forged(RaftMessageType.Append, "A", "B", 1);
            m.Index = entries.Length > 0 ? entries[0].Index - 1 : 0;
            m.LogTerm = m.Index == 0 ? 0ul : 1ul;
            m.Commit = 2;
            foreach (var (index, term, data) in entries) m.Entries.Add(new RaftEntry { Index = index, Term = term, Data = ByteString.CopyFrom(data) });
            return m;
        }
        byte[] normal = [1, (byte)'y'];
        s.Inject(Append((3, 1, normal), (5, 1, normal)));  // gap
        s.Inject(Append((3, 1, normal), (4, 0, normal)));  // term goes back
        s.Inject(Append((3, 2, normal)));                  // term above the message's
        s.Inject(Append((3, 1, [])));                      // no kind byte
        s.Inject(Append((3, 1, [7, 1])));                  // unknown kind
        var conflict = Append((2, 2, normal));             // rewrites committed entry 2@1
        conflict.Term = 2;
        s.Inject(conflict);
        s.DeliverOnly("A", "B");

        Assert.True(s["B"].RefusedCount == 6, $"refused {s["B"].RefusedCount}: {s["B"].LastRefusal}");
        Assert.Equal(1ul, s["B"].Term);
        Assert.Equal(2ul, s["B"].CommitIndex);
        Assert.Equal(before, s.LogOf("B"));
    }
}

using Braid.Protocol.V1;

namespace Braid.Core.Raft;

/// <summary>
/// Instant crash failover (issue 14, item 6). Raft alone notices a dead leader only when the
/// election timeout runs out (0.5-1 s here), although a kill -9 breaks the leader's TCP links at
/// once and the overlay's link-state routing knows within milliseconds that the node can no
/// longer be reached. The host tells each replica (<see cref="PeerUnreachable"/>); a follower whose
/// leader is the unreachable node forgets it, which ends its CheckQuorum lease, and one follower,
/// chosen by a rule every replica computes alike (<see cref="ShouldCampaign"/>), campaigns at once.
/// PreVote still applies: the other followers grant the pre-vote only once they too have stopped
/// hearing the leader, so a flaky link between a live leader and one follower deposes nobody.
/// etcd has the same hook (MsgForgetLeader); CockroachDB uses node liveness for quiescent ranges.
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>True once <see cref="Retire"/> was called: this replica's node is shutting down.</summary>
    public bool Retiring { get; private set; }

    /// <summary>The node is shutting down (graceful stop): this replica no longer campaigns, on a
    /// timeout, a failure report or a TimeoutNow, so leadership handed off stays handed off.
    /// Never campaigning is always safe; it still votes, so it can help elect its successor.</summary>
    public void Retire() => Retiring = true;

    /// <summary>The latest vote request ignored under the lease: its sender may have learnt of the
    /// leader's failure before this node did. Answered if <see cref="PeerUnreachable"/> ends the lease.</summary>
    private RaftMessage? leaseIgnoredVoteRequest;

    /// <summary>
    /// The failure detector says <paramref name="node"/> cannot be reached from here (no route at
    /// all, not just a broken link). If it is this follower's leader, the leader is forgotten;
    /// with <paramref name="campaign"/> this replica starts an election (a pre-vote) at once.
    /// </summary>
    public void PeerUnreachable(string node, bool campaign)
    {
        // A quiescent leader that loses a follower heartbeats again: CheckQuorum must be able to
        // depose it if it is the one cut off (a quiescent leader never steps down by itself).
        if (Role == RaftRole.Leader)
        {
            if (peers.Contains(node)) Wake();
            return;
        }
        if (Leader is null || Leader != node) return;
        quiescent = false;
        Leader = null;
        pending.StateChanged = true;
        if (leaseIgnoredVoteRequest is { } waiting)
        {
            leaseIgnoredVoteRequest = null;
            if (waiting.Term > Term) Step(waiting);
        }
        if (campaign && IsVoter && !Retiring && Role == RaftRole.Follower && !votesWithheld && Term < TermMax) Campaign(options.PreVote, transfer: false);
    }

    /// <summary>The failure detector says <paramref name="node"/> can be reached again (it
    /// restarted, or a partition healed): a quiescent leader heartbeats again, so it catches up.</summary>
    public void PeerReachable(string node)
    {
        if (Role == RaftRole.Leader && peers.Contains(node)) Wake();
    }

    /// <summary>
    /// Which follower campaigns when the leader <paramref name="dead"/> becomes unreachable: the
    /// first voter, in the group's voter order (placement order: the preferred leader first), that
    /// is neither the dead node nor unreachable. Every replica computes the same answer from its
    /// own view, so usually exactly one campaigns (a split vote costs a normal election timeout).
    /// </summary>
    public static bool ShouldCampaign(IReadOnlyList<string> voters, string self, string dead, Func<string, bool> reachable)
    {
        ArgumentNullException.ThrowIfNull(voters);
        ArgumentNullException.ThrowIfNull(reachable);
        foreach (var v in voters)
        {
            if (v == dead) continue;
            if (v == self) return true;
            if (reachable(v)) return false;
        }
        return false;
    }
}

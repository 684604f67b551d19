namespace Braid.Core.Raft;

/// <summary>
/// Quiescence (issue 14, item 5), after CockroachDB's quiesced ranges: an idle group whose
/// followers have everything stops heartbeating, and its followers stop their election timers,
/// so an idle node with many partitions costs almost nothing. The leader's last heartbeat says so
/// (<c>quiesce</c>); anything that happens wakes the group: a proposal, a transfer, a vote
/// request, a refused append, the host reporting a peer lost or back. A quiescent leader's death
/// is noticed through the host's failure detector (<see cref="PeerUnreachable"/>): the same hook
/// as instant failover, so the followers campaign at once. A quiescent leader cut off from its
/// followers wakes when they become unreachable, and CheckQuorum deposes it as before.
/// </summary>
public sealed partial class RaftNode
{
    private bool quiescent;
    private long lastActivityTick;

    /// <summary>True while this replica is quiescent (no heartbeats sent or expected).</summary>
    public bool Quiescent => quiescent;

    /// <summary>Leaves quiescence: a leader heartbeats at the next round, a follower's election
    /// timer runs again.</summary>
    public void Wake()
    {
        lastActivityTick = ticks;
        if (!quiescent) return;
        quiescent = false;
        electionElapsed = 0;
    }

    /// <summary>Asked to fix a query snapshot: true when this replica leads with a commit of its own
    /// term. A quiescent leader heartbeats again, so that CheckQuorum bounds how long a deposed one
    /// that does not know it yet can be believed (as without quiescence); its followers wake with
    /// its first heartbeat.</summary>
    public bool ServeRead()
    {
        if (quiescent && Role == RaftRole.Leader) Wake();
        return LeaderWithCurrentCommit;
    }

    /// <summary>At a leader's heartbeat round: quiesce when idle long enough and every follower
    /// holds (and has been told to commit) everything; returns true when it just did.</summary>
    private bool TryQuiesce()
    {
        if (options.QuiesceTicks <= 0 || quiescent || leadTransferee is not null) return false;
        if (ticks - lastActivityTick < options.QuiesceTicks) return false;
        if (CommitIndex != log.LastIndex || TermAtOrZero(CommitIndex) != Term) return false;
        foreach (var peer in progresses.Keys)
        {
            var p = progresses[peer];
            if (p.Match != log.LastIndex || !p.RecentActive || p.Inflight.Count > 0 || p.PendingSnapshot > 0) return false;
        }
        foreach (var peer in progresses.Keys) SendHeartbeat(peer, quiesce: true);
        quiescent = true;
        return true;
    }
}

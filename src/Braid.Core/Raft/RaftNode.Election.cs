using Braid.Protocol.V1;

namespace Braid.Core.Raft;

/// <summary>Terms, elections (with PreVote), CheckQuorum and leadership transfer.</summary>
public sealed partial class RaftNode
{
    private readonly Dictionary<string, bool> votes = new(StringComparer.Ordinal);
    private int electionElapsed;
    /// <summary>Ticks since this node started. Heartbeats go out when it is a multiple of
    /// <see cref="RaftOptions.HeartbeatTicks"/>, not on a per-term timer: the groups of one host
    /// start and tick together, so all their heartbeats to a node leave in the same round and
    /// share one envelope (CockroachDB coalesces heartbeats per node pair for the same reason).</summary>
    private long ticks;
    private int randomizedElectionTimeout;
    private string? leadTransferee;
    private int transferElapsed;

    /// <summary>Asks the leader to hand leadership to <paramref name="target"/> once it is caught up.</summary>
    public bool TransferLeadership(string target)
    {
        if (Role != RaftRole.Leader || target == Id || !Configuration.IsVoter(target)) return false;
        Wake();
        leadTransferee = target;
        transferElapsed = 0;
        var progress = progresses[target];
        if (progress.Match == log.LastIndex) Send(new RaftMessage { Type = RaftMessageType.TimeoutNow, To = target });
        else SendAppend(target);
        return true;
    }

    /// <summary>
    /// Term rules shared by every message (Raft figure 2, plus PreVote and the CheckQuorum lease).
    /// Returns false when the message must be dropped.
    /// </summary>
    private bool CheckTerm(RaftMessage m)
    {
        if (m.Term > Term)
        {
            var isVoteRequest = m.Type is RaftMessageType.PreVote or RaftMessageType.Vote;
            // While a live leader is heard, ignore disruptive candidates (thesis 4.2.3): a node cut
            // off and rejoining must not depose a healthy leader.
            // The leader itself asking for votes has lost its leadership (it restarted, or its
            // replica reopened): no lease to keep for it.
            if (isVoteRequest && Leader == m.From && Role != RaftRole.Leader)
            {
                Leader = null;
                quiescent = false;
            }
            if (isVoteRequest && Role == RaftRole.Leader) Wake(); // someone lost us: heartbeat again
            if (isVoteRequest && !m.Transfer && options.CheckQuorum && Leader is not null && electionElapsed < options.ElectionTicks)
            {
                leaseIgnoredVoteRequest = m;
                return false;
            }
            if (m.Type == RaftMessageType.PreVote) return true; // answered without changing term
            if (m.Type == RaftMessageType.PreVoteResponse && !m.Reject) return true;
            BecomeFollower(m.Term, m.Type is RaftMessageType.Append or RaftMessageType.InstallSnapshot ? m.From : null);
            return true;
        }
        if (m.Term < Term)
        {
            // A stale leader learns the newer term from our answer and steps down; a stale
            // pre-candidate learns it will not win.
            if (m.Type is RaftMessageType.Append or RaftMessageType.InstallSnapshot) Send(new RaftMessage { Type = RaftMessageType.AppendResponse, To = m.From, Reject = true, Index = m.Index });
            else if (m.Type == RaftMessageType.PreVote) Send(new RaftMessage { Type = RaftMessageType.PreVoteResponse, To = m.From, Reject = true });
            return false;
        }
        return true;
    }

    private void TickElection()
    {
        if (quiescent && Leader is not null) return; // the leader's silence is expected (quiescence)
        electionElapsed++;
        if (electionElapsed < randomizedElectionTimeout) return;
        if (votesWithheld || Retiring || Term >= TermMax || !IsVoter || RemovedByPeer || Recovering)
        {
            ProbeMembership();
            // Withheld: see RecoverAbsurdTerm. At TermMax: a new term would leave the bound;
            // unreachable unless forged, and waiting for a leader is safe where overflow is not.
            // Not a voter (a learner, or removed): only voters stand.
            electionElapsed = 0;
            return;
        }
        Campaign(options.PreVote, transfer: false);
    }

    /// <summary>True after <see cref="RecoverAbsurdTerm"/> until a leader has brought this node up
    /// to its commit index: the node neither votes nor campaigns.</summary>
    private bool votesWithheld;

    /// <summary>
    /// The hard state holds a term above <see cref="TermMax"/>: written by a node that accepted a
    /// forged message (before terms were bounded) or corrupt. Keeping it would leave the replica
    /// refusing every real leader for good; crashing on it is what issue 11 saw (a crash loop).
    /// The term goes back to the last term of the log, the highest real term this node is known
    /// to have seen, with no vote. The vote record of the real term it may have reached was lost
    /// when the absurd term overwrote it, so, as a replica that lost its state, it withholds its
    /// vote (and does not campaign) until a leader has caught it up to that leader's commit index.
    /// Entries above the commit index carrying an absurd term never came from a real leader and go.
    /// </summary>
    private void RecoverAbsurdTerm()
    {
        var first = Math.Max(CommitIndex, log.FirstIndex - 1) + 1;
        for (var i = first; i <= log.LastIndex; i++)
        {
            if (log.TermAt(i) <= TermMax) continue;
            log.TruncateSuffix(i);
            break;
        }
        Invariant.Check(LastLogTerm <= TermMax, $"committed entries of group {Group} carry a term above {TermMax}");
        Term = LastLogTerm;
        VotedFor = null;
        hardStateDirty = true;
        votesWithheld = true;
    }

    private void TickLeader()
    {
        if (StepDownIfRemoved()) return;
        if (quiescent)
        {
            // Nothing to say, nobody to check: see RaftNode.Quiescence.cs.
            electionElapsed = 0;
            return;
        }
        electionElapsed++;
        if (electionElapsed >= options.ElectionTicks)
        {
            electionElapsed = 0;
            if (options.CheckQuorum && !QuorumActive())
            {
                BecomeFollower(Term, null);
                return;
            }
        }
        if (leadTransferee is not null && ++transferElapsed >= options.ElectionTicks) leadTransferee = null;
        foreach (var p in progresses.Values)
        {
            if (p.SnapshotWaitTicks > 0) p.SnapshotWaitTicks--;
        }
        // Idle followers hear a heartbeat every HeartbeatTicks; a follower with appends in flight
        // hears one every tick: under load its appends queue behind megabytes on the links, and
        // sparse heartbeats let its election timer run out (measured: 2-3x the failovers during
        // a full-speed load on mini2).
        var roundDue = ticks % options.HeartbeatTicks == 0;
        PruneDeparted();
        if (roundDue && TryQuiesce()) return;
        foreach (var peer in progresses.Keys)
        {
            if (roundDue || progresses[peer].Inflight.Count > 0) SendHeartbeat(peer);
        }
    }

    private bool QuorumActive()
    {
        var active = (IsVoter ? 1 : 0) + Voters.Count(v => v != Id && progresses.TryGetValue(v, out var p) && p.RecentActive);
        foreach (var p in progresses.Values) p.RecentActive = false;
        return active >= Quorum;
    }

    private void Campaign(bool preVote, bool transfer)
    {
        if (Recovering || !IsVoter || RemovedByPeer)
        {
            // Recovering: it may have lost committed entries, not a candidate (RaftNode.Recovery.cs).
            electionElapsed = 0;
            return;
        }
        votes.Clear();
        quiescent = false;
        if (preVote)
        {
            Role = RaftRole.PreCandidate;
            Leader = null;
            pending.StateChanged = true;
        }
        else
        {
            SetTerm(Term + 1);
            VotedFor = Id;
            hardStateDirty = true;
            Role = RaftRole.Candidate;
            Leader = null;
            pending.StateChanged = true;
        }
        electionElapsed = 0;
        ResetElectionTimeout();
        votes[Id] = true;
        if (GrantedVotes() >= Quorum)
        {
            WinVote(preVote);
            return;
        }
        var type = preVote ? RaftMessageType.PreVote : RaftMessageType.Vote;
        var asked = preVote ? Voters.Union(MembershipContacts) : Voters;
        foreach (var peer in asked.Where(v => v != Id))
        {
            Send(new RaftMessage
            {
                Type = type, To = peer, Term = preVote ? Term + 1 : Term,
                Index = log.LastIndex, LogTerm = LastLogTerm, Transfer = transfer,
            });
        }
    }

    private void HandleVoteRequest(RaftMessage m)
    {
        var preVote = m.Type == RaftMessageType.PreVote;
        var canVote = !votesWithheld && (VotedFor == m.From
            || VotedFor is null && Leader is null
            || preVote && m.Term > Term);
        var grant = canVote && !Recovering && IsUpToDate(m.Index, m.LogTerm);
        var response = preVote ? RaftMessageType.PreVoteResponse : RaftMessageType.VoteResponse;
        if (!grant)
        {
            Send(new RaftMessage { Type = response, To = m.From, Reject = true });
            return;
        }
        if (!preVote)
        {
            VotedFor = m.From;
            hardStateDirty = true;
            electionElapsed = 0;
        }
        // A pre-vote grant carries the term the candidate will use, so it is not taken for stale.
        Send(new RaftMessage { Type = response, To = m.From, Term = m.Term });
    }

    private void HandleVoteResponse(RaftMessage m)
    {
        var preVote = m.Type == RaftMessageType.PreVoteResponse;
        if (preVote ? Role != RaftRole.PreCandidate : Role != RaftRole.Candidate) return;
        if (!Configuration.IsVoter(m.From)) return; // only voters' answers count
        votes[m.From] = !m.Reject;
        var granted = GrantedVotes();
        var rejected = votes.Count(v => !v.Value && Configuration.IsVoter(v.Key));
        if (granted >= Quorum) WinVote(preVote);
        else if (rejected >= Quorum) BecomeFollower(Term, null);
    }

    private int GrantedVotes() => votes.Count(v => v.Value && Configuration.IsVoter(v.Key));

    private void WinVote(bool preVote)
    {
        if (preVote) Campaign(preVote: false, transfer: false);
        else BecomeLeader();
    }

    private void BecomeFollower(ulong term, string? leader)
    {
        quiescent = false;
        SetTerm(term);
        Role = RaftRole.Follower;
        Leader = leader;
        leadTransferee = null;
        electionElapsed = 0;
        ResetElectionTimeout();
        pending.StateChanged = true;
    }

    private void BecomeLeader()
    {
        quiescent = false;
        lastActivityTick = ticks;
        Invariant.Check(Role == RaftRole.Candidate, "only a candidate becomes leader");
        Role = RaftRole.Leader;
        Leader = Id;
        leadTransferee = null;
        electionElapsed = 0;
        pending.StateChanged = true;
        ResetProgress();
        AppendLocal(EntryNoop, []);
        BroadcastAppend();
    }

    private void ResetElectionTimeout() =>
        randomizedElectionTimeout = options.ElectionTicks + random.Next(options.ElectionTicks);
}

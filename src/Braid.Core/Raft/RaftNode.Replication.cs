using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Core.Raft;

/// <summary>Log replication: pipelined appends with a bounded window, conflict resolution, commit.</summary>
public sealed partial class RaftNode
{
    private readonly Dictionary<string, Progress> progresses = new(StringComparer.Ordinal);

    /// <summary>What the leader knows of one follower (etcd's Progress). In probe state one append
    /// is outstanding at a time until the match point is found; in replicate state appends are
    /// pipelined up to <see cref="RaftOptions.InflightMax"/>.</summary>
    private sealed class Progress
    {
        public ulong Match;
        public ulong Next;
        public bool Replicating;
        public bool RecentActive;

        /// <summary>Ticks to wait before sending a snapshot again (one is outstanding).</summary>
        public int SnapshotWaitTicks;

        /// <summary>Index of the snapshot last sent; an acknowledgement reaching it ends the wait.</summary>
        public ulong PendingSnapshot;
        public readonly Queue<ulong> Inflight = new();
    }

    /// <summary>Index up to which <paramref name="peer"/> is known to match (leaders only), for checkers and transfer.</summary>
    public ulong MatchOf(string peer) => progresses.TryGetValue(peer, out var p) ? p.Match : 0;

    private void ResetProgress()
    {
        progresses.Clear();
        foreach (var peer in peers) progresses[peer] = new Progress { Next = log.LastIndex + 1, RecentActive = true };
    }

    private void BroadcastAppend()
    {
        foreach (var peer in progresses.Keys) SendAppend(peer);
    }

    /// <summary>Sends the next run of entries the follower lacks, if the window allows.</summary>
    /// <param name="allowEmpty">Send even with nothing new: an empty append at the optimistic
    /// next index makes the follower report how far it really is (its last answer may be lost).</param>
    private void SendAppend(string peer, bool allowEmpty = false)
    {
        var p = progresses[peer];
        var windowFull = p.Replicating ? p.Inflight.Count >= options.InflightMax : p.Inflight.Count >= 1;
        if (windowFull) return;
        if (p.Next < log.FirstIndex || !TermKnown(p.Next - 1))
        {
            // The next entry, or the one before it whose term the follower must match, is
            // compacted away: only the snapshot can bring the follower up.
            SendSnapshot(peer, p);
            return;
        }
        if (p.Next > log.LastIndex && p.Replicating && !allowEmpty) return; // nothing new
        var prev = p.Next - 1;
        var m = new RaftMessage { Type = RaftMessageType.Append, To = peer, Index = prev, LogTerm = TermAtOrZero(prev), Commit = CommitIndex };
        if (p.Next <= log.LastIndex)
        {
            var last = Math.Min(log.LastIndex, p.Next + (ulong)options.AppendEntriesMax - 1);
            // Each read returns a fresh buffer that nothing changes afterwards, so the message
            // may share it rather than copy every payload once more.
            foreach (var e in log.Read(p.Next, last, options.AppendBytesMax))
                m.Entries.Add(new RaftEntry { Index = e.Index, Term = e.Term, Data = UnsafeByteOperations.UnsafeWrap(e.Payload) });
        }
        var sentLast = prev + (ulong)m.Entries.Count;
        p.Inflight.Enqueue(sentLast);
        if (p.Replicating) p.Next = sentLast + 1;
        Send(m);
    }

    /// <summary>A heartbeat asserts leadership and carries a commit index the follower can use:
    /// never above what the follower is known to hold.</summary>
    private void SendHeartbeat(string peer, bool quiesce = false)
    {
        var p = progresses[peer];
        // Below the retained log the match point's term is gone: anchor at 0, which always
        // matches, so the answer still tells us how far the follower is.
        var anchor = TermKnown(p.Match) ? p.Match : 0;
        Send(new RaftMessage
        {
            Type = RaftMessageType.Append, To = peer, Index = anchor, LogTerm = TermAtOrZero(anchor),
            Commit = Math.Min(CommitIndex, anchor), Quiesce = quiesce,
        });
    }

    private void HandleAppend(RaftMessage m)
    {
        if (Role != RaftRole.Follower) BecomeFollower(Term, m.From);
        Leader = m.From;
        electionElapsed = 0;
        TicksWithoutLeader = 0;
        // Quiescent only after the leader's quiesce heartbeat that leaves nothing to do here;
        // any other append wakes the follower.
        quiescent = m.Quiesce && m.Entries.Count == 0 && m.Index == log.LastIndex && TermAtOrZero(m.Index) == m.LogTerm && m.Commit == m.Index;
        if (m.Index < CommitIndex)
        {
            // Everything up to our commit index matches the leader's log already.
            NoteRecovery(m);
            Send(new RaftMessage { Type = RaftMessageType.AppendResponse, To = m.From, Index = CommitIndex });
            return;
        }
        if (m.Index > log.LastIndex || TermAtOrZero(m.Index) != m.LogTerm)
        {
            RejectAppend(m);
            return;
        }
        foreach (var e in m.Entries)
        {
            if (e.Index <= log.LastIndex)
            {
                if (log.TermAt(e.Index) == e.Term) continue;
                Invariant.Check(e.Index > CommitIndex, $"conflict at committed index {e.Index} (commit {CommitIndex})");
                log.TruncateSuffix(e.Index);
                ConfigurationTruncated(e.Index);
            }
            Invariant.Check(e.Index == log.LastIndex + 1, $"append gap: entry {e.Index} after {log.LastIndex}");
            log.AppendShared(e.Term, e.Data.Memory); // a received message's bytes never change
            if (e.Data.Span[0] == EntryConfig) ConfigurationAppended(e.Index, RaftConfiguration.TryDecode(e.Data.Span[1..], out _)!);
        }
        var lastNew = m.Index + (ulong)m.Entries.Count;
        var commit = Math.Min(m.Commit, lastNew);
        if (commit > CommitIndex) CommitIndex = commit;
        if (votesWithheld && CommitIndex >= m.Commit) votesWithheld = false; // caught up: see RecoverAbsurdTerm
        NoteRecovery(m);
        Send(new RaftMessage { Type = RaftMessageType.AppendResponse, To = m.From, Index = lastNew });
    }

    /// <summary>Rejects with a hint: the highest index whose term is at most the leader's
    /// prev term, and that entry's term (in <c>log_term</c>), so the leader can skip a whole
    /// conflicting term of either log in one round trip (etcd's findConflictByTerm).</summary>
    private void RejectAppend(RaftMessage m)
    {
        var hint = Math.Min(m.Index, log.LastIndex);
        while (hint > CommitIndex && hint >= log.FirstIndex && log.TermAt(hint) > m.LogTerm) hint--;
        Send(new RaftMessage
        {
            Type = RaftMessageType.AppendResponse, To = m.From, Reject = true, Index = m.Index,
            RejectHint = hint, LogTerm = TermAtOrZero(hint),
        });
    }

    /// <summary>Where to probe next after a rejection: the follower's hint, moved back past every
    /// entry of ours whose term is above the follower's term at the hint. Those cannot match: the
    /// follower's terms up to the hint are at most that term. Without this step a follower holding
    /// a long suffix of an old term costs one round trip per entry.</summary>
    private ulong NextProbe(Progress p, RaftMessage m)
    {
        var probe = Math.Min(m.RejectHint, log.LastIndex);
        if (m.LogTerm > 0)
        {
            while (probe > p.Match && probe >= log.FirstIndex && log.TermAt(probe) > m.LogTerm) probe--;
        }
        return Math.Max(p.Match + 1, Math.Min(m.Index, probe + 1));
    }

    private void HandleAppendResponse(RaftMessage m)
    {
        if (Role != RaftRole.Leader || !progresses.TryGetValue(m.From, out var p)) return; // not (or no longer) a member
        p.RecentActive = true;
        if (m.Reject)
        {
            Wake();
            // Stale, unless the follower no longer holds what it acknowledged (a damaged or
            // wiped disk, issue 11): then its hint is below its match point, and we resend.
            if (m.Index < p.Match || m.Index == p.Match && m.RejectHint >= p.Match) return;
            if (m.RejectHint < p.Match) p.Match = m.RejectHint;
            p.Next = NextProbe(p, m);
            p.Replicating = false;
            p.Inflight.Clear();
            SendAppend(m.From);
            return;
        }
        while (p.Inflight.Count > 0 && p.Inflight.Peek() <= m.Index) p.Inflight.Dequeue();
        if (m.Index > p.Match)
        {
            p.Match = m.Index;
            if (p.Match >= p.PendingSnapshot) p.SnapshotWaitTicks = 0;
            if (!p.Replicating)
            {
                p.Replicating = true;
                p.Inflight.Clear();
            }
            p.Next = Math.Max(p.Next, p.Match + 1);
            MaybeCommit();
        }
        else if (p.Inflight.Count > 0 && p.Replicating)
        {
            // A heartbeat answer with the window still full: an append was lost; free a slot
            // so the follower's rejection of the next one can lead us back (etcd does the same).
            p.Inflight.Dequeue();
        }
        else if (!p.Replicating)
        {
            p.Inflight.Clear();
        }
        if (leadTransferee == m.From && p.Match == log.LastIndex)
            Send(new RaftMessage { Type = RaftMessageType.TimeoutNow, To = m.From });
        if (p.Match < log.LastIndex && p.Next > log.LastIndex) SendAppend(m.From, allowEmpty: true);
        while (p.Next <= log.LastIndex && !(p.Replicating ? p.Inflight.Count >= options.InflightMax : p.Inflight.Count >= 1))
        {
            var before = p.Inflight.Count;
            SendAppend(m.From);
            if (p.Inflight.Count == before || !p.Replicating) break;
        }
    }

    /// <summary>Commits the highest index held durably by a quorum, if it is of the current term
    /// (Raft 5.4.2: entries of earlier terms are committed only indirectly).</summary>
    private void MaybeCommit()
    {
        // Only voters count, this leader included only while it is one (a leader removing itself
        // commits its removal on the others' logs alone: thesis 4.2.2).
        if (Voters.Count == 0) return;
        var matches = Voters.Select(v => v == Id ? log.LastDurableIndex : progresses.TryGetValue(v, out var p) ? p.Match : 0).OrderDescending().ToArray();
        var candidate = matches[Quorum - 1];
        if (candidate <= CommitIndex || TermAtOrZero(candidate) != Term) return;
        CommitIndex = candidate;
    }
}

using Braid.Core.Log;
using Braid.Protocol.V1;

namespace Braid.Core.Raft;

/// <summary>
/// One replica of one Raft group (Ongaro &amp; Ousterhout, "In Search of an Understandable
/// Consensus Algorithm", 2014), with PreVote and CheckQuorum (Ongaro's thesis, 9.6), pipelined
/// appends with a bounded window, fast backtracking on conflicts and leadership transfer (3.10).
/// A pure state machine in the style of etcd-io/raft: inputs are <see cref="Tick"/>,
/// <see cref="Step"/>, <see cref="Propose"/> and <see cref="TransferLeadership"/>; the output is
/// <see cref="TakeReady"/>. It stores its log and hard state through the injected storage
/// device and draws election jitter from an injected seeded <see cref="Random"/>; it never reads
/// a clock. Split by concern: Election.cs, Replication.cs.
/// </summary>
public sealed partial class RaftNode
{
    private const byte EntryNoop = 0;
    private const byte EntryNormal = 1;

    private readonly RaftOptions options;
    private readonly SegmentedLog log;
    private readonly HardStateStore hardStateStore;
    private readonly SnapshotStore snapshotStore;
    private readonly Random random;
    private string[] peers = [];
    private RaftReady pending = new();
    private bool hardStateDirty;
    private ulong appliedIndex;

    /// <param name="voters">The group's bootstrap voters (its configuration at index 0, the same
    /// on every replica of the group): the replicas of its first placement. A replica joining a
    /// group later may not be among them; it learns the membership from the log.</param>
    /// <param name="snapshotStore">Where the latest snapshot lives (<see cref="Compact"/>, installs).</param>
    public RaftNode(string id, uint group, IReadOnlyCollection<string> voters, SegmentedLog log, HardStateStore hardStateStore, SnapshotStore snapshotStore, Random random, RaftOptions? options = null)
    {
        Invariant.Check(voters.Distinct().Count() == voters.Count, "duplicate voters");
        Id = id;
        Group = group;
        this.log = log;
        this.hardStateStore = hardStateStore;
        this.snapshotStore = snapshotStore;
        this.random = random;
        this.options = options ?? new RaftOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.HeartbeatTicks, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.ElectionTicks, 1, nameof(options));
        var hard = hardStateStore.Load();
        Term = hard.Term;
        VotedFor = hard.VotedFor;
        RecoverSnapshot();
        CommitIndex = Math.Max(SnapshotIndex, Math.Min(hard.CommitIndex, log.LastIndex));
        if (Term > TermMax || LastLogTerm > TermMax) RecoverAbsurdTerm();
        LoadConfiguration(new RaftConfiguration(voters));
        if (LastLogTerm > Term)
        {
            // Entries (or a snapshot) of a newer term reached the disk, but the process died
            // before the hard state recording that term was saved (it is saved in TakeReady,
            // after Step wrote them). No vote in that term can have left this node (votes are
            // sent only after they are saved, with their term), so adopting the term without a
            // vote is safe.
            Term = LastLogTerm;
            VotedFor = null;
            hardStateDirty = true;
        }
        BecomeFollower(Term, null);
    }

    public string Id { get; }
    public uint Group { get; }
    public IReadOnlyList<string> Voters => Configuration.Voters;
    public IReadOnlyList<string> Learners => Configuration.Learners;
    public RaftRole Role { get; private set; }
    public ulong Term { get; private set; }
    public string? VotedFor { get; private set; }
    public string? Leader { get; private set; }
    public ulong CommitIndex { get; private set; }
    public ulong LastIndex => log.LastIndex;
    public int Quorum => Configuration.Quorum;

    /// <summary>A leader whose commit index covers an entry of its own term, so it covers every
    /// entry any earlier leader acknowledged (Raft section 6.4: a new leader's no-op must commit
    /// before it can answer reads).</summary>
    public bool LeaderWithCurrentCommit => Role == RaftRole.Leader && CommitIndex > 0 && TermAtOrZero(CommitIndex) == Term;

    public RaftStatus Status => new(Id, Group, Role, Term, Leader, CommitIndex, appliedIndex, log.LastIndex, log.LastDurableIndex, SnapshotIndex);

    /// <summary>Appends <paramref name="data"/> if this node leads; it is committed once a
    /// quorum has it durably and is then handed out in <see cref="RaftReady.Committed"/>.</summary>
    public ProposeResult Propose(ReadOnlySpan<byte> data)
    {
        if (Role != RaftRole.Leader) return ProposeResult.Rejected(Leader, $"{Id} is not the leader of group {Group}");
        if (leadTransferee is not null) return ProposeResult.Rejected(leadTransferee, $"leadership of group {Group} is moving to {leadTransferee}");
        Wake();
        var index = AppendLocal(EntryNormal, data);
        BroadcastAppend();
        return new ProposeResult(true, index, Term, Id, null);
    }

    /// <summary>The proposer's data inside a log entry written by a Raft node (without the entry-kind byte).</summary>
    public static ReadOnlyMemory<byte> DataOf(Log.LogEntry entry)
    {
        Invariant.Check(entry.Payload.Length >= 1, $"entry {entry.Index} has no kind byte");
        return entry.Payload[1..];
    }

    /// <summary>Advances logical time by one tick.</summary>
    public void Tick()
    {
        ticks++;
        TicksWithoutLeader = Role == RaftRole.Leader ? 0 : TicksWithoutLeader + 1;
        if (Role == RaftRole.Leader) TickLeader();
        else TickElection();
    }

    /// <summary>Takes one message addressed to this replica.</summary>
    public void Step(RaftMessage m)
    {
        // Any node may be a sender: a new leader whose configuration this replica has not seen
        // yet, or a replica that joined the group (thesis 4.1). Who counts is decided by the
        // configuration where it matters: in majorities (votes, matches).
        if (m.Group != Group || m.To != Id || m.From == Id || m.From.Length == 0 || m.From.Length > RaftConfiguration.IdLengthMax) return;
        if (Validate(m) is { } reason)
        {
            Refuse(m, reason);
            return;
        }
        if (AnswerRemoved(m)) return;
        if (!CheckTerm(m)) return;
        switch (m.Type)
        {
            case RaftMessageType.PreVote:
            case RaftMessageType.Vote:
                HandleVoteRequest(m);
                break;
            case RaftMessageType.PreVoteResponse:
            case RaftMessageType.VoteResponse:
                HandleVoteResponse(m);
                break;
            case RaftMessageType.Append:
                HandleAppend(m);
                break;
            case RaftMessageType.AppendResponse:
                HandleAppendResponse(m);
                break;
            case RaftMessageType.InstallSnapshot:
                HandleInstallSnapshot(m);
                break;
            case RaftMessageType.TimeoutNow:
                if (Role == RaftRole.Follower && IsVoter && !votesWithheld && !Retiring && Term < TermMax) Campaign(preVote: false, transfer: true);
                break;
        }
    }

    /// <summary>
    /// Persists what must be durable (hard state, then the log up to its last entry), and only
    /// then hands out the messages that depend on it and the newly committed entries.
    /// </summary>
    public RaftReady TakeReady()
    {
        if (hardStateDirty)
        {
            try
            {
                hardStateStore.Save(new HardState(Term, VotedFor, CommitIndex));
            }
            catch (StorageFullException)
            {
                pending.Messages.Clear(); // they depend on the unsaved state: none may leave (as if lost)
                throw;
            }
            hardStateDirty = false;
        }
        if (log.LastDurableIndex < log.LastIndex)
        {
            log.Sync();
            if (Role == RaftRole.Leader) MaybeCommit();
        }
        CollectCommitted(pending);
        log.ReleaseCachedBefore(CachedNeededFrom());
        var ready = pending;
        pending = new RaftReady();
        return ready;
    }

    /// <summary>True when <see cref="TakeReady"/> has something to hand out or persist.</summary>
    public bool HasReady =>
        !pending.IsEmpty || hardStateDirty || log.LastDurableIndex < log.LastIndex || appliedIndex < CommitIndex;

    /// <summary>
    /// The oldest entry still worth keeping in the log's tail cache: the next one to apply, and on
    /// a leader the next one to send to each follower that keeps up (a lagging or silent one reads
    /// from the device, so it cannot pin the cache).
    /// </summary>
    private ulong CachedNeededFrom()
    {
        var from = appliedIndex + 1;
        if (Role == RaftRole.Leader)
            foreach (var p in progresses.Values)
                if (p.Replicating && p.RecentActive) from = Math.Min(from, p.Next);
        return from;
    }

    private void CollectCommitted(RaftReady ready)
    {
        if (appliedIndex >= CommitIndex) return;
        Invariant.Check(CommitIndex <= log.LastDurableIndex || Role != RaftRole.Leader, "leader committed past its durable log");
        var entries = log.Read(appliedIndex + 1, Math.Min(CommitIndex, log.LastIndex), options.CommittedBytesMax);
        foreach (var e in entries)
        {
            Invariant.Check(e.Index == appliedIndex + 1, $"applied gap at {e.Index}");
            var span = e.Payload.Span;
            Invariant.Check(span.Length >= 1, $"entry {e.Index} has no kind byte");
            // A configuration entry is for Raft alone: the state machine skips it like a no-op.
            ready.Committed.Add(new CommittedEntry(e.Index, e.Term, span[0] != EntryNormal, e.Payload[1..]));
            appliedIndex = e.Index;
        }
    }

    private ulong AppendLocal(byte kind, ReadOnlySpan<byte> data)
    {
        var buffer = new byte[data.Length + 1];
        buffer[0] = kind;
        data.CopyTo(buffer.AsSpan(1));
        return log.AppendShared(Term, buffer);
    }

    private void Send(RaftMessage m)
    {
        m.Group = Group;
        m.From = Id;
        if (m.Term == 0) m.Term = Term;
        pending.Messages.Add(m);
    }

    private void SetTerm(ulong term)
    {
        if (term == Term) return;
        Invariant.Check(term > Term, $"term must not go back from {Term} to {term}");
        Term = term;
        VotedFor = null;
        hardStateDirty = true;
    }

    private ulong TermAtOrZero(ulong index) =>
        index == SnapshotIndex ? SnapshotTerm
        : index == 0 || index > log.LastIndex || index < log.FirstIndex ? 0 : log.TermAt(index);

    private bool IsUpToDate(ulong lastIndex, ulong lastTerm) =>
        lastTerm > LastLogTerm || lastTerm == LastLogTerm && lastIndex >= log.LastIndex;
}

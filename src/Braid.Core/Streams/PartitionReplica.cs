using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Protocol.V1;

namespace Braid.Core.Streams;

/// <summary>Settings of one partition replica.</summary>
/// <param name="RetainBytes">Log bytes kept per replica (0: keep everything, never compact).</param>
/// <param name="CheckpointEveryBytes">Applied entry bytes between state checkpoints (compaction points).</param>
/// <param name="PendingMax">Client appends in flight per partition; more are answered Retry.</param>
/// <param name="RetainTicks">Retention by time: entries applied this many ticks ago may be compacted (0: none).</param>
/// <param name="ProducerIdleEntries">Entries after a producer's last stored batch at which it is
/// forgotten (see <see cref="PartitionState"/>; the same on every replica of a partition).</param>
public sealed record PartitionReplicaOptions(
    RaftOptions Raft,
    long SegmentBytes,
    long RetainBytes = 0,
    long CheckpointEveryBytes = 0,
    int PendingMax = 20_000,
    ulong ProducerIdleEntries = PartitionState.DefaultProducerIdleEntries,
    long RetainTicks = 0,
    long TailCacheBytes = PartitionReplicaOptions.DefaultTailCacheBytes)
{
    /// <summary>
    /// The log's tail cache (<see cref="Log.LogOptions.TailCacheBytes"/>) by default, at most
    /// 16 MiB per replica (about 440 batches of 1,000 air-quality records), so what a leader has
    /// just appended is sent and applied from memory. Raft releases entries once applied and sent
    /// to every follower that keeps up, so a busy replica holds its in-flight entries, not 16 MiB.
    /// </summary>
    public const long DefaultTailCacheBytes = 16L * 1024 * 1024;

    /// <summary>The checkpoint interval in use: a quarter segment unless set.</summary>
    public long CheckpointBytes => CheckpointEveryBytes > 0 ? CheckpointEveryBytes : Math.Max(1, SegmentBytes / 4);
}

/// <summary>
/// One replica of one partition, pure: the Raft node, the replicated partition state (dedup
/// table, record positions), the compaction checkpoints and the client appends waiting for their
/// entry to commit. It takes inputs (<see cref="Tick"/>, <see cref="Step"/>, <see cref="Append"/>,
/// <see cref="Scan"/>) and hands out <see cref="ReplicaOutput"/>s (messages to send, acks with
/// their outcome, what was applied, restored and compacted). The node host and the simulator are
/// two drivers of this very type (as TigerBeetle's simulator runs the real replica), so the rule
/// that decides what a client is told is the rule the simulator checks.
/// </summary>
/// <remarks>
/// The acknowledgement rule: an append is answered Ok only when the entry proposed for it is
/// applied at the index and in the term it was proposed in (Raft section 8: an entry at that
/// index from another term means another leader overwrote it). It is answered Retry when the
/// replica stops leading, when its term changes, when another proposal takes its index, or when
/// a snapshot replaces the state before it applied; a retry is safe because the dedup table is
/// replicated state (exactly-once by (producer, sequence)).
/// Durability order: <see cref="TakeOutput"/> takes the Raft ready, whose hard state and entries
/// are durable before it is handed out (see <see cref="RaftReady"/>); acks are derived from
/// committed entries only, so an ack never precedes a majority's fsync.
/// </remarks>
public sealed partial class PartitionReplica : IDisposable
{
    private readonly SegmentedLog log;
    private readonly IStorageDevice device;
    private readonly ReplicaStorage storage;
    private readonly Dictionary<ulong, Pending> pending = [];
    // Appends in flight per producer, so the leader knows when none can change its dedup verdict.
    private readonly Dictionary<ulong, int> pendingByProducer = [];
    private bool firstOutputTaken;
    private bool recoveryMarked;

    private sealed record Pending(ulong Index, ulong Term, ulong Producer, ulong Sequence, long Ticket);

    /// <summary>Opens the replica's log, hard state and snapshot on <paramref name="device"/>. Damage
    /// is quarantined, not fatal (<see cref="StorageReport"/>); a replica that may have lost
    /// persisted state rejoins without a vote until it has caught up.</summary>
    /// <param name="voters">The partition's first replicas in placement order (the group's bootstrap
    /// configuration, the same on every replica): the first is its preferred leader.</param>
    /// <param name="expectExisting">The node held this replica before this start: an empty
    /// device means its state vanished.</param>
    /// <param name="placement">The group's target replicas now, preferred leader first, when they
    /// differ from <paramref name="voters"/> (the group moved: issue 12).</param>
    /// <param name="joining">The group already runs elsewhere and this replica joins it: if its
    /// storage is empty it neither votes nor stands until a leader has caught it up.</param>
    public PartitionReplica(uint partition, string nodeId, IReadOnlyList<string> voters, IStorageDevice device, Random random,
        PartitionReplicaOptions options, bool expectExisting = false, IReadOnlyList<string>? placement = null, bool joining = false)
    {
        placement ??= voters;
        // A node the placement left may still open its replica: it stays a member of its group
        // until the leader removes it (issue 12), and must help the group until then.
        Invariant.Check(voters.Count > 0 && placement.Count > 0, $"partition {partition}: no replicas");
        Partition = partition;
        Options = options;
        PreferredLeader = placement[0];
        placementOrder = [.. placement];
        this.device = device;
        storage = ReplicaStorage.Open(device, new LogOptions { SegmentBytesMax = options.SegmentBytes, TailCacheBytes = options.TailCacheBytes }, random, expectExisting, PartitionState.ValidateSnapshot);
        log = storage.Log;
        // A replica joining a running group on an empty disk starts with no configuration: it is
        // not a member until the leader's entries or snapshot say so (the bootstrap voters may
        // still name this node, from before it was removed: it must not take itself for one).
        var fresh = log.LastIndex == 0 && !device.Exists(SnapshotStore.FileName);
        var bootstrap = joining && fresh ? [] : voters;
        Raft = new RaftNode(nodeId, partition, bootstrap, log, storage.HardStates, storage.Snapshots, random, options.Raft)
        {
            SnapshotValidator = PartitionState.ValidateSnapshot,
            EntryValidator = RecordEntry.Validate,
        };
        if (storage.Report.LostState is not null)
        {
            Raft.BeginRecovery();
            recoveryMarked = true;
        }
        else if (joining && fresh)
        {
            Raft.BeginRecovery();
        }
        Raft.MembershipContacts = placementOrder;
        Compaction = new CompactionSchedule(options.RetainBytes, options.CheckpointBytes, options.RetainTicks);
        State = new PartitionState(options.ProducerIdleEntries);
    }

    public uint Partition { get; }

    private string[] placementOrder;

    /// <summary>The group's target replicas, preferred leader first.</summary>
    public IReadOnlyList<string> Placement => placementOrder;

    /// <summary>The group's target replicas changed (issue 12): its preferred leader and the order
    /// failover follows are the new placement's; a leader moves the membership towards it
    /// (<see cref="ReconcileMembership"/>).</summary>
    public void SetPlacement(IReadOnlyList<string> target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Count == 0 || target.SequenceEqual(placementOrder)) return;
        placementOrder = [.. target];
        PreferredLeader = target[0];
        Raft.MembershipContacts = placementOrder;
    }

    /// <summary>
    /// A leader takes the next step from its configuration towards the placement (see
    /// <see cref="MembershipStep.Plan"/>): adds a learner, promotes one that caught up, hands
    /// leadership away, removes a voter or a learner. Returns the step taken, or null when there is
    /// nothing to do now (not the leader, a change still uncommitted, a learner still catching up).
    /// </summary>
    public MembershipStep? ReconcileMembership()
    {
        if (Raft.Role != RaftRole.Leader || !Raft.LeaderWithCurrentCommit || !Raft.ConfigurationCommitted) return null;
        var step = MembershipStep.Plan(Raft.Configuration, placementOrder, Raft.Id, Raft.MatchOf, Raft.LastIndex, Raft.ConfigurationIndex);
        if (step is null) return null;
        try
        {
            if (step.Next is null)
            {
                if (!Raft.TransferLeadership(step.Node)) return null;
                transferStartedTo = step.Node;
                return step;
            }
            return Raft.ProposeConfiguration(step.Next).Accepted ? step : null;
        }
        catch (Exception e) when (IsFull(e))
        {
            RaiseNoSpace(e);
            return null;
        }
    }

    /// <summary>The host's failure detector (the overlay) says <paramref name="node"/> cannot be
    /// reached from this node; <paramref name="reachable"/> tells about the others. If it led this
    /// partition, the leader is forgotten and the follower first in placement order among those
    /// still reachable campaigns at once (<see cref="RaftNode.PeerUnreachable"/>).</summary>
    public void PeerUnreachable(string node, Func<string, bool> reachable) =>
        Raft.PeerUnreachable(node, RaftNode.ShouldCampaign(placementOrder, Raft.Id, node, reachable));

    /// <summary>The host's failure detector can reach <paramref name="node"/> again: a quiescent
    /// leader heartbeats again (see <see cref="RaftNode.PeerReachable"/>).</summary>
    public void PeerReachable(string node) => Raft.PeerReachable(node);

    /// <summary>What opening the storage found: identity, quarantined files, lost state.</summary>
    public ReplicaStorageReport StorageReport => storage.Report;
    public PartitionReplicaOptions Options { get; }
    public RaftNode Raft { get; }
    public PartitionState State { get; }
    public CompactionSchedule Compaction { get; }

    /// <summary>Client appends waiting for their entry to apply.</summary>
    public int PendingCount => pending.Count;

    /// <summary>Snapshots installed from a leader (not read back at a start) since this replica opened.</summary>
    public long SnapshotsInstalled { get; private set; }

    /// <summary>The placement's first replica: leadership goes back to it once it is caught up.</summary>
    public string PreferredLeader { get; private set; }

    /// <summary>Ticks between checks that leadership can go back to the preferred leader (2 s at 50 ms).</summary>
    public const int PreferredLeaderCheckTicks = 40;

    private long ticks;
    private string? transferStartedTo;

    /// <summary>The term in which the last check found the preferred leader within
    /// <see cref="PreferredLagMax"/> entries of the log's end (0: it did not).</summary>
    private ulong preferredCloseInTerm;

    /// <summary>Entries the preferred leader may lag at the first of the two checks.</summary>
    public const int PreferredLagMax = 8;

    /// <summary>Advances time by one tick; every <see cref="PreferredLeaderCheckTicks"/> a leader
    /// that is not the preferred one hands leadership to it once it holds the whole log and was
    /// already close to it at the check before (as Kafka's preferred replica election keeps leaders
    /// balanced after failures heal). A preferred leader that is down or behind is left alone; one
    /// that has just come back gets a check interval to warm up first: a restarted node is caught
    /// up long before its process is (its code still compiling), and leading at once, it made the
    /// longest pauses of a rolling restart.</summary>
    public void Tick()
    {
        TickNoSpace();
        Compaction.Tick();
        // Retention by time also compacts an idle partition: check now and then, not only on commits.
        if (Compaction.KeepTicks > 0 && ++ticksSinceAgeCheck >= AgeCheckTicks)
        {
            ticksSinceAgeCheck = 0;
            ageCheckDue = true;
        }
        try
        {
            Raft.Tick();
        }
        catch (Exception e) when (IsFull(e))
        {
            RaiseNoSpace(e);
        }
        if (++ticks % PreferredLeaderCheckTicks != 0 || Raft.Role != RaftRole.Leader || PreferredLeader == Raft.Id) return;
        // Under a steady load a follower is rarely level with the leader at the very tick of a
        // check: the earlier check asks only that it had answered in this term and was close.
        var match = Raft.MatchOf(PreferredLeader);
        var close = match > 0 && match + PreferredLagMax >= Raft.LastIndex;
        var closeBefore = preferredCloseInTerm == Raft.Term;
        preferredCloseInTerm = close ? Raft.Term : 0;
        if (match == Raft.LastIndex && closeBefore && Raft.TransferLeadership(PreferredLeader)) transferStartedTo = PreferredLeader;
    }

    /// <summary>
    /// Graceful shutdown (issue 14, item 4): a leader about to stop hands leadership to the most
    /// caught-up follower that <paramref name="reachable"/> says can be reached (placement order
    /// breaks ties), so a restart costs a leadership transfer (one round trip) instead of an
    /// election timeout. Returns false when this replica does not lead or no follower can take over.
    /// </summary>
    public bool HandOff(Func<string, bool> reachable)
    {
        ArgumentNullException.ThrowIfNull(reachable);
        if (Raft.Role != RaftRole.Leader) return false;
        string? best = null;
        ulong bestMatch = 0;
        foreach (var voter in placementOrder)
        {
            if (voter == Raft.Id || !reachable(voter)) continue;
            var match = Raft.MatchOf(voter);
            if (best is null || match > bestMatch) (best, bestMatch) = (voter, match);
        }
        if (best is null || !Raft.TransferLeadership(best)) return false;
        transferStartedTo = best;
        return true;
    }

    /// <summary>Takes one Raft message. A full disk drops it unanswered (Raft resends): nothing
    /// the replica could not persist is acknowledged.</summary>
    public void Step(RaftMessage message)
    {
        try
        {
            Raft.Step(message);
        }
        catch (Exception e) when (IsFull(e))
        {
            RaiseNoSpace(e);
        }
    }

    /// <summary>
    /// Proposes a client's batch. Returns the answer at once when there is one (not the leader,
    /// too many in flight); otherwise null, and the answer comes later in an output's acks.
    /// </summary>
    public AppendAck? Append(long ticket, ulong producer, ulong sequence, ReadOnlyMemory<byte> payload)
    {
        if (AnswerBeforeAppending(ticket, producer, sequence) is { } early) return early;
        if (pending.Count >= Options.PendingMax)
            return new AppendAck(ticket, producer, sequence, AckStatus.Retry, Error: $"partition {Partition} has {Options.PendingMax} appends in flight; slow down");
        // A follower answers NotLeader (with the leader) whatever its disk: Propose touches no disk then.
        if (NoSpaceAlarm && Raft.Role == RaftRole.Leader) return NoSpace(ticket, producer, sequence);
        ProposeResult result;
        try
        {
            result = Raft.Propose(new RecordEntry(producer, sequence, payload).Encode());
        }
        catch (LogFullException e)
        {
            RaiseNoSpace(e);
            return NoSpace(ticket, producer, sequence);
        }
        if (!result.Accepted)
            return new AppendAck(ticket, producer, sequence, AckStatus.NotLeader, Leader: result.LeaderHint, Error: result.Reason ?? "not the leader");
        if (RemovePending(result.Index) is { } displaced) acksWaiting.Add(Retry(displaced, "leadership changed before the batch committed"));
        pending[result.Index] = new Pending(result.Index, result.Term, producer, sequence, ticket);
        pendingByProducer[producer] = pendingByProducer.GetValueOrDefault(producer) + 1;
        return null;
    }

    /// <summary>
    /// The leader answers a duplicate without appending it (issue 11: refused batches were
    /// appended, replicated and fsynced): a duplicate is certain when the applied (committed)
    /// state already holds the sequence, whoever leads now; the answer is Ok, as applying it would
    /// give, with the stored batch's index when it is the producer's last one (0 when older).
    /// An out-of-order batch is not answered early any more: that answer says what the producer's
    /// next sequence is now, which only the current leader knows, and with instant failover
    /// (RaftNode.PeerUnreachable) followers may elect a new leader before the old one hears of it
    /// (no lease), so a deposed leader could answer from a stale table (the simulator found it).
    /// It is appended and refused on apply; a ReadIndex round (Raft thesis 6.4) would allow the
    /// early answer again.
    /// </summary>
    private AppendAck? AnswerBeforeAppending(long ticket, ulong producer, ulong sequence)
    {
        if (Raft.Role != RaftRole.Leader || producer == ConsumerCommit.ControlProducer) return null;
        if (State.OutcomeOf(producer, sequence) != ApplyOutcome.Duplicate) return null;
        var index = sequence == State.LastSequenceOf(producer) ? State.LastIndexOf(producer) : 0;
        return new AppendAck(ticket, producer, sequence, AckStatus.Ok, index, Duplicate: true);
    }

    private Pending? RemovePending(ulong index)
    {
        if (!pending.Remove(index, out var p)) return null;
        var left = pendingByProducer[p.Producer] - 1;
        if (left == 0) pendingByProducer.Remove(p.Producer);
        else pendingByProducer[p.Producer] = left;
        return p;
    }

    // Acks decided outside a ready (a displaced proposal), handed out with the next output.
    private readonly List<AppendAck> acksWaiting = [];

    /// <summary>True when <see cref="TakeOutput"/> has something to hand out.</summary>
    public bool HasOutput => Raft.HasReady || acksWaiting.Count > 0 || transferStartedTo is not null || NoSpaceAlarm != noSpaceReported || ageCheckDue;

    /// <summary>Ticks between checks of retention by time on an idle partition.</summary>
    private const int AgeCheckTicks = 20;
    private int ticksSinceAgeCheck;
    private bool ageCheckDue;

    /// <summary>
    /// Takes the Raft ready (durable when handed out), replaces the state by a snapshot if one
    /// came, applies the committed entries, answers the appends they decide, compacts when
    /// retention allows, and returns what the driver must send and report.
    /// </summary>
    public ReplicaOutput TakeOutput()
    {
        var output = new ReplicaOutput();
        output.Acks.AddRange(acksWaiting);
        acksWaiting.Clear();
        output.TransferStartedTo = transferStartedTo;
        transferStartedTo = null;
        RaftReady? ready = null;
        try
        {
            if (Raft.HasReady) ready = Raft.TakeReady();
        }
        catch (StorageFullException e)
        {
            // The hard state could not be saved: nothing that depends on it may leave (Raft
            // keeps the ready and saves again next round).
            RaiseNoSpace(e);
        }
        ReportNoSpace(output);
        if (ageCheckDue && ready is null)
        {
            ageCheckDue = false;
            MaybeCompact(output);
        }
        if (ready is null) return output;
        var atStart = !firstOutputTaken;
        firstOutputTaken = true;
        output.Messages.AddRange(ready.Messages);
        if (ready.Snapshot is { } snapshot) Restore(snapshot, atStart, output);
        foreach (var entry in ready.Committed) Apply(entry, output);
        if (ready.Committed.Count > 0 || ageCheckDue) MaybeCompact(output);
        ageCheckDue = false;
        if (ready.StateChanged) OnStateChanged(output);
        if (recoveryMarked && !Raft.Recovering)
        {
            // Caught up, and what that took is durable (the ready synced it): the vote comes back.
            storage.EndRecovery();
            recoveryMarked = false;
            output.RecoveryEnded = true;
        }
        return output;
    }

    private void Restore(StoredSnapshot snapshot, bool atStart, ReplicaOutput output)
    {
        State.Restore(snapshot);
        Compaction.OnRestored();
        output.Restored = snapshot;
        output.RestoredAtStart = atStart;
        if (!atStart) SnapshotsInstalled++;
        // Appends waiting at indexes the snapshot covers will not be applied one by one.
        foreach (var (index, p) in pending.Where(p => p.Key <= snapshot.Index).ToList())
        {
            output.Acks.Add(Retry(p, "the replica was replaced by a snapshot before the batch applied"));
            RemovePending(index);
        }
    }

    private void Apply(CommittedEntry entry, ReplicaOutput output)
    {
        var outcome = State.Apply(entry);
        output.Applied.Add((entry, outcome));
        Compaction.OnApplied(entry.Index, entry.Data.Length, State.Snapshot);
        if (RemovePending(entry.Index) is not { } p) return;
        if (entry.Term != p.Term)
        {
            output.Acks.Add(Retry(p, "leadership changed before the batch committed"));
            return;
        }
        output.Acks.Add(outcome switch
        {
            ApplyOutcome.Stored or ApplyOutcome.Control => new AppendAck(p.Ticket, p.Producer, p.Sequence, AckStatus.Ok, entry.Index),
            ApplyOutcome.Duplicate => new AppendAck(p.Ticket, p.Producer, p.Sequence, AckStatus.Ok, entry.Index, Duplicate: true),
            _ => new AppendAck(p.Ticket, p.Producer, p.Sequence, AckStatus.OutOfOrder, ExpectedSequence: State.LastSequenceOf(p.Producer) + 1,
                Error: $"sequence {p.Sequence} of producer {p.Producer} skips ahead"),
        });
    }

    /// <summary>Retention: compacts at the newest state checkpoint that keeps the configured log bytes.</summary>
    private void MaybeCompact(ReplicaOutput output)
    {
        var skippedBefore = Compaction.SkippedOversized;
        ulong index;
        try
        {
            index = Compaction.MaybeCompact(Raft);
        }
        catch (StorageFullException e)
        {
            RaiseNoSpace(e); // no room for the snapshot: keep the log as it is, compact later
            return;
        }
        output.CompactionSkipped = Compaction.SkippedOversized > skippedBefore;
        if (index == 0) return;
        State.TrimThrough(index);
        output.CompactedTo = index;
    }

    private void OnStateChanged(ReplicaOutput output)
    {
        var status = Raft.Status;
        output.StateChanged = true;
        // Appends proposed in another term (this replica may have lost and regained leadership
        // between two outputs) may never commit at their index: the client must retry them.
        foreach (var (index, p) in pending.Where(p => status.Role != RaftRole.Leader || p.Value.Term != status.Term).ToList())
        {
            output.Acks.Add(Retry(p, "leadership changed before the batch committed", status.Leader));
            RemovePending(index);
        }
    }

    private static AppendAck Retry(Pending p, string reason, string? leader = null) =>
        new(p.Ticket, p.Producer, p.Sequence, AckStatus.Retry, Leader: leader, Error: reason);

    /// <summary>Reads stored entries back from the log (bounded by the caller's range and bytes).</summary>
    public IReadOnlyList<LogEntry> ReadLog(ulong first, ulong last, long maxBytes) => log.Read(first, last, maxBytes);

    public void Dispose() => log.Dispose();
}

/// <summary>What one <see cref="PartitionReplica.TakeOutput"/> hands to its driver.</summary>
public sealed class ReplicaOutput
{
    /// <summary>Raft messages to send (any order; any may be lost). Already durable-backed.</summary>
    public List<RaftMessage> Messages { get; } = [];

    /// <summary>Answers to client appends, each tagged with the caller's ticket.</summary>
    public List<AppendAck> Acks { get; } = [];

    /// <summary>Committed entries applied in this output, in order, with what applying did.</summary>
    public List<(CommittedEntry Entry, ApplyOutcome Outcome)> Applied { get; } = [];

    /// <summary>The snapshot the state was replaced by, if any: read back at a start
    /// (<see cref="RestoredAtStart"/>) or installed from the leader.</summary>
    public StoredSnapshot? Restored { get; set; }
    public bool RestoredAtStart { get; set; }

    /// <summary>The index the log was compacted to (0: no compaction).</summary>
    public ulong CompactedTo { get; set; }

    /// <summary>A compaction was due but the state was too large for a snapshot.</summary>
    public bool CompactionSkipped { get; set; }

    /// <summary>The role, term or leader changed.</summary>
    public bool StateChanged { get; set; }

    /// <summary>The NOSPACE alarm was raised (true) or cleared (false) since the last output;
    /// null when unchanged.</summary>
    public bool? NoSpaceAlarm { get; set; }

    /// <summary>What the device said when the alarm was raised.</summary>
    public string? NoSpaceReason { get; set; }

    /// <summary>A replica that had lost state caught up with its leader: it votes again.</summary>
    public bool RecoveryEnded { get; set; }

    /// <summary>This leader started handing leadership to this replica: its preferred leader, a membership step's target, or, as it stops, its most caught-up follower.</summary>
    public string? TransferStartedTo { get; set; }
}

using Braid.Protocol.V1;

namespace Braid.Core.Raft;

/// <summary>Timing and flow-control settings of one Raft group, in ticks of the driver's clock.</summary>
/// <param name="ElectionTicks">A follower that hears no leader for a random time in
/// [ElectionTicks, 2*ElectionTicks) campaigns; a leader that hears from no quorum for
/// ElectionTicks steps down (CheckQuorum).</param>
/// <param name="HeartbeatTicks">A leader heartbeats every this many ticks.</param>
/// <param name="InflightMax">Append messages in flight per follower (the pipelining window).</param>
/// <param name="AppendEntriesMax">Entries per append message.</param>
/// <param name="AppendBytesMax">Payload bytes per append message (at least one entry is always sent).</param>
/// <param name="CommittedBytesMax">Committed payload bytes handed out per ready (bounded memory while catching up).</param>
/// <param name="QuiesceTicks">A leader idle this many ticks with every follower caught up and
/// heard from quiesces the group (no heartbeats, no election timers) until something happens;
/// 0: never. Needs a host that reports unreachable peers (<see cref="RaftNode.PeerUnreachable"/>).</param>
public sealed record RaftOptions(
    int ElectionTicks = 10,
    int HeartbeatTicks = 1,
    int InflightMax = 64,
    int AppendEntriesMax = 512,
    long AppendBytesMax = 1 << 20,
    long CommittedBytesMax = 8 << 20,
    bool PreVote = true,
    bool CheckQuorum = true,
    int QuiesceTicks = 0)
{
    /// <summary>
    /// What the node host runs (and the simulator with it), with 50 ms ticks: elections after
    /// 1-2 s of silence (etcd's default is 1 s; a crashed, frozen or cut-off leader is noticed
    /// sooner through the overlay and failed over at once, RaftNode.PeerUnreachable, so the timer
    /// is only the fallback, and a longer one spares a saturated machine spurious elections:
    /// at 0.5-1 s an ingest at full speed on mesh3 saw 4-15 client failovers per run), heartbeats every 150 ms (three per shortest election timeout; every
    /// tick cost an idle mini2 node 10-12% of a core with 12 partitions, every third tick
    /// 5-6%). In flight per follower at most 16 appends of at most 256 KiB: 4 MiB per follower
    /// per partition; the defaults (64 x 1 MiB) let a node leading four partitions hold hundreds
    /// of MB of appends during a full-speed load (peak RSS 794 MB on mesh3). Idle groups quiesce
    /// after 300 ms (issue 14, item 5): an idle node then only heartbeats its overlay links.
    /// </summary>
    public static RaftOptions Node { get; } = new(ElectionTicks: 20, HeartbeatTicks: 3, InflightMax: 16, AppendBytesMax: 256 * 1024, QuiesceTicks: 6);
}

public enum RaftRole
{
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// <summary>An entry known to be committed, in log order, for the state machine.</summary>
/// <param name="IsNoop">The empty entry a new leader appends to commit its predecessors' entries
/// (Raft section 5.4.2); the state machine skips it.</param>
public readonly record struct CommittedEntry(ulong Index, ulong Term, bool IsNoop, ReadOnlyMemory<byte> Data);

/// <summary>The outcome of a proposal.</summary>
public readonly record struct ProposeResult(bool Accepted, ulong Index, ulong Term, string? LeaderHint, string? Reason)
{
    public static ProposeResult Rejected(string? leaderHint, string reason) => new(false, 0, 0, leaderHint, reason);
}

/// <summary>
/// What the driver must do after feeding a <see cref="RaftNode"/>. The durability order is
/// already satisfied when a ready is handed out: <see cref="RaftNode.TakeReady"/> saves the hard
/// state and fsyncs the log (through the storage device) BEFORE it returns the messages, so a
/// vote, an append acknowledgement or a commit never leaves the node before what it promises is
/// durable. The driver only sends <see cref="Messages"/> (in any order, any may be lost) and
/// applies <see cref="Committed"/> in order.
/// </summary>
public sealed class RaftReady
{
    public List<RaftMessage> Messages { get; } = [];
    public List<CommittedEntry> Committed { get; } = [];

    /// <summary>When set, the state machine must first be replaced by this snapshot's state (a
    /// restart after <see cref="RaftNode.Compact"/>, or a snapshot installed from the leader);
    /// <see cref="Committed"/> then continues right after <see cref="StoredSnapshot.Index"/>.
    /// Already durable when handed out.</summary>
    public Log.StoredSnapshot? Snapshot { get; set; }

    /// <summary>True when the role, term or leader changed since the previous ready.</summary>
    public bool StateChanged { get; set; }

    public bool IsEmpty => Messages.Count == 0 && Committed.Count == 0 && Snapshot is null && !StateChanged;
}

/// <summary>A snapshot of a node's Raft state, for status pages and checkers.</summary>
public readonly record struct RaftStatus(
    string Id, uint Group, RaftRole Role, ulong Term, string? Leader, ulong CommitIndex, ulong AppliedIndex, ulong LastIndex, ulong DurableIndex, ulong SnapshotIndex = 0);

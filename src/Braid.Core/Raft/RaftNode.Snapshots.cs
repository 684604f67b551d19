using Braid.Core.Log;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Core.Raft;

/// <summary>
/// Log compaction and snapshot install (Raft section 7). The state machine hands its state after
/// an applied index to <see cref="Compact"/>; the node saves it durably and lets the log drop the
/// entries it covers. A follower that needs an entry the leader no longer holds gets the snapshot
/// instead (INSTALL_SNAPSHOT), replaces its log and state with it, and catches up from there.
/// </summary>
public sealed partial class RaftNode
{
    private StoredSnapshot? snapshot;

    /// <summary>The last index the latest snapshot covers (0: none).</summary>
    public ulong SnapshotIndex => snapshot?.Index ?? 0;

    /// <summary>The term of <see cref="SnapshotIndex"/>.</summary>
    public ulong SnapshotTerm => snapshot?.Term ?? 0;

    /// <summary>The first entry still in the log; every index below it is in the snapshot.</summary>
    public ulong FirstIndex => log.FirstIndex;

    /// <summary>True when this node knows the term of the entry at <paramref name="index"/>
    /// (it is in the log, or it is the snapshot's last entry, or it is 0).</summary>
    private bool TermKnown(ulong index) => index == 0 || index == SnapshotIndex || index >= log.FirstIndex && index <= log.LastIndex;

    /// <summary>Bytes of log on the device.</summary>
    public long LogBytes => log.TotalBytes;

    /// <summary>The highest applied index at which compacting still keeps
    /// <paramref name="keepBytesMin"/> bytes of log (see <see cref="SegmentedLog.RetentionPoint"/>).</summary>
    public ulong RetentionPoint(long keepBytesMin) => Math.Min(log.RetentionPoint(keepBytesMin), appliedIndex);

    /// <summary>Term of the last entry, counting the snapshot when the log is empty after it.</summary>
    private ulong LastLogTerm => log.LastIndex >= log.FirstIndex ? log.LastTerm : TermAtOrZero(log.LastIndex);

    /// <summary>
    /// Saves <paramref name="state"/> (the state machine after applying every entry up to
    /// <paramref name="index"/>) as the snapshot and lets the log drop whole segments it covers.
    /// Returns the number of segments removed. A no-op when an equal or newer snapshot exists.
    /// </summary>
    public int Compact(ulong index, ReadOnlyMemory<byte> state)
    {
        Invariant.Check(index <= appliedIndex, $"compaction at {index} beyond the applied index {appliedIndex}");
        if (index <= SnapshotIndex) return 0;
        var config = ConfigurationAt(index);
        var next = new StoredSnapshot(index, log.TermAt(index), state.ToArray(), config.Encode());
        snapshotStore.Save(next); // durable before the log forgets anything it covers
        snapshot = next;
        ConfigurationCompacted(index, config);
        return log.TruncatePrefix(index + 1);
    }

    /// <summary>On open: the saved snapshot is the state to start from. A crash during an install
    /// (the log reset comes after the save, and deletes segments from the last one back) can
    /// leave a log ending before the snapshot, or an old log whose entry at the snapshot's index
    /// has another term, so that everything after it conflicts too: either way, reset again.</summary>
    private void RecoverSnapshot()
    {
        snapshot = snapshotStore.Load();
        if (snapshot is null) return;
        var conflicting = snapshot.Index >= log.FirstIndex && snapshot.Index <= log.LastIndex && log.TermAt(snapshot.Index) != snapshot.Term;
        if (log.LastIndex < snapshot.Index || conflicting) log.Reset(snapshot.Index + 1);
        Invariant.Check(log.FirstIndex <= snapshot.Index + 1, $"gap between snapshot {snapshot.Index} and the log starting at {log.FirstIndex}");
        Invariant.Check(snapshot.Index < log.FirstIndex || log.TermAt(snapshot.Index) == snapshot.Term, $"snapshot term {snapshot.Term} at {snapshot.Index} differs from the log's");
        appliedIndex = snapshot.Index;
        pending.Snapshot = snapshot;
    }

    /// <summary>Sends the snapshot to a follower whose next entry the log no longer holds. One is
    /// outstanding at a time; an unanswered one is sent again after an election timeout.</summary>
    private void SendSnapshot(string peer, Progress p)
    {
        Invariant.Check(snapshot is not null && snapshot.Index + 1 >= log.FirstIndex, $"log starts at {log.FirstIndex} without a snapshot covering the entries before");
        if (p.SnapshotWaitTicks > 0) return;
        p.Replicating = false;
        p.Inflight.Clear();
        p.Inflight.Enqueue(snapshot!.Index);
        p.SnapshotWaitTicks = options.ElectionTicks;
        p.PendingSnapshot = snapshot.Index;
        Send(new RaftMessage
        {
            Type = RaftMessageType.InstallSnapshot, To = peer, Index = snapshot.Index, LogTerm = snapshot.Term,
            Commit = CommitIndex, Snapshot = ByteString.CopyFrom(snapshot.Data.Span),
            SnapshotConfig = ByteString.CopyFrom(ConfigurationAt(snapshot.Index).Encode()),
        });
    }

    private void HandleInstallSnapshot(RaftMessage m)
    {
        if (Role != RaftRole.Follower) BecomeFollower(Term, m.From);
        Leader = m.From;
        electionElapsed = 0;
        TicksWithoutLeader = 0;
        quiescent = false;
        if (m.Index <= CommitIndex)
        {
            Send(new RaftMessage { Type = RaftMessageType.AppendResponse, To = m.From, Index = CommitIndex });
            return;
        }
        if (m.Index <= log.LastIndex && TermAtOrZero(m.Index) == m.LogTerm)
        {
            // Our log holds the snapshot's last entry, so by log matching the whole prefix: keep
            // the log and commit up to there (etcd's restore does the same).
            CommitIndex = m.Index;
            NoteRecovery(m);
            Send(new RaftMessage { Type = RaftMessageType.AppendResponse, To = m.From, Index = m.Index });
            return;
        }
        var installed = new StoredSnapshot(m.Index, m.LogTerm, m.Snapshot.ToByteArray(), m.SnapshotConfig.ToByteArray());
        snapshotStore.Save(installed);
        snapshot = installed;
        log.Reset(m.Index + 1);
        ConfigurationInstalled(SnapshotConfiguration(installed));
        CommitIndex = m.Index;
        appliedIndex = m.Index;
        hardStateDirty = true;
        pending.Snapshot = installed;
        NoteRecovery(m);
        Send(new RaftMessage { Type = RaftMessageType.AppendResponse, To = m.From, Index = m.Index });
    }
}

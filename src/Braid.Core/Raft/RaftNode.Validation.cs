using Braid.Protocol.V1;

namespace Braid.Core.Raft;

/// <summary>
/// Validation of every field of every message before it can change anything (issue 11, item 2):
/// a message from a peer is input, not truth. A refused message leaves the node exactly as it
/// was; it is counted, and its reason kept for the driver to report. Terms are bounded so that
/// no message can push a term to where <c>term + 1</c> overflows (issue 11, finding 1).
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>
    /// The highest term a node adopts. Terms grow by one per election round; at one round per
    /// 50 ms tick a cluster needs 14 billion years to get here, so a term above it can only be
    /// forged or corrupt. Keeping terms at or below it makes <c>Term + 1</c> always safe.
    /// </summary>
    public const ulong TermMax = long.MaxValue;

    /// <summary>
    /// How far ahead of this node's term a message may be. A legitimate node far behind (down
    /// while the others held 4 billion elections) is unthinkable; a forged term far ahead is the
    /// attack of issue 11 (one APPEND at 2^64-1 wedged a cluster). Refusing such a message costs
    /// nothing real and bounds what one forged message can do to one step of 2^32.
    /// </summary>
    public const ulong TermAheadMax = 1UL << 32;

    /// <summary>Messages refused by validation since the node opened.</summary>
    public long RefusedCount { get; private set; }

    /// <summary>Why the last refused message was refused (null: none yet).</summary>
    public string? LastRefusal { get; private set; }

    /// <summary>
    /// Checks a state machine's snapshot (INSTALL_SNAPSHOT's content) before it replaces anything;
    /// returns why it is unusable, or null. Entries are checked by <see cref="EntryValidator"/>.
    /// </summary>
    public Func<ulong, ReadOnlyMemory<byte>, string?>? SnapshotValidator { get; init; }

    /// <summary>Checks a normal entry's data (without the kind byte) before it is appended, so a
    /// malformed entry never reaches the log, where applying it would fail on every replica.</summary>
    public Func<ReadOnlyMemory<byte>, string?>? EntryValidator { get; init; }

    private void Refuse(RaftMessage m, string reason)
    {
        RefusedCount++;
        LastRefusal = $"{m.Type} from {m.From} (term {m.Term}): {reason}";
    }

    /// <summary>Why <paramref name="m"/> must be refused before it is acted on, or null.</summary>
    private string? Validate(RaftMessage m)
    {
        if (m.Type is RaftMessageType.RaftUnknown || !Enum.IsDefined(m.Type)) return $"unknown type {(int)m.Type}";
        if (m.Term > TermMax) return $"term beyond {TermMax}";
        if (m.Term > Term && m.Term - Term > TermAheadMax) return $"term more than {TermAheadMax} ahead of {Term}";
        if (m.LogTerm > m.Term && m.Type != RaftMessageType.AppendResponse) return $"log term {m.LogTerm} above the message's term";
        if (m.Entries.Count > 0 && m.Type != RaftMessageType.Append) return "entries outside an APPEND";
        if (!m.Snapshot.IsEmpty && m.Type != RaftMessageType.InstallSnapshot) return "snapshot outside INSTALL_SNAPSHOT";
        if (!m.SnapshotConfig.IsEmpty && m.Type != RaftMessageType.InstallSnapshot) return "snapshot configuration outside INSTALL_SNAPSHOT";
        if (m.RemovedAt > 0 && m.Type is not (RaftMessageType.PreVoteResponse or RaftMessageType.VoteResponse)) return "removed_at outside a vote response";
        return m.Type switch
        {
            RaftMessageType.Append => ValidateAppend(m),
            RaftMessageType.AppendResponse => ValidateAppendResponse(m),
            RaftMessageType.InstallSnapshot => ValidateInstallSnapshot(m),
            _ => null,
        };
    }

    private string? ValidateAppend(RaftMessage m)
    {
        if (m.Term == 0) return "an APPEND needs a term";
        if (m.Index == 0 != (m.LogTerm == 0)) return $"prev {m.Index}@{m.LogTerm}: only index 0 has term 0";
        if ((ulong)m.Entries.Count > ulong.MaxValue - m.Index) return "entries overflow the index space";
        var previousTerm = m.LogTerm;
        for (var i = 0; i < m.Entries.Count; i++)
        {
            var e = m.Entries[i];
            if (e.Index != m.Index + (ulong)i + 1) return $"entry {i} has index {e.Index}, expected {m.Index + (ulong)i + 1}";
            if (e.Term < previousTerm || e.Term > m.Term) return $"entry {e.Index} has term {e.Term} (previous {previousTerm}, message {m.Term})";
            previousTerm = e.Term;
            if (ValidateEntryData(e) is { } bad) return $"entry {e.Index}: {bad}";
        }
        // Entries at or below our commit index are committed: the leader's must match them.
        // Checked here so that a conflict is refused before anything is truncated.
        foreach (var e in m.Entries)
        {
            if (e.Index > CommitIndex || e.Index > log.LastIndex) break;
            if (e.Index >= log.FirstIndex && log.TermAt(e.Index) != e.Term) return $"entry {e.Index}@{e.Term} conflicts with committed {e.Index}@{log.TermAt(e.Index)}";
        }
        return null;
    }

    private string? ValidateEntryData(RaftEntry e)
    {
        var data = e.Data.Memory;
        if (data.Length == 0) return "no kind byte";
        return data.Span[0] switch
        {
            EntryNoop => data.Length == 1 ? null : "a no-op with data",
            EntryNormal => EntryValidator?.Invoke(data[1..]),
            EntryConfig => ValidateConfigurationData(data[1..]),
            _ => $"unknown kind {data.Span[0]}",
        };
    }

    /// <summary>Only a leader acts on these; an acknowledgement past its own log is a lie (no
    /// follower can hold an entry the leader never had), and would let it commit what no quorum holds.</summary>
    private string? ValidateAppendResponse(RaftMessage m)
    {
        if (Role != RaftRole.Leader || m.Term != Term) return null; // dropped by the term rules or ignored
        if (!m.Reject && m.Index > log.LastIndex) return $"acknowledges {m.Index} beyond the leader's last index {log.LastIndex}";
        return null;
    }

    private string? ValidateInstallSnapshot(RaftMessage m)
    {
        if (m.Term == 0 || m.Index == 0 || m.LogTerm == 0) return $"snapshot {m.Index}@{m.LogTerm} in term {m.Term}";
        if (m.Snapshot.Length > Log.SnapshotStore.DataBytesMax) return $"snapshot of {m.Snapshot.Length} bytes exceeds {Log.SnapshotStore.DataBytesMax}";
        if (m.Index <= CommitIndex) return null; // answered without installing anything
        if (m.Index == ulong.MaxValue) return "snapshot index leaves no room for a next entry";
        if (ValidateSnapshotConfiguration(m) is { } badConfig) return badConfig;
        return SnapshotValidator?.Invoke(m.Index, m.Snapshot.Memory);
    }
}

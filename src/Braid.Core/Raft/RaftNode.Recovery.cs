using Braid.Protocol.V1;

namespace Braid.Core.Raft;

/// <summary>
/// Rejoining after lost state (issue 11, item 5; docs/design.md, "Amnesia"). A replica whose disk
/// lost something it had persisted (its vote, or entries it may have acknowledged) must not
/// vote, pre-vote or campaign until it holds everything committed when it rejoined: otherwise
/// it could vote twice in a term, or help elect a candidate missing a committed entry that only
/// it and the old leader had.
/// </summary>
public sealed partial class RaftNode
{
    private ulong? recoveryTarget;

    /// <summary>True while this replica recovers lost state: it neither votes nor campaigns.</summary>
    public bool Recovering { get; private set; }

    /// <summary>Starts the recovery rule (the storage found lost state, or a recovery was under way).</summary>
    public void BeginRecovery()
    {
        // Alone in its group there is nobody to catch up from, and nobody whose vote could be
        // misled: what was lost is lost, and refusing to campaign would only add unavailability.
        if (Voters.Count == 1 && IsVoter)
        {
            pending.StateChanged = true; // lets the replica drop its marker at the first output
            return;
        }
        Recovering = true;
        recoveryTarget = null;
    }

    /// <summary>
    /// After an append or snapshot from the leader was accepted. The target is the leader's commit
    /// index as carried by the first message with entries or a snapshot (a heartbeat's is capped
    /// at what the leader thinks we hold, so it may be lower). Recovery ends once our commit index
    /// reaches it and covers an entry of the leader's term: by leader completeness the leader's log
    /// up to there holds every entry committed in earlier terms, and in its own term only it
    /// commits, so its commit index covers those.
    /// </summary>
    private void NoteRecovery(RaftMessage m)
    {
        if (!Recovering) return;
        var uncapped = m.Entries.Count > 0 || m.Type == RaftMessageType.InstallSnapshot;
        if (recoveryTarget is null && uncapped) recoveryTarget = m.Commit;
        if (recoveryTarget is not { } target || CommitIndex < target || TermAtOrZero(CommitIndex) != Term) return;
        Recovering = false;
        pending.StateChanged = true;
    }
}

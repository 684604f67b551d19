using Braid.Protocol.V1;

namespace Braid.Core.Raft;

/// <summary>
/// Membership changes, one server at a time (Ongaro's thesis, 4.1), with learners (4.2.1).
/// A configuration is a log entry (kind <see cref="EntryConfig"/>); every replica uses the latest
/// configuration in its log, committed or not, from the moment it appends it, and falls back to
/// the previous one if that entry is truncated away. A leader proposes a change only when (a) it
/// has committed an entry of its own term (the fix of the single-server bug Ongaro posted in
/// 2015: without it, two changes begun by leaders of different terms can decide apart) and (b) no
/// earlier change is uncommitted. Each change adds, removes, promotes or demotes at most one
/// voter, so the majorities of consecutive configurations always overlap.
///
/// Why not joint consensus: every change Braid makes is one server (replace a dead replica = add
/// a learner, promote it, remove the dead one), and the single-server rule needs no second
/// configuration in any majority computation; the thesis recommends it for that reason.
///
/// A removed leader keeps leading until the configuration without it commits (it does not count
/// its own log in majorities meanwhile), then steps down; Braid's hosts transfer leadership away
/// first, so this is the fallback. A replica outside its group's configuration (a learner, or a
/// new replica before the leader's first append, <see cref="RaftConfiguration.Empty"/>) never
/// campaigns; it takes appends, snapshots and votes requests like any replica (thesis 4.1: servers
/// process RPCs from servers outside their configuration).
/// </summary>
public sealed partial class RaftNode
{
    private const byte EntryConfig = 2;

    /// <summary>The configuration before the first configuration entry of the log: the
    /// snapshot's, or the bootstrap one the node was created with.</summary>
    private RaftConfiguration baseConfiguration = RaftConfiguration.Empty;

    /// <summary>The bootstrap configuration: every replica of a group is created with the same one
    /// (the group's first placement), which is the configuration at index 0.</summary>
    private RaftConfiguration bootstrapConfiguration = RaftConfiguration.Empty;

    /// <summary>Configuration entries in the log after the snapshot, in index order.</summary>
    private readonly List<(ulong Index, RaftConfiguration Config)> configEntries = [];

    /// <summary>The membership in force: the latest configuration in the log.</summary>
    public RaftConfiguration Configuration { get; private set; } = RaftConfiguration.Empty;

    /// <summary>Index of the entry that set <see cref="Configuration"/> (0 or the snapshot's index
    /// when it comes from the bootstrap or the snapshot).</summary>
    public ulong ConfigurationIndex => configEntries.Count > 0 ? configEntries[^1].Index : SnapshotIndex;

    /// <summary>True when the configuration in force is committed: a new change may begin.</summary>
    public bool ConfigurationCommitted => ConfigurationIndex <= CommitIndex;

    /// <summary>True when this replica votes and counts in majorities.</summary>
    public bool IsVoter => Configuration.IsVoter(Id);

    /// <summary>
    /// Proposes <paramref name="next"/> as the group's membership. Accepted only by a leader with
    /// a commit of its own term, no uncommitted change, and a change of at most one voter; a
    /// proposal equal to the configuration in force is answered with its index (idempotent).
    /// </summary>
    public ProposeResult ProposeConfiguration(RaftConfiguration next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (Role != RaftRole.Leader) return ProposeResult.Rejected(Leader, $"{Id} is not the leader of group {Group}");
        if (leadTransferee is not null) return ProposeResult.Rejected(leadTransferee, $"leadership of group {Group} is moving to {leadTransferee}");
        if (next.SameAs(Configuration)) return new ProposeResult(true, ConfigurationIndex, TermAtOrZero(ConfigurationIndex), Id, null);
        if (!LeaderWithCurrentCommit) return ProposeResult.Rejected(Id, $"group {Group}: the leader has not committed an entry of term {Term} yet");
        if (!ConfigurationCommitted) return ProposeResult.Rejected(Id, $"group {Group}: the change at {ConfigurationIndex} is not committed yet");
        if (next.Voters.Count == 0) return ProposeResult.Rejected(Id, $"group {Group}: a configuration needs a voter");
        if (!next.IsSingleChangeFrom(Configuration)) return ProposeResult.Rejected(Id, $"group {Group}: {next} changes more than one voter of {Configuration}");
        Wake();
        var index = AppendLocal(EntryConfig, next.Encode());
        ConfigurationAppended(index, next);
        BroadcastAppend();
        return new ProposeResult(true, index, Term, Id, null);
    }

    /// <summary>Sets the bootstrap configuration and reads the configuration in force from the
    /// snapshot and the log (at start, after the snapshot and term recovery).</summary>
    private void LoadConfiguration(RaftConfiguration bootstrap)
    {
        bootstrapConfiguration = bootstrap;
        baseConfiguration = SnapshotConfiguration(snapshot) ?? bootstrap;
        configEntries.Clear();
        var next = Math.Max(log.FirstIndex, SnapshotIndex + 1);
        while (next <= log.LastIndex)
        {
            var entries = log.Read(next, log.LastIndex, options.CommittedBytesMax);
            foreach (var e in entries)
            {
                var span = e.Payload.Span;
                if (span.Length > 0 && span[0] == EntryConfig)
                {
                    var config = RaftConfiguration.TryDecode(span[1..], out var error);
                    Invariant.Check(config is not null, $"group {Group}: configuration entry {e.Index} unreadable: {error}");
                    configEntries.Add((e.Index, config!));
                }
                next = e.Index + 1;
            }
        }
        UseConfiguration(configEntries.Count > 0 ? configEntries[^1].Config : baseConfiguration);
    }

    private RaftConfiguration? SnapshotConfiguration(Log.StoredSnapshot? stored)
    {
        if (stored is null || stored.Config.IsEmpty) return null;
        var config = RaftConfiguration.TryDecode(stored.Config.Span, out var error);
        Invariant.Check(config is not null, $"group {Group}: the snapshot's configuration is unreadable: {error}");
        return config;
    }

    /// <summary>The configuration in force at <paramref name="index"/> (for a snapshot taken there).</summary>
    private RaftConfiguration ConfigurationAt(ulong index)
    {
        for (var i = configEntries.Count - 1; i >= 0; i--)
        {
            if (configEntries[i].Index <= index) return configEntries[i].Config;
        }
        return baseConfiguration;
    }

    private void ConfigurationAppended(ulong index, RaftConfiguration config)
    {
        configEntries.Add((index, config));
        UseConfiguration(config);
        // Added back (a node re-added as new): what a peer said about an older configuration no longer holds.
        if (RemovedByPeer && config.Contains(Id)) RemovedByPeer = false;
    }

    /// <summary>The log lost its entries from <paramref name="firstGone"/> on: configurations
    /// they held are no longer in force.</summary>
    private void ConfigurationTruncated(ulong firstGone)
    {
        var removed = configEntries.RemoveAll(c => c.Index >= firstGone);
        if (removed > 0) UseConfiguration(configEntries.Count > 0 ? configEntries[^1].Config : baseConfiguration);
    }

    /// <summary>The snapshot now covers everything up to <paramref name="index"/>.</summary>
    private void ConfigurationCompacted(ulong index, RaftConfiguration atIndex)
    {
        baseConfiguration = atIndex;
        configEntries.RemoveAll(c => c.Index <= index);
    }

    /// <summary>A snapshot replaced the log: its configuration is in force.</summary>
    private void ConfigurationInstalled(RaftConfiguration? fromSnapshot)
    {
        baseConfiguration = fromSnapshot ?? bootstrapConfiguration;
        configEntries.Clear();
        UseConfiguration(baseConfiguration);
        if (RemovedByPeer && baseConfiguration.Contains(Id)) RemovedByPeer = false;
    }

    private void UseConfiguration(RaftConfiguration config)
    {
        var changed = !config.SameAs(Configuration);
        Configuration = config;
        peers = config.Members.Where(m => m != Id).ToArray();
        if (Role == RaftRole.Leader)
        {
            // Members the change drops keep their progress until it commits (PruneDeparted): they
            // receive the entry that removes them, so they learn it and their hosts close them.
            foreach (var peer in peers)
            {
                if (!progresses.ContainsKey(peer)) progresses[peer] = new Progress { Next = log.LastIndex + 1, RecentActive = true };
            }
            if (leadTransferee is not null && !config.IsVoter(leadTransferee)) leadTransferee = null;
        }
        if (changed) pending.StateChanged = true;
    }

    /// <summary>Once the configuration in force has committed, a leader stops replicating to the
    /// members it dropped.</summary>
    private void PruneDeparted()
    {
        if (progresses.Count == peers.Length || !ConfigurationCommitted)
        {
            departedTicks = 0;
            return;
        }
        // Two election timeouts of heartbeats after the commit, so that a departed member hears
        // that its removal committed (its host closes it only then) even if some are lost.
        if (++departedTicks < 2 * options.ElectionTicks) return;
        departedTicks = 0;
        foreach (var gone in progresses.Keys.Where(k => !Configuration.Contains(k) || k == Id).ToList()) progresses.Remove(gone);
    }

    private int departedTicks;

    /// <summary>A replica that does not stand (a learner, recovering, withholding its vote) and
    /// that the host's placement left asks the placed replicas, once per election timeout, with a
    /// pre-vote: one whose committed configuration leaves it out answers with removed_at (see
    /// <see cref="AnswerRemoved"/>). Others answer a pre-vote, which changes nothing.</summary>
    private void ProbeMembership()
    {
        if (RemovedByPeer || MembershipContacts.Count == 0 || MembershipContacts.Contains(Id)) return;
        foreach (var peer in MembershipContacts)
            Send(new RaftMessage { Type = RaftMessageType.PreVote, To = peer, Term = Term + 1, Index = log.LastIndex, LogTerm = LastLogTerm });
    }

    /// <summary>Nodes the host says hold the group now (its placement): a pre-vote goes to them
    /// too, so a member removed while away whose old voters are all gone still finds a replica
    /// to tell it (their answers count for nothing else).</summary>
    public IReadOnlyList<string> MembershipContacts { get; set; } = [];

    /// <summary>
    /// Removed members that were away when they were removed never received their removal, and
    /// stand for election in their old configuration; the CheckQuorum lease makes the voters
    /// ignore them, so they would stand for ever. A vote request from a node outside this replica's
    /// committed configuration is answered at once with that configuration's index; a vote answer
    /// carrying an index newer than this replica's configuration, from a voter it asked, tells it
    /// that it was removed. Returns true when the message was handled here.
    /// </summary>
    private bool AnswerRemoved(RaftMessage m)
    {
        if (m.Type is RaftMessageType.PreVote or RaftMessageType.Vote)
        {
            if (Configuration.Contains(m.From) || !ConfigurationCommitted || ConfigurationIndex == 0) return false;
            var type = m.Type == RaftMessageType.PreVote ? RaftMessageType.PreVoteResponse : RaftMessageType.VoteResponse;
            Send(new RaftMessage { Type = type, To = m.From, Reject = true, RemovedAt = ConfigurationIndex });
            return true;
        }
        // From any replica of the group: its committed configuration, newer than ours, leaves us out.
        if (m.RemovedAt == 0 || m.RemovedAt <= ConfigurationIndex || Role == RaftRole.Leader) return false;
        RemovedByPeer = true;
        if (Role != RaftRole.Follower) BecomeFollower(Term, null);
        pending.StateChanged = true;
        return true;
    }

    /// <summary>True when this replica's configuration, as far as it knows committed, leaves it
    /// out: it was removed from its group, and its host may close it and delete its files.</summary>
    public bool Removed => RemovedByPeer || !Configuration.Contains(Id) && ConfigurationCommitted && ConfigurationIndex > 0;

    /// <summary>A voter of this replica's configuration answered its vote request saying it was
    /// removed by a newer committed configuration (see RaftMessage.removed_at): it stands no more.</summary>
    public bool RemovedByPeer { get; private set; }

    /// <summary>Ticks since this replica last heard an append or snapshot from a leader (0 while
    /// it leads). A host may close a replica that is no longer placed on it, is not a voter, and
    /// has heard nobody for long: a learner removed while it was down never hears of it.</summary>
    public long TicksWithoutLeader { get; private set; }

    /// <summary>A leader whose removal has committed hands the group to the remaining voters.</summary>
    private bool StepDownIfRemoved()
    {
        if (Role != RaftRole.Leader || IsVoter || !ConfigurationCommitted) return false;
        BecomeFollower(Term, null);
        return true;
    }

    private static string? ValidateConfigurationData(ReadOnlyMemory<byte> data)
    {
        var config = RaftConfiguration.TryDecode(data.Span, out var error);
        if (config is null) return error;
        return config.Voters.Count == 0 ? "a configuration without voters" : null;
    }

    private static string? ValidateSnapshotConfiguration(RaftMessage m)
    {
        if (m.SnapshotConfig.IsEmpty) return null;
        return ValidateConfigurationData(m.SnapshotConfig.Memory) is { } bad ? $"snapshot configuration: {bad}" : null;
    }
}

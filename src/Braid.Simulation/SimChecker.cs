using Braid.Core;
using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;

namespace Braid.Simulation;

/// <summary>
/// The invariants every run must keep, checked as the run goes: election safety (one leader per
/// term per group), identical committed prefixes on every replica (which with the online check
/// also gives log matching and leader completeness for what is committed) and the same apply
/// outcome everywhere. At the end, against a model of the dedup rule built from the committed
/// entries: every acknowledgement the core emitted names the entry that holds its batch
/// (durability, and an ack never for an overwritten entry), no (producer, sequence) is stored
/// twice, each producer's sequences are stored in order, and every replica's state (dedup table,
/// record count, retained record positions) is what the committed prefix makes it.
/// </summary>
public sealed class SimChecker(ulong producerIdleEntries = PartitionState.DefaultProducerIdleEntries)
{
    private readonly Dictionary<(uint Group, ulong Term), string> leaders = [];
    private readonly Dictionary<(uint Group, ulong Index), Committed> committed = [];
    private readonly List<(uint Group, AppendAck Ack)> acks = [];

    private sealed record Committed(ulong Term, ulong Hash, ApplyOutcome Outcome, RecordEntry? Record);

    public List<string> Violations { get; } = [];
    public int AckedCount => acks.Count;

    public void Violation(string text)
    {
        if (Violations.Count < 20) Violations.Add(text);
    }

    public void OnState(RaftStatus status)
    {
        if (status.Role != RaftRole.Leader) return;
        if (leaders.TryGetValue((status.Group, status.Term), out var other) && other != status.Id)
            Violation($"election safety: group {status.Group} term {status.Term} has leaders {other} and {status.Id}");
        leaders[(status.Group, status.Term)] = status.Id;
    }

    public void OnApply(string node, uint group, CommittedEntry entry, ApplyOutcome outcome)
    {
        var hash = Hash(entry);
        if (committed.TryGetValue((group, entry.Index), out var seen))
        {
            if (seen.Term != entry.Term || seen.Hash != hash)
                Violation($"committed prefix: {node} applied group {group} index {entry.Index} term {entry.Term}, another replica applied term {seen.Term} there");
            else if (seen.Outcome != outcome)
                Violation($"determinism: {node} applied group {group} index {entry.Index} as {outcome}, another replica as {seen.Outcome}");
            return;
        }
        RecordEntry? record = entry.IsNoop ? null : RecordEntry.Decode(entry.Data.ToArray());
        committed[(group, entry.Index)] = new Committed(entry.Term, hash, outcome, record);
        if (entry.IsNoop && !entry.Data.IsEmpty) OnConfiguration(node, group, entry);
    }

    private readonly Dictionary<uint, SortedDictionary<ulong, RaftConfiguration>> configurations = [];

    /// <summary>Committed configurations in index order must each change at most one voter of the
    /// one before (single-server changes): then any majority of one and any majority of the next
    /// share a voter, so no two configurations can decide apart (thesis 4.1).</summary>
    public long ConfigurationsCommitted => configurations.Values.Sum(c => c.Count);

    private void OnConfiguration(string node, uint group, CommittedEntry entry)
    {
        var config = RaftConfiguration.TryDecode(entry.Data.Span, out var error);
        if (config is null)
        {
            Violation($"membership: {node} committed an unreadable configuration at group {group} index {entry.Index}: {error}");
            return;
        }
        if (!configurations.TryGetValue(group, out var byIndex)) configurations[group] = byIndex = [];
        byIndex[entry.Index] = config;
        RaftConfiguration? previous = null;
        foreach (var (index, c) in byIndex)
        {
            if (previous is not null && !c.IsSingleChangeFrom(previous))
                Violation($"membership: group {group} committed {c} at {index} right after {previous}: more than one voter changed");
            previous = c;
        }
    }

    /// <summary>A replica replaced its state by a snapshot: its last entry must be the one committed there.</summary>
    public void OnSnapshot(string node, uint group, StoredSnapshot snapshot)
    {
        if (committed.TryGetValue((group, snapshot.Index), out var seen) && seen.Term != snapshot.Term)
            Violation($"snapshot: {node} group {group} restores {snapshot.Index}@{snapshot.Term}, but term {seen.Term} was committed there");
    }

    /// <summary>A producer received an Ok the core emitted.</summary>
    public void OnAck(uint group, AppendAck ack) => acks.Add((group, ack));

    /// <summary>The records stored in <paramref name="group"/> at indexes (after, through], in order:
    /// what a query over that snapshot must return (before its filter).</summary>
    public IEnumerable<(ulong Index, RecordEntry Record)> StoredRecords(uint group, ulong after, ulong through)
    {
        for (var i = after + 1; i <= through; i++)
        {
            if (!committed.TryGetValue((group, i), out var c))
            {
                Violation($"checker: group {group} index {i} is inside a query snapshot but no replica applied it");
                yield break;
            }
            if (c.Outcome == ApplyOutcome.Stored) yield return (i, c.Record!.Value);
        }
    }

    /// <summary>End-of-run checks over the committed entries, the acks and every replica's state.</summary>
    public void CheckFinal(IEnumerable<(string Node, uint Group, PartitionReplica? Replica)> replicas)
    {
        var models = new Dictionary<uint, Model>();
        foreach (var group in committed.Keys.Select(k => k.Group).Distinct().Order()) models[group] = BuildModel(group);
        foreach (var (group, ack) in acks) CheckAck(models.GetValueOrDefault(group) ?? BuildModel(group), group, ack);
        foreach (var (node, group, replica) in replicas)
        {
            if (replica is null)
            {
                Violation($"final: {node} group {group} is not running after healing");
                continue;
            }
            CheckReplica(models.GetValueOrDefault(group) ?? BuildModel(group), node, group, replica);
        }
    }

    /// <summary>The dedup rule, replayed independently over the committed entries of a group.</summary>
    private sealed class Model
    {
        public ulong LastIndex;
        /// <summary>Where each (producer, sequence) was stored: more than once only across an expiry of the producer.</summary>
        public readonly Dictionary<(ulong Producer, ulong Sequence), List<ulong>> StoredAt = [];
        public readonly List<ulong> StoredIndexes = [];
        /// <summary>Per index, the last sequence per producer after it (only for producers that changed).</summary>
        public readonly List<(ulong Index, ulong Producer, ulong Sequence)> SequenceChanges = [];
    }

    private Model BuildModel(uint group)
    {
        var model = new Model();
        var last = new Dictionary<ulong, (ulong Sequence, ulong Index)>();
        var epochs = new Dictionary<ulong, int>();
        var storedIn = new HashSet<(ulong Producer, ulong Sequence, int Epoch)>();
        for (ulong i = 1; committed.TryGetValue((group, i), out var c); i++)
        {
            model.LastIndex = i;
            // Expiry (PartitionState): a producer whose last store is producerIdleEntries behind
            // the entry being applied is forgotten before it applies, no-ops included.
            foreach (var (producer, _) in last.Where(l => i - l.Value.Index >= producerIdleEntries).ToList())
            {
                last.Remove(producer);
                epochs[producer] = epochs.GetValueOrDefault(producer) + 1;
                model.SequenceChanges.Add((i, producer, 0));
            }
            if (c.Record is not { } r) continue;
            var previous = last.GetValueOrDefault(r.Producer).Sequence;
            var expected = r.Sequence <= previous ? ApplyOutcome.Duplicate : r.Sequence == previous + 1 ? ApplyOutcome.Stored : ApplyOutcome.OutOfOrder;
            if (expected != c.Outcome) Violation($"dedup: group {group} index {i} ({r.Producer},{r.Sequence}) applied as {c.Outcome}, the rule says {expected}");
            if (expected != ApplyOutcome.Stored) continue;
            if (!storedIn.Add((r.Producer, r.Sequence, epochs.GetValueOrDefault(r.Producer)))) Violation($"exactly-once: group {group} stored ({r.Producer},{r.Sequence}) twice");
            if (!model.StoredAt.TryGetValue((r.Producer, r.Sequence), out var at)) model.StoredAt[(r.Producer, r.Sequence)] = at = [];
            at.Add(i);
            last[r.Producer] = (r.Sequence, i);
            model.StoredIndexes.Add(i);
            model.SequenceChanges.Add((i, r.Producer, r.Sequence));
        }
        var gaps = committed.Keys.Count(k => k.Group == group && k.Index > model.LastIndex);
        if (gaps > 0) Violation($"committed prefix: group {group} has {gaps} applied entries after a gap at {model.LastIndex + 1}");
        return model;
    }

    /// <summary>An Ok names the committed entry of its batch. A duplicate answered on apply names
    /// the retry's entry; one the leader answered before appending names the stored batch (its
    /// producer's last) or 0 (an older one): either way the batch must be stored at or before it.</summary>
    private void CheckAck(Model model, uint group, AppendAck ack)
    {
        var key = (ack.Producer, ack.Sequence);
        var name = $"group {group} ({ack.Producer},{ack.Sequence}) acknowledged at {ack.Index}{(ack.Duplicate ? " as a duplicate" : "")}";
        var unindexedDuplicate = ack.Duplicate && ack.Index == 0;
        if (!unindexedDuplicate && (!committed.TryGetValue((group, ack.Index), out var c) || c.Record is not { } r || r.Producer != ack.Producer || r.Sequence != ack.Sequence))
        {
            var other = committed.GetValueOrDefault((group, ack.Index))?.Record;
            Violation($"durability: {name}, but the committed entry there is {(other is { } o ? $"({o.Producer},{o.Sequence})" : "not that batch")}");
            return;
        }
        if (!model.StoredAt.TryGetValue(key, out var storedAt))
            Violation($"durability: {name}, but it is not stored");
        else if (ack.Duplicate ? !unindexedDuplicate && storedAt[0] > ack.Index : !storedAt.Contains(ack.Index))
            Violation($"ack: {name}, but it was stored at {string.Join(",", storedAt)}");
    }

    private void CheckReplica(Model model, string node, uint group, PartitionReplica replica)
    {
        var state = replica.State;
        var applied = state.AppliedIndex;
        var lastAcked = acks.Where(a => a.Group == group).Select(a => a.Ack.Index).DefaultIfEmpty().Max();
        if (applied < lastAcked)
        {
            Violation($"durability: {node} group {group} applied up to {applied}, behind the acknowledged entry {lastAcked}");
            return;
        }
        if (applied > model.LastIndex)
        {
            Violation($"checker: {node} group {group} applied {applied}, beyond every entry seen ({model.LastIndex})");
            return;
        }
        var storedThrough = model.StoredIndexes.Count(i => i <= applied);
        if (state.RecordCount != storedThrough)
            Violation($"exactly-once: {node} group {group} counts {state.RecordCount} records up to {applied}, the committed entries hold {storedThrough}");
        var expectedLast = new Dictionary<ulong, ulong>();
        foreach (var (index, producer, sequence) in model.SequenceChanges)
            if (index <= applied) expectedLast[producer] = sequence;
        foreach (var (producer, sequence) in expectedLast)
            if (state.LastSequenceOf(producer) != sequence)
                Violation($"dedup: {node} group {group} has producer {producer} at {state.LastSequenceOf(producer)}, the committed entries say {sequence}");
        var retained = model.StoredIndexes.Where(i => i > state.RetainedAfter && i <= applied).ToList();
        if (!retained.SequenceEqual(state.RecordIndexes))
            Violation($"positions: {node} group {group} holds {state.RecordIndexes.Count} record positions after {state.RetainedAfter}, the committed entries {retained.Count}");
    }

    private static ulong Hash(CommittedEntry entry) =>
        Fnv1a.Append(Fnv1a.Offset ^ (entry.IsNoop ? 1UL : 2UL), entry.Data.Span);
}

using Braid.Core;
using Braid.Core.Raft;

namespace Braid.Simulation;

/// <summary>
/// The invariants every run must keep, checked as the run goes: election safety (one leader per
/// term per group), identical committed prefixes on every replica (which with the online check
/// also gives log matching and leader completeness for what is committed), and at the end
/// durability (every acknowledged record on every replica) and exactly-once (no record stored
/// twice, each producer's records in order).
/// </summary>
public sealed class SimChecker
{
    private readonly Dictionary<(uint Group, ulong Term), string> leaders = [];
    private readonly Dictionary<(uint Group, ulong Index), (ulong Term, ulong Hash)> committed = [];
    private readonly HashSet<(uint Group, ulong Producer, ulong Sequence)> acked = [];

    public List<string> Violations { get; } = [];
    public int AckedCount => acked.Count;

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

    public void OnApply(string node, uint group, CommittedEntry entry)
    {
        var hash = Hash(entry);
        if (committed.TryGetValue((group, entry.Index), out var seen))
        {
            if (seen.Term != entry.Term || seen.Hash != hash)
                Violation($"committed prefix: {node} applied group {group} index {entry.Index} term {entry.Term}, another replica applied term {seen.Term} there");
        }
        else
        {
            committed[(group, entry.Index)] = (entry.Term, hash);
        }
    }

    /// <summary>A replica replaced its state by a snapshot: its last entry must be the one committed there.</summary>
    public void OnSnapshot(string node, uint group, Braid.Core.Log.StoredSnapshot snapshot)
    {
        if (committed.TryGetValue((group, snapshot.Index), out var seen) && seen.Term != snapshot.Term)
            Violation($"snapshot: {node} group {group} restores {snapshot.Index}@{snapshot.Term}, but term {seen.Term} was committed there");
    }

    public void OnAck(uint group, ulong producer, ulong sequence) => acked.Add((group, producer, sequence));

    /// <summary>End-of-run checks over every replica's state machine.</summary>
    public void CheckFinal(IEnumerable<(string Node, uint Group, SimStateMachine StateMachine)> replicas)
    {
        foreach (var (node, group, sm) in replicas)
        {
            var stored = new HashSet<(ulong, ulong)>();
            var lastSeq = new Dictionary<ulong, ulong>();
            foreach (var (producer, seq) in sm.Records)
            {
                if (!stored.Add((producer, seq))) Violation($"exactly-once: {node} group {group} stored ({producer},{seq}) twice");
                if (lastSeq.TryGetValue(producer, out var last) && seq <= last) Violation($"order: {node} group {group} stored ({producer},{seq}) after {last}");
                lastSeq[producer] = seq;
            }
            foreach (var (g, producer, seq) in acked)
                if (g == group && !stored.Contains((producer, seq)))
                    Violation($"durability: acknowledged ({producer},{seq}) missing on {node} group {group} (applied up to {sm.AppliedIndex})");
        }
    }

    private static ulong Hash(CommittedEntry entry) =>
        Fnv1a.Append(Fnv1a.Offset ^ (entry.IsNoop ? 1UL : 2UL), entry.Data.Span);
}

using Braid.Core.Raft;
using Braid.Core.Streams;

namespace Braid.Simulation;

/// <summary>
/// A partition replica's state in the simulator: the real <see cref="PartitionState"/> (the same
/// dedup and ordering rules the node host applies), plus what the checkers need to compare replicas.
/// </summary>
public sealed class SimStateMachine
{
    private readonly PartitionState state = new();

    /// <summary>(index, term) of every entry applied, in order.</summary>
    public List<(ulong Index, ulong Term)> Applied { get; } = [];

    /// <summary>Records stored, in apply order (after dedup).</summary>
    public List<(ulong Producer, ulong Sequence)> Records { get; } = [];

    public ulong AppliedIndex => state.AppliedIndex;

    public static byte[] Encode(ulong producer, ulong sequence) => new RecordEntry(producer, sequence, ReadOnlyMemory<byte>.Empty).Encode();

    public static (ulong Producer, ulong Sequence) Decode(ReadOnlyMemory<byte> data)
    {
        var record = RecordEntry.Decode(data);
        return (record.Producer, record.Sequence);
    }

    public ApplyOutcome Apply(CommittedEntry entry)
    {
        var outcome = state.Apply(entry);
        Applied.Add((entry.Index, entry.Term));
        if (outcome == ApplyOutcome.Stored) Records.Add(Decode(entry.Data));
        return outcome;
    }
}

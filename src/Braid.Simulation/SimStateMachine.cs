using System.Buffers.Binary;
using Braid.Core.Raft;

namespace Braid.Simulation;

/// <summary>
/// The replicated state of one partition replica in the simulator: records keyed by
/// (producer, sequence), deduplicated with the last applied sequence per producer, exactly the
/// rule the real partitions use. Rebuilt from the log on every restart.
/// </summary>
public sealed class SimStateMachine
{
    private readonly Dictionary<ulong, ulong> lastSequence = [];

    /// <summary>(index, term, payload hash) of every entry applied, in order: checked across replicas.</summary>
    public List<(ulong Index, ulong Term, ulong Hash)> Applied { get; } = [];

    /// <summary>Records stored, in apply order (after dedup).</summary>
    public List<(ulong Producer, ulong Sequence)> Records { get; } = [];

    public ulong AppliedIndex { get; private set; }

    public static byte[] Encode(ulong producer, ulong sequence)
    {
        var data = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(data, producer);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8), sequence);
        return data;
    }

    public static (ulong Producer, ulong Sequence) Decode(ReadOnlySpan<byte> data) =>
        (BinaryPrimitives.ReadUInt64LittleEndian(data), BinaryPrimitives.ReadUInt64LittleEndian(data[8..]));

    /// <summary>Applies one committed entry; returns the record it stored, or null for a no-op or a duplicate.</summary>
    public (ulong Producer, ulong Sequence)? Apply(CommittedEntry entry)
    {
        if (entry.Index != AppliedIndex + 1) throw new InvalidOperationException($"apply out of order: {entry.Index} after {AppliedIndex}");
        AppliedIndex = entry.Index;
        Applied.Add((entry.Index, entry.Term, Hash(entry)));
        if (entry.IsNoop) return null;
        var record = Decode(entry.Data.Span);
        if (lastSequence.TryGetValue(record.Producer, out var last) && record.Sequence <= last) return null;
        lastSequence[record.Producer] = record.Sequence;
        Records.Add(record);
        return record;
    }

    private static ulong Hash(CommittedEntry entry)
    {
        var hash = 14695981039346656037UL ^ (entry.IsNoop ? 1UL : 2UL);
        foreach (var b in entry.Data.Span) hash = (hash ^ b) * 1099511628211UL;
        return hash;
    }
}

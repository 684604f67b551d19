using System.Buffers.Binary;
using Braid.Core.Log;
using Braid.Core.Streams;
using Braid.Simulation;

namespace Braid.Cli.Fuzz;

/// <summary>
/// A replica's files at rest: the data folder of a leader that appended 40 batches with retention
/// on (several segments, a hard state, a snapshot), one file replaced by the input, then the
/// replica opened as a node start opens it (PartitionReplica: log recovery, hard state,
/// snapshot restore, re-apply). Expected: it opens (the same log, or a torn tail cut) or it
/// refuses with a <see cref="LogException"/> (corruption or format). An open that returns other
/// entries than the ones written is silent corruption: a failure.
/// </summary>
internal abstract class StorageFuzzTarget : FuzzTarget
{
    private static readonly Lazy<Template> Files = new(BuildTemplate);

    protected sealed record Template(Dictionary<string, byte[]> Files, ulong LastIndex, Dictionary<ulong, (ulong Term, string Data)> Entries);

    protected static Template Original => Files.Value;

    /// <summary>Opens with tail cuts (accepted with fewer entries than written), counted apart.</summary>
    public long TailCuts { get; private set; }

    private static Template BuildTemplate()
    {
        using var group = RaftFuzzTarget.Build(state: 4, seed: 77);
        var device = group.DeviceOf("A");
        var files = device.ListNames().ToDictionary(n => n, device.ContentsOf);
        var raft = group["A"].Raft;
        var entries = new Dictionary<ulong, (ulong, string)>();
        foreach (var e in group["A"].ReadLog(raft.FirstIndex, raft.LastIndex, long.MaxValue))
            entries[e.Index] = (e.Term, Convert.ToHexString(e.Payload.Span));
        return new Template(files, raft.LastIndex, entries);
    }

    /// <summary>The template's files with <paramref name="name"/> replaced by <paramref name="contents"/>, opened as a replica.</summary>
    protected string? Open(string name, ReadOnlySpan<byte> contents)
    {
        var device = new SimulatedDevice(0);
        foreach (var (file, bytes) in Original.Files) device.WriteDurably(file, file == name ? contents : bytes);
        PartitionReplica replica;
        try
        {
            replica = new PartitionReplica(0, "A", MiniRaftGroup.Ids, device, new Random(1), MiniRaftGroup.Options);
        }
        catch (LogException e)
        {
            return e.GetType().Name;
        }
        using (replica)
        {
            replica.TakeOutput();
            var raft = replica.Raft;
            foreach (var e in replica.ReadLog(raft.FirstIndex, raft.LastIndex, long.MaxValue))
                FuzzInvariantException.Check(Original.Entries.TryGetValue(e.Index, out var was) && was.Term == e.Term && was.Data == Convert.ToHexString(e.Payload.Span),
                    $"entry {e.Index}@{e.Term} read back is not the entry written there");
            if (raft.LastIndex < Original.LastIndex) TailCuts++;
            return null;
        }
    }

    /// <summary>Writes a valid CRC-32C into the last 4 bytes, so the checks behind the checksum are fuzzed too.</summary>
    protected static byte[] WithChecksum(ReadOnlySpan<byte> contents)
    {
        var bytes = contents.ToArray();
        if (bytes.Length >= 4) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)));
        return bytes;
    }
}

/// <summary>Segment files: byte 0 picks which segment the rest replaces.</summary>
internal sealed class SegmentFuzzTarget : StorageFuzzTarget
{
    private static readonly Lazy<string[]> SegmentNames = new(() =>
        Original.Files.Keys.Where(n => n != HardStateStore.FileName && n != SnapshotStore.FileName).Order(StringComparer.Ordinal).ToArray());

    public override string Name => "segment";
    public override string Description => $"a segment file (byte 0 picks one of {SegmentNames.Value.Length}) replaced, the replica opened";

    public override IReadOnlyList<byte[]> Seeds { get; } = SegmentNames.Value.Select((n, i) => (byte[])[(byte)i, .. Original.Files[n]]).ToArray();

    public override int InputBytesMax => 64 * 1024;

    public override string? Run(byte[] input)
    {
        if (input.Length == 0) return "empty input";
        var names = SegmentNames.Value;
        return Open(names[input[0] % names.Length], input.AsSpan(1));
    }
}

/// <summary>The hard state or snapshot file; byte 0 odd: the checksum is made valid after mutation
/// (unless <paramref name="fixUpChecksums"/> is false: then only what a damaged disk can produce).</summary>
internal sealed class SmallFileFuzzTarget(string name, string fileName, bool fixUpChecksums = true) : StorageFuzzTarget
{
    public override string Name => name;
    public override string Description => $"the {fileName} file replaced (byte 0 odd: checksum fixed up after mutation), the replica opened";

    public override IReadOnlyList<byte[]> Seeds { get; } = [[0, .. Original.Files[fileName]], [1, .. Original.Files[fileName]]];

    public override int InputBytesMax => 64 * 1024;

    public override string? Run(byte[] input)
    {
        if (input.Length == 0) return "empty input";
        var contents = input.AsSpan(1);
        bool fixUp = fixUpChecksums && input[0] % 2 == 1;
        var refusal = Open(fileName, fixUp ? WithChecksum(contents) : contents);
        return refusal is null ? null : refusal + (fixUp ? " (checksum fixed up)" : "");
    }
}

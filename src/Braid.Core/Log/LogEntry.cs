namespace Braid.Core.Log;

/// <summary>One Raft log entry as stored: its position, the term it was created in, and opaque bytes.</summary>
/// <param name="Index">Position in the log, starting at 1 (Raft numbering).</param>
/// <param name="Term">Raft term of the leader that created the entry.</param>
/// <param name="Payload">The entry's bytes; may share a buffer with the other entries of one read.</param>
public readonly record struct LogEntry(ulong Index, ulong Term, ReadOnlyMemory<byte> Payload);

/// <summary>Tunables of a <see cref="SegmentedLog"/>, with the defaults of issue 3.</summary>
public sealed record LogOptions
{
    /// <summary>
    /// A segment is sealed and a new one started once the next frame would push it past this
    /// size (64 MiB, as Kafka's default order of magnitude: few files, cheap retention by
    /// deleting whole files). A single larger entry still gets a segment of its own.
    /// </summary>
    public long SegmentBytesMax { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Largest payload accepted. Bounds memory on read and lets recovery reject an absurd length
    /// field as damage instead of trying to allocate it.
    /// </summary>
    public int EntryBytesMax { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Frame bytes of the newest entries kept in memory for reads (the tail cache; see
    /// <c>SegmentedLog.Tail.cs</c>). 0, the default, keeps none: every read goes to the device
    /// and verifies its checksums again.
    /// </summary>
    public long TailCacheBytes { get; init; }

    /// <summary>Size of the buffer used to scan segments on open; bounds recovery memory.</summary>
    public int ScanBufferBytes { get; init; } = 256 * 1024;

    internal void Validate()
    {
        if (SegmentBytesMax < SegmentFormat.HeaderBytes + SegmentFormat.FrameHeaderBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentBytesMax), SegmentBytesMax, "too small for one frame");
        }

        if (EntryBytesMax < 0 || EntryBytesMax > int.MaxValue - SegmentFormat.FrameHeaderBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(EntryBytesMax), EntryBytesMax, "out of range");
        }

        if (ScanBufferBytes < SegmentFormat.FrameHeaderBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(ScanBufferBytes), ScanBufferBytes, "too small");
        }
    }
}

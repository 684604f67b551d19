using System.Buffers.Binary;

namespace Braid.Core.Streams;

/// <summary>
/// The payload of a data entry in a partition's Raft log: who produced it and its sequence
/// (the exactly-once key), then the record bytes. Little-endian, fixed 16-byte header.
/// </summary>
public readonly record struct RecordEntry(ulong Producer, ulong Sequence, ReadOnlyMemory<byte> Payload)
{
    public const int HeaderBytes = 16;

    public byte[] Encode()
    {
        var data = new byte[HeaderBytes + Payload.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(data, Producer);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8), Sequence);
        Payload.Span.CopyTo(data.AsSpan(HeaderBytes));
        return data;
    }

    /// <summary>Why <paramref name="data"/> is not a record entry, or null (checked before a
    /// replica appends an entry it received).</summary>
    public static string? Validate(ReadOnlyMemory<byte> data) =>
        data.Length < HeaderBytes ? $"record entry of {data.Length} bytes is shorter than its {HeaderBytes}-byte header" : null;

    /// <summary>Decodes an entry; throws <see cref="InvariantViolationException"/> on a frame too short
    /// (the log checksums entries, so this means a bug, not corruption).</summary>
    public static RecordEntry Decode(ReadOnlyMemory<byte> data)
    {
        Invariant.Check(data.Length >= HeaderBytes, $"record entry of {data.Length} bytes is shorter than its header");
        var span = data.Span;
        return new RecordEntry(BinaryPrimitives.ReadUInt64LittleEndian(span), BinaryPrimitives.ReadUInt64LittleEndian(span[8..]), data[HeaderBytes..]);
    }
}

using System.Buffers.Binary;
using System.Text;

namespace Braid.Core.Streams;

/// <summary>
/// A durable consumer's committed position in one partition (issue 13, item 4), written to the
/// partition's own log as a control entry: a <see cref="RecordEntry"/> with producer 0 (clients
/// use producers from 1), so the position is replicated, snapshotted and restored with the
/// partition, like Kafka's committed offsets, without a separate store.
/// Payload: kind(1)=1, nameLength(2), name (UTF-8), nextIndex(8), skip(4), little-endian.
/// </summary>
/// <param name="NextIndex">The first log entry the consumer has not fully processed.</param>
/// <param name="Skip">Records of that entry's batch already processed.</param>
public readonly record struct ConsumerCommit(string Consumer, ulong NextIndex, uint Skip)
{
    /// <summary>The producer id of control entries.</summary>
    public const ulong ControlProducer = 0;

    /// <summary>Longest consumer name, in UTF-8 bytes.</summary>
    public const int NameBytesMax = 128;

    /// <summary>Consumers a partition remembers; a commit of one more is refused on apply (the same on every replica).</summary>
    public const int ConsumersMax = 10_000;

    private const byte Kind = 1;

    /// <summary>Why <paramref name="consumer"/> cannot name a consumer, or null.</summary>
    public static string? ValidateName(string? consumer)
    {
        if (string.IsNullOrEmpty(consumer)) return "a consumer needs a name";
        var bytes = Encoding.UTF8.GetByteCount(consumer);
        if (bytes > NameBytesMax) return $"consumer name of {bytes} bytes is longer than {NameBytesMax}";
        return consumer.Any(char.IsControl) ? "a consumer name may not hold control characters" : null;
    }

    public byte[] Encode()
    {
        var name = Encoding.UTF8.GetBytes(Consumer);
        Invariant.Check(ValidateName(Consumer) is null && NextIndex >= 1, $"consumer commit {this}");
        var data = new byte[1 + 2 + name.Length + 8 + 4];
        data[0] = Kind;
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(1), (ushort)name.Length);
        name.CopyTo(data.AsSpan(3));
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(3 + name.Length), NextIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(11 + name.Length), Skip);
        return data;
    }

    /// <summary>Reads a control entry's payload; false for anything malformed (applied as a no-op
    /// on every replica alike: a peer could propose garbage, it must not stop the partition).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, out ConsumerCommit commit)
    {
        commit = default;
        if (data.Length < 3 || data[0] != Kind) return false;
        var length = BinaryPrimitives.ReadUInt16LittleEndian(data[1..]);
        if (length == 0 || length > NameBytesMax || data.Length != 3 + length + 12) return false;
        string name;
        try
        {
            name = new UTF8Encoding(false, true).GetString(data.Slice(3, length));
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        var next = BinaryPrimitives.ReadUInt64LittleEndian(data[(3 + length)..]);
        if (next == 0 || ValidateName(name) is not null) return false;
        commit = new ConsumerCommit(name, next, BinaryPrimitives.ReadUInt32LittleEndian(data[(11 + length)..]));
        return true;
    }
}

using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Braid.Protocol.V1;

namespace Braid.Data;

/// <summary>
/// Compact binary encoding of a batch of <see cref="RawRecord"/>s, the records of raw payload
/// streams (issue 13): the payload of one Raft entry. Keys, values and header values are opaque
/// bytes and come back byte-identical; header names repeat from record to record, so each distinct
/// one is stored once per batch and headers refer to it by index.
/// </summary>
/// <remarks>
/// Layout (varints LEB128, signed ones zig-zag):
/// <code>
/// "RWB" version(1)  recordCount
/// nameCount { length UTF-8 }*                 every distinct header name once, in order of first use
/// baseTimestampMs (signed)                    the first record's
/// records { Δtimestamp:signed  keyLength key  valueLength value  headerCount { nameIndex valueLength value }* }*
/// </code>
/// A timestamp is stored as its difference from the first record's, wrapping on overflow (so any
/// two longs round-trip). Every limit below is a public constant: <see cref="Validate"/> refuses a
/// record beyond one with a message naming it (the node answers INVALID_ARGUMENT), and the decoder
/// refuses bytes beyond one. The decoder checks every bound and throws only
/// <see cref="RecordFormatException"/> on bad bytes: no length prefix makes it allocate more than
/// the input could hold.
/// </remarks>
public static partial class RawBatchCodec
{
    /// <summary>Largest value of a record, in bytes (4 MiB less 64 KiB, so that one such record with its key and headers fits a node's 4 MiB batch). Empty values are legal.</summary>
    public const int ValueBytesMax = (4 << 20) - (64 << 10);

    /// <summary>Largest key of a record, in bytes (4 KiB). Empty keys are legal (the producer then
    /// spreads records round robin over the partitions).</summary>
    public const int KeyBytesMax = 4 << 10;

    /// <summary>Most headers one record may carry. Names may repeat; their order is kept.</summary>
    public const int HeadersPerRecordMax = 64;

    /// <summary>Longest header name, in UTF-8 bytes. A name is never empty and is well-formed text
    /// (a proto3 string: a lone UTF-16 surrogate has no UTF-8 form and is refused).</summary>
    public const int HeaderNameBytesMax = 256;

    /// <summary>Largest header value, in bytes (64 KiB). Empty header values are legal.</summary>
    public const int HeaderValueBytesMax = 64 << 10;

    private static ReadOnlySpan<byte> Magic => "RWB"u8;
    private const byte Version = 1;

    /// <summary>Fewest bytes a record takes: Δtimestamp, key length, value length, header count.</summary>
    private const int RecordBytesMin = 4;

    /// <summary>Fewest bytes a name of the table takes: its length and one byte.</summary>
    private const int NameBytesMin = 2;

    /// <summary>
    /// Null when <paramref name="record"/> can be stored, else why not, naming the record (by
    /// <paramref name="index"/>, its place in the batch), the header and the limit it breaks.
    /// </summary>
    public static string? Validate(RawRecord record, int index)
    {
        if (record is null) return $"record {index} is null";
        if (record.Key.Length > KeyBytesMax)
            return $"record {index}: key of {record.Key.Length} bytes exceeds KeyBytesMax ({KeyBytesMax})";
        if (record.Value.Length > ValueBytesMax)
            return $"record {index}: value of {record.Value.Length} bytes exceeds ValueBytesMax ({ValueBytesMax})";
        if (record.Headers.Count > HeadersPerRecordMax)
            return $"record {index}: {record.Headers.Count} headers exceed HeadersPerRecordMax ({HeadersPerRecordMax})";
        for (int h = 0; h < record.Headers.Count; h++)
        {
            var header = record.Headers[h];
            if (header.Key.Length == 0) return $"record {index}, header {h}: the name is empty";
            int nameBytes = NameBytes(header.Key);
            if (nameBytes < 0)
                return $"record {index}, header {h}: the name is not well-formed text "
                    + "(a lone UTF-16 surrogate has no UTF-8 form)";
            if (nameBytes > HeaderNameBytesMax)
                return $"record {index}, header {h} ('{Short(header.Key)}'): name of {nameBytes} UTF-8 bytes "
                    + $"exceeds HeaderNameBytesMax ({HeaderNameBytesMax})";
            if (header.Value.Length > HeaderValueBytesMax)
                return $"record {index}, header {h} ('{Short(header.Key)}'): value of {header.Value.Length} bytes "
                    + $"exceeds HeaderValueBytesMax ({HeaderValueBytesMax})";
        }
        return null;
    }

    /// <summary>
    /// Encodes <paramref name="records"/> in order into a batch of exactly the size it needs.
    /// Throws <see cref="ArgumentException"/> with <see cref="Validate"/>'s message for a record
    /// beyond a limit, or when the batch would not fit an array.
    /// </summary>
    public static byte[] Encode(IReadOnlyList<RawRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var nameList = new List<string>();
        long baseTimestampMs = records.Count == 0 ? 0 : records[0]?.TimestampMs ?? 0;
        long size = Magic.Length + 1 + VarBytes((ulong)records.Count) + VarBytes(ZigZag(baseTimestampMs));
        long namesSize = 0;
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            if (Validate(r, i) is { } error) throw new ArgumentException(error, nameof(records));
            size += VarBytes(ZigZag(unchecked(r.TimestampMs - baseTimestampMs))) + Blob(r.Key.Length) + Blob(r.Value.Length)
                + VarBytes((ulong)r.Headers.Count);
            foreach (var header in r.Headers)
            {
                if (!names.TryGetValue(header.Key, out int name))
                {
                    name = nameList.Count;
                    names.Add(header.Key, name);
                    nameList.Add(header.Key);
                    namesSize += Blob(Encoding.UTF8.GetByteCount(header.Key));
                }
                size += VarBytes((ulong)name) + Blob(header.Value.Length);
            }
        }
        size += VarBytes((ulong)nameList.Count) + namesSize;
        if (size > Array.MaxLength)
            throw new ArgumentException(
                $"a batch of {records.Count} records would take {size} bytes, more than an array holds", nameof(records));
        var writer = new BatchWriter((int)size);
        writer.WriteBytes(Magic);
        writer.WriteByte(Version);
        writer.WriteVarUInt64((ulong)records.Count);
        writer.WriteVarUInt64((ulong)nameList.Count);
        foreach (var name in nameList) writer.WriteString(name);
        writer.WriteVarInt64(baseTimestampMs);
        foreach (var r in records)
        {
            writer.WriteVarInt64(unchecked(r.TimestampMs - baseTimestampMs));
            WriteBlob(writer, r.Key.Span);
            WriteBlob(writer, r.Value.Span);
            writer.WriteVarUInt64((ulong)r.Headers.Count);
            foreach (var header in r.Headers)
            {
                writer.WriteVarUInt64((ulong)names[header.Key]);
                WriteBlob(writer, header.Value.Span);
            }
        }
        var batch = writer.ToArray();
        if (batch.Length != size)
            throw new InvalidOperationException($"raw batch sized {size} bytes but {batch.Length} were written");
        return batch;
    }

    /// <summary>
    /// Most bytes <paramref name="record"/> adds to a batch (its header names counted in full, as
    /// if none were shared): what a producer counts against its batch and buffer limits.
    /// </summary>
    public static int RecordBytesMax(RawRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        long size = 10 + Blob(record.Key.Length) + Blob(record.Value.Length) + VarBytes((ulong)record.Headers.Count);
        foreach (var header in record.Headers)
            size += 5 + Blob(Encoding.UTF8.GetByteCount(header.Key)) + Blob(header.Value.Length);
        return (int)Math.Min(size, int.MaxValue);
    }

    /// <summary>UTF-8 length of a header name, or -1 when it has none (a lone surrogate).</summary>
    private static int NameBytes(string name)
    {
        if (name.Length > HeaderNameBytesMax) return Encoding.UTF8.GetByteCount(name); // beyond the limit whatever it holds
        Span<byte> utf8 = stackalloc byte[HeaderNameBytesMax * 3];
        var status = Utf8.FromUtf16(name, utf8, out _, out int written, replaceInvalidSequences: false);
        return status == OperationStatus.Done ? written : -1;
    }

    private static string Short(string name) => name.Length <= 40 ? name : name[..40] + "…";

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static int VarBytes(ulong value)
    {
        int bytes = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            bytes++;
        }
        return bytes;
    }

    private static long Blob(int length) => VarBytes((ulong)length) + (long)length;

    private static void WriteBlob(BatchWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.WriteVarUInt64((ulong)bytes.Length);
        writer.WriteBytes(bytes);
    }
}

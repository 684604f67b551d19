using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Data;

public static partial class RawBatchCodec
{
    /// <summary>The header name table: where each name lies (pooled), and the names decoded so far.</summary>
    private ref struct Names
    {
        public (int Start, int Length)[] Ranges;
        public int Count;
        public string?[]? Decoded;

        public string Get(ReadOnlySpan<byte> data, int index)
        {
            Decoded ??= new string?[Count];
            return Decoded[index] ??= Encoding.UTF8.GetString(data.Slice(Ranges[index].Start, Ranges[index].Length));
        }
    }

    /// <summary>Number of records in a batch, from its first bytes alone (cheap; checks the magic,
    /// the version and that the count is possible for the batch's length).</summary>
    public static int Count(ReadOnlySpan<byte> batch)
    {
        var reader = new BatchReader(batch);
        return ReadCount(ref reader);
    }

    /// <summary>
    /// Checks every byte of a batch as <see cref="Decode(ReadOnlySpan{byte}, int, int, List{RawRecord})"/>
    /// would, without building a record (no allocation beyond a pooled array): what a replica runs
    /// on a batch before accepting it. Returns the record count; throws only
    /// <see cref="RecordFormatException"/>.
    /// </summary>
    public static int Verify(ReadOnlySpan<byte> batch)
    {
        var reader = new BatchReader(batch);
        int count = ReadCount(ref reader);
        var names = new Names { Ranges = [] };
        try
        {
            ReadNames(ref reader, count, ref names, keepRanges: false);
            long baseTimestampMs = reader.ReadVarInt64();
            for (int i = 0; i < count; i++) ReadRecord(ref reader, ref names, baseTimestampMs, build: false);
            if (reader.Remaining != 0) reader.Throw($"{reader.Remaining} bytes after the last record");
            return count;
        }
        finally
        {
            Return(ref names);
        }
    }

    /// <summary>
    /// Adds up to <paramref name="maxRecords"/> records to <paramref name="into"/>, from record
    /// <paramref name="startRecord"/> on (the records before it are skipped, their bounds still
    /// checked). <see cref="ScanResult.Matched"/> is the number added and
    /// <see cref="ScanResult.NextRecord"/> where a cursor resumes. Throws
    /// <see cref="RecordFormatException"/> on bad bytes, having added nothing, and
    /// <see cref="ArgumentOutOfRangeException"/> for a start beyond the batch.
    /// </summary>
    public static ScanResult Decode(ReadOnlySpan<byte> batch, int startRecord, int maxRecords, List<RawRecord> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRecords);
        var reader = new BatchReader(batch);
        int count = ReadCount(ref reader);
        if (startRecord < 0 || startRecord > count)
            throw new ArgumentOutOfRangeException(nameof(startRecord), $"start {startRecord} is outside a batch of {count} records");
        if (maxRecords == 0) return new ScanResult(0, startRecord, count);
        int before = into.Count;
        var names = new Names { Ranges = [] };
        try
        {
            ReadNames(ref reader, count, ref names, keepRanges: true);
            long baseTimestampMs = reader.ReadVarInt64();
            into.EnsureCapacity(before + Math.Min(Math.Min(count - startRecord, maxRecords), 1 << 16));
            for (int i = 0; i < count; i++)
            {
                var record = ReadRecord(ref reader, ref names, baseTimestampMs, build: i >= startRecord);
                if (record is null) continue;
                into.Add(record);
                if (into.Count - before == maxRecords && i + 1 < count) return new ScanResult(maxRecords, i + 1, count);
            }
            if (reader.Remaining != 0) reader.Throw($"{reader.Remaining} bytes after the last record");
            return new ScanResult(into.Count - before, count, count);
        }
        catch (RecordFormatException)
        {
            into.RemoveRange(before, into.Count - before);
            throw;
        }
        finally
        {
            Return(ref names);
        }
    }

    /// <summary>Decodes every record (tests, small batches).</summary>
    public static RawRecord[] Decode(ReadOnlySpan<byte> batch)
    {
        var records = new List<RawRecord>();
        Decode(batch, 0, int.MaxValue, records);
        return [.. records];
    }

    private static int ReadCount(ref BatchReader reader)
    {
        if (reader.Remaining < 4 || !reader.Data[..3].SequenceEqual(Magic)) reader.Throw("not a raw record batch (bad magic)");
        reader.ReadByte(); reader.ReadByte(); reader.ReadByte();
        byte version = reader.ReadByte();
        if (version != Version) reader.Throw($"unsupported raw batch version {version}");
        ulong count = reader.ReadVarUInt64();
        if (count > (ulong)(reader.Remaining / RecordBytesMin))
            reader.Throw($"record count {count} exceeds what {reader.Remaining} bytes can hold");
        return (int)count;
    }

    private static void ReadNames(ref BatchReader reader, int count, ref Names names, bool keepRanges)
    {
        ulong declared = reader.ReadVarUInt64();
        if (declared > (ulong)count * HeadersPerRecordMax || declared > (ulong)(reader.Remaining / NameBytesMin))
            reader.Throw($"header name count {declared} is impossible here");
        names.Count = (int)declared;
        if (keepRanges && names.Count > 0) names.Ranges = ArrayPool<(int, int)>.Shared.Rent(names.Count);
        for (int n = 0; n < names.Count; n++)
        {
            var range = reader.ReadRange(HeaderNameBytesMax, "header name");
            if (range.Length == 0) reader.Throw($"header name {n} is empty");
            if (!Utf8.IsValid(reader.Data.Slice(range.Start, range.Length))) reader.Throw($"header name {n} is not valid UTF-8");
            if (keepRanges) names.Ranges[n] = range;
        }
    }

    /// <summary>Reads one record, checking every bound; builds it only when <paramref name="build"/>.</summary>
    private static RawRecord? ReadRecord(ref BatchReader reader, ref Names names, long baseTimestampMs, bool build)
    {
        long timestampMs = unchecked(baseTimestampMs + reader.ReadVarInt64());
        var key = reader.ReadRange(KeyBytesMax, "key");
        var value = reader.ReadRange(ValueBytesMax, "value");
        ulong headers = reader.ReadVarUInt64();
        if (headers > HeadersPerRecordMax) reader.Throw($"{headers} headers exceed the limit of {HeadersPerRecordMax}");
        var record = build
            ? new RawRecord { TimestampMs = timestampMs, Key = Bytes(reader.Data, key), Value = Bytes(reader.Data, value) }
            : null;
        for (int h = 0; h < (int)headers; h++)
        {
            int name = reader.ReadIndex(names.Count, "header name index");
            var headerValue = reader.ReadRange(HeaderValueBytesMax, "header value");
            record?.Headers.Add(new RecordHeader
            {
                Key = names.Get(reader.Data, name),
                Value = Bytes(reader.Data, headerValue),
            });
        }
        return record;
    }

    private static ByteString Bytes(ReadOnlySpan<byte> data, (int Start, int Length) range) =>
        range.Length == 0 ? ByteString.Empty : ByteString.CopyFrom(data.Slice(range.Start, range.Length));

    private static void Return(ref Names names)
    {
        if (names.Ranges.Length > 0) ArrayPool<(int, int)>.Shared.Return(names.Ranges);
        names.Ranges = [];
    }
}

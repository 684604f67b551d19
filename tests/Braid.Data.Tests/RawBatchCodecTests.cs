using System.Text;
using Braid.Data;
using Braid.Protocol.V1;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Braid.Data.Tests;

/// <summary>The raw record batch codec (issue 13): byte-identical round trips, limits, hostile bytes.</summary>
public class RawBatchCodecTests(ITestOutputHelper output)
{
    private static readonly string[] HeaderNames = ["trace-id", "content-type", "x", "Ünïcødé-名前", "retry", new string('h', RawBatchCodec.HeaderNameBytesMax)];

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(3, 300)]
    public void RandomRecordsRoundTripByteIdentical(int seed, int count)
    {
        var records = RandomRecords(seed, count);

        var batch = RawBatchCodec.Encode(records);

        Assert.Equal(count, RawBatchCodec.Count(batch));
        Assert.Equal(count, RawBatchCodec.Verify(batch));
        var decoded = RawBatchCodec.Decode(batch);
        Assert.Equal(records, decoded);
        for (int i = 0; i < count; i++) Assert.Equal(records[i].ToByteArray(), decoded[i].ToByteArray());
        Assert.Equal(batch, RawBatchCodec.Encode(decoded));
    }

    [Fact]
    public void TheSamplesCoverEveryByteValueEmptyPayloadsManyHeadersAndExtremeTimestamps()
    {
        var records = RandomRecords(3, 300);
        var seen = new bool[256];
        foreach (var r in records)
        {
            foreach (byte b in r.Value.Span) seen[b] = true;
            foreach (byte b in r.Key.Span) seen[b] = true;
        }
        Assert.All(seen, Assert.True);
        Assert.Contains(records, r => r.Key.IsEmpty && r.Value.IsEmpty && r.Headers.Count == 0);
        Assert.Contains(records, r => r.Value.Length == 1 << 20);
        Assert.Contains(records, r => r.Headers.Count == RawBatchCodec.HeadersPerRecordMax);
        Assert.Contains(records, r => r.Headers.GroupBy(h => h.Key).Any(g => g.Count() > 1));
        Assert.Contains(records, r => r.TimestampMs == long.MinValue);
        Assert.Contains(records, r => r.TimestampMs == long.MaxValue);
        Assert.Contains(records, r => r.TimestampMs == 0);
        Assert.Contains(records, r => r.TimestampMs < 0 && r.TimestampMs != long.MinValue);
    }

    [Fact]
    public void TimestampsAtBothEndsOfTheRangeRoundTripWhateverComesFirst()
    {
        long[] timestamps = [long.MaxValue, long.MinValue, -1, 0, 1_700_000_000_000, long.MinValue + 1, long.MaxValue - 1];
        var records = timestamps.Select(t => new RawRecord { TimestampMs = t }).ToArray();

        var decoded = RawBatchCodec.Decode(RawBatchCodec.Encode(records));

        Assert.Equal(timestamps, decoded.Select(r => r.TimestampMs));
    }

    [Fact]
    public void ADecodeResumedFromItsNextRecordYieldsExactlyTheRest()
    {
        var records = RandomRecords(4, 120, largeValues: false);
        var batch = RawBatchCodec.Encode(records);
        var all = new List<RawRecord>();
        int start = 0, calls = 0;
        while (true)
        {
            var result = RawBatchCodec.Decode(batch, start, 7, all);
            calls++;
            Assert.InRange(result.Matched, 1, 7);
            Assert.Equal(records.Length, result.RecordCount);
            start = result.NextRecord;
            if (result.Completed) break;
        }
        Assert.Equal(records, all);
        Assert.Equal(18, calls);

        var rest = new List<RawRecord>();
        Assert.Equal(new ScanResult(70, 120, 120), RawBatchCodec.Decode(batch, 50, int.MaxValue, rest));
        Assert.Equal(records[50..], rest);
        Assert.Equal(new ScanResult(0, 120, 120), RawBatchCodec.Decode(batch, 120, 5, rest));
        Assert.Equal(new ScanResult(0, 3, 120), RawBatchCodec.Decode(batch, 3, 0, rest));
        Assert.Throws<ArgumentOutOfRangeException>(() => RawBatchCodec.Decode(batch, 121, 1, rest));
        Assert.Throws<ArgumentOutOfRangeException>(() => RawBatchCodec.Decode(batch, -1, 1, rest));
    }

    [Fact]
    public void RepeatedHeaderNamesAreStoredOnceSoABatchIsSmallerThanItsProtobuf()
    {
        var records = Enumerable.Range(0, 500).Select(i => new RawRecord
        {
            Key = ByteString.CopyFromUtf8("sensor-" + (i % 17)),
            Value = ByteString.CopyFrom(new byte[24]),
            TimestampMs = 1_700_000_000_000 + i * 5,
            Headers = { Header("content-type", "application/octet-stream"), Header("trace-id", i.ToString("x8")) },
        }).ToArray();

        var batch = RawBatchCodec.Encode(records);

        long protobuf = records.Sum(r => (long)r.CalculateSize() + 2);
        Assert.True(batch.Length * 5 < protobuf * 4, $"{batch.Length} bytes vs {protobuf} of protobuf");
        Assert.True(batch.Length <= 16 + records.Sum(RawBatchCodec.RecordBytesMax), "RecordBytesMax is not an upper bound");
    }

    [Fact]
    public void RecordsAtEveryLimitAreAcceptedAndOneByteMoreIsRefusedWithAMessageNamingRecordAndLimit()
    {
        var atLimits = new RawRecord
        {
            Key = ByteString.CopyFrom(new byte[RawBatchCodec.KeyBytesMax]),
            Value = ByteString.CopyFrom(new byte[RawBatchCodec.ValueBytesMax]),
        };
        atLimits.Headers.Add(Enumerable.Range(0, RawBatchCodec.HeadersPerRecordMax - 1).Select(i => Header("h", "")));
        atLimits.Headers.Add(new RecordHeader { Key = new string('n', RawBatchCodec.HeaderNameBytesMax), Value = ByteString.CopyFrom(new byte[RawBatchCodec.HeaderValueBytesMax]) });
        Assert.Null(RawBatchCodec.Validate(atLimits, 0));
        Assert.Equal([atLimits], RawBatchCodec.Decode(RawBatchCodec.Encode([atLimits])));

        AssertRefused(r => r.Key = ByteString.CopyFrom(new byte[RawBatchCodec.KeyBytesMax + 1]), "record 1: key of 4097 bytes exceeds KeyBytesMax (4096)");
        AssertRefused(r => r.Value = ByteString.CopyFrom(new byte[RawBatchCodec.ValueBytesMax + 1]), $"record 1: value of {RawBatchCodec.ValueBytesMax + 1} bytes exceeds ValueBytesMax ({RawBatchCodec.ValueBytesMax})");
        AssertRefused(r => r.Headers.Add(Enumerable.Range(0, 65).Select(_ => Header("a", ""))), "record 1: 65 headers exceed HeadersPerRecordMax (64)");
        AssertRefused(r => r.Headers.Add(Header("", "v")), "record 1, header 0: the name is empty");
        AssertRefused(r => r.Headers.Add(Header("ok", "")), null);
        AssertRefused(r => r.Headers.Add(Header(new string('é', 129), "")),
            $"record 1, header 0 ('{new string('é', 40)}…'): name of 258 UTF-8 bytes exceeds HeaderNameBytesMax (256)");
        AssertRefused(r => r.Headers.Add(Header("a\uD800b", "")), "record 1, header 0: the name is not well-formed text (a lone UTF-16 surrogate has no UTF-8 form)");
        AssertRefused(r => r.Headers.Add([Header("ok", ""), new RecordHeader { Key = "big", Value = ByteString.CopyFrom(new byte[RawBatchCodec.HeaderValueBytesMax + 1]) }]),
            "record 1, header 1 ('big'): value of 65537 bytes exceeds HeaderValueBytesMax (65536)");
        Assert.Equal("record 4 is null", RawBatchCodec.Validate(null!, 4));
    }

    [Fact]
    public void LengthsBeyondALimitOrTheDataAreRefusedBeforeAnythingIsAllocated()
    {
        // One record: Δtimestamp 0, key length 0, then a value length of 2^62 with no bytes behind it.
        byte[] huge = [.. "RWB\u0001"u8, 1, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
        var e = Assert.Throws<RecordFormatException>(() => RawBatchCodec.Decode(huge));
        Assert.Contains($"value of 4611686018427387904 bytes exceeds its limit of {RawBatchCodec.ValueBytesMax}", e.Message, StringComparison.Ordinal);

        byte[] pastEnd = [.. "RWB\u0001"u8, 1, 0, 0, 0, 5, 1, 2, 0];
        e = Assert.Throws<RecordFormatException>(() => RawBatchCodec.Decode(pastEnd));
        Assert.Contains("key of 5 bytes runs past the end of data", e.Message, StringComparison.Ordinal);

        byte[] manyRecords = [.. "RWB\u0001"u8, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0, 0];
        e = Assert.Throws<RecordFormatException>(() => RawBatchCodec.Count(manyRecords));
        Assert.Contains("record count 2147483647 exceeds", e.Message, StringComparison.Ordinal);

        byte[] badName = [.. "RWB\u0001"u8, 1, 1, 2, 0xC3, 0x28, 0, 0, 0, 0, 1, 0, 0];
        Assert.Contains("header name 0 is not valid UTF-8", Assert.Throws<RecordFormatException>(() => RawBatchCodec.Verify(badName)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheErrorSaysWhereAndWhatAndLeavesTheListAsItWas()
    {
        Assert.Contains("bad magic", Assert.Throws<RecordFormatException>(() => RawBatchCodec.Count("AQB\u0001\u0000"u8)).Message, StringComparison.Ordinal);
        Assert.Contains("unsupported raw batch version 2", Assert.Throws<RecordFormatException>(() => RawBatchCodec.Count("RWB\u0002\u0000"u8)).Message, StringComparison.Ordinal);
        var batch = RawBatchCodec.Encode(RandomRecords(5, 10, largeValues: false));
        var longer = batch.Append((byte)0).ToArray();
        var e = Assert.Throws<RecordFormatException>(() => RawBatchCodec.Verify(longer));
        Assert.Contains("1 bytes after the last record", e.Message, StringComparison.Ordinal);
        Assert.Equal(batch.Length, e.Offset);

        var into = new List<RawRecord> { new() };
        Assert.Throws<RecordFormatException>(() => RawBatchCodec.Decode(longer, 0, 100, into));
        Assert.Single(into);
    }

    [Fact]
    public void VerifyingABatchAllocatesNothing()
    {
        var batch = RawBatchCodec.Encode(RandomRecords(7, 50, largeValues: false));
        Assert.Equal(50, RawBatchCodec.Verify(batch)); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        int count = RawBatchCodec.Verify(batch) + RawBatchCodec.Count(batch);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(100, count);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void EveryTruncationIsRefused()
    {
        var batch = RawBatchCodec.Encode(RandomRecords(6, 12, largeValues: false));
        for (int length = 0; length < batch.Length; length++)
        {
            Assert.Throws<RecordFormatException>(() => RawBatchCodec.Verify(batch.AsSpan(0, length)));
            Assert.Throws<RecordFormatException>(() => RawBatchCodec.Decode(batch.AsSpan(0, length)));
        }
    }

    [Fact]
    public void MutatedAndRandomBytesOnlyEverRaiseRecordFormatException()
    {
        var seeds = new[] { 0, 1, 3, 9 }.Select(n => RawBatchCodec.Encode(RandomRecords(10 + n, n, largeValues: false))).ToArray();
        var random = new Random(13);
        int accepted = 0;
        for (int i = 0; i < 6000; i++)
        {
            var bytes = i % 10 == 9 ? RandomBytes(random) : Mutate(seeds[random.Next(seeds.Length)], random);
            if (DecodesOrFailsCleanly(bytes)) accepted++;
        }
        output.WriteLine($"accepted {accepted} of 6000");
        Assert.InRange(accepted, 300, 5400); // mutations get past the first checks, and many are caught
    }

    /// <summary>True when the bytes decode; then every reader agrees and the records re-encode.</summary>
    private static bool DecodesOrFailsCleanly(byte[] bytes)
    {
        RawRecord[] decoded;
        try
        {
            int verified = RawBatchCodec.Verify(bytes);
            decoded = RawBatchCodec.Decode(bytes);
            Assert.Equal(verified, decoded.Length);
            Assert.Equal(verified, RawBatchCodec.Count(bytes));
        }
        catch (RecordFormatException)
        {
            Assert.Throws<RecordFormatException>(() => RawBatchCodec.Decode(bytes));
            return false;
        }
        for (int i = 0; i < decoded.Length; i++) Assert.Null(RawBatchCodec.Validate(decoded[i], i));
        Assert.Equal(decoded, RawBatchCodec.Decode(RawBatchCodec.Encode(decoded)));
        return true;
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var data = new List<byte>(seed);
        for (int rounds = random.Next(1, 4); rounds > 0; rounds--)
        {
            int at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (data.Count == 0 ? 0 : random.Next(6))
            {
                case 0: data.Insert(at, (byte)random.Next(256)); break;
                case 1: data[at] ^= (byte)(1 << random.Next(8)); break;
                case 2: data[at] = new byte[] { 0, 0x7F, 0x80, 0xFF, 1 }[random.Next(5)]; break;
                case 3: data.RemoveRange(at, Math.Min(data.Count - at, random.Next(1, 8))); break;
                case 4: data.RemoveRange(at, data.Count - at); break;
                default: data.InsertRange(at, data.GetRange(at, Math.Min(data.Count - at, random.Next(1, 16)))); break;
            }
        }
        return [.. data];
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 64)];
        random.NextBytes(bytes);
        if (random.Next(2) == 0 && bytes.Length >= 4) "RWB\u0001"u8.CopyTo(bytes);
        return bytes;
    }

    private static void AssertRefused(Action<RawRecord> spoil, string? message)
    {
        var record = new RawRecord { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v") };
        spoil(record);
        Assert.Equal(message, RawBatchCodec.Validate(record, 1));
        if (message is null) return;
        var e = Assert.Throws<ArgumentException>(() => RawBatchCodec.Encode([new RawRecord(), record]));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    private static RecordHeader Header(string name, string value) => new() { Key = name, Value = ByteString.CopyFromUtf8(value) };

    /// <summary>
    /// Records with awkward contents: empty keys and values, every byte value, values up to 1 MiB
    /// (when <paramref name="largeValues"/>), up to 64 headers with repeated names, timestamps at
    /// both ends of the range, negative and zero.
    /// </summary>
    internal static RawRecord[] RandomRecords(int seed, int count, bool largeValues = true)
    {
        var random = new Random(seed);
        var records = new RawRecord[count];
        for (int i = 0; i < count; i++)
        {
            var r = new RawRecord
            {
                Key = random.Next(4) == 0 ? ByteString.Empty : Bytes(random, random.Next(1, 64)),
                Value = ByteString.CopyFrom(Value(random, i, largeValues)),
                TimestampMs = (i % 9) switch
                {
                    0 => 0,
                    1 => long.MinValue,
                    2 => long.MaxValue,
                    3 => -random.NextInt64(1, 1L << 50),
                    _ => 1_700_000_000_000 + random.Next(-60_000, 60_000),
                },
            };
            if (i % 5 == 0) r.Key = ByteString.Empty;
            int headers = i % 11 == 4 ? RawBatchCodec.HeadersPerRecordMax : random.Next(4) == 0 ? 0 : random.Next(1, 6);
            for (int h = 0; h < headers; h++)
                r.Headers.Add(new RecordHeader { Key = HeaderNames[random.Next(HeaderNames.Length)], Value = Bytes(random, random.Next(3) == 0 ? 0 : random.Next(1, 40)) });
            if (i % 7 == 3) r = new RawRecord { TimestampMs = r.TimestampMs }; // empty everything
            records[i] = r;
        }
        return records;
    }

    private static byte[] Value(Random random, int i, bool largeValues)
    {
        if (i % 7 == 3) return [];
        if (i % 13 == 0) return Enumerable.Range(0, 256).Select(b => (byte)b).Reverse().ToArray(); // every byte value
        if (largeValues && i % 97 == 50) return Random(random, 1 << 20);
        int length = random.Next(4) switch { 0 => 0, 1 => random.Next(1, 16), 2 => random.Next(16, 1024), _ => random.Next(1024, 70_000) };
        return Random(random, length);
    }

    private static ByteString Bytes(Random random, int length) => length == 0 ? ByteString.Empty : ByteString.CopyFrom(Random(random, length));

    private static byte[] Random(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}

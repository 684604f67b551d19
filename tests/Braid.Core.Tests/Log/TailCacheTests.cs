using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

/// <summary>The log's tail cache (<see cref="LogOptions.TailCacheBytes"/>) answers every read
/// exactly as the device does, through appends, truncations, compactions and resets.</summary>
public sealed class TailCacheTests
{
    private const string FirstSegment = "00000000000000000001.seg";

    [Fact]
    public void ReadsWithTheCacheEqualReadsWithoutItThroughEveryChangeOfTheLog()
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var random = new Random(seed);
            var small = new LogOptions { SegmentBytesMax = 4096 };
            using var plain = SegmentedLog.Open(new SimulatedDevice(seed), small);
            using var cached = SegmentedLog.Open(new SimulatedDevice(seed), small with { TailCacheBytes = 1 + random.Next(2000) });
            ulong term = 1;
            for (var step = 0; step < 400; step++)
            {
                var roll = random.Next(100);
                if (roll < 60)
                {
                    var payload = new byte[random.Next(1, 300)];
                    random.NextBytes(payload);
                    Assert.Equal(plain.Append(term, payload), cached.AppendShared(term, payload));
                }
                else if (roll < 65 && plain.LastIndex >= plain.FirstIndex)
                {
                    // A Raft conflict: the suffix goes, newer-term entries replace it.
                    var from = plain.FirstIndex + (ulong)random.NextInt64((long)(plain.LastIndex - plain.FirstIndex + 1));
                    plain.TruncateSuffix(from);
                    cached.TruncateSuffix(from);
                    term++;
                }
                else if (roll < 68 && plain.LastIndex >= plain.FirstIndex)
                {
                    var keep = plain.FirstIndex + (ulong)random.NextInt64((long)(plain.LastIndex - plain.FirstIndex + 1));
                    Assert.Equal(plain.TruncatePrefix(keep), cached.TruncatePrefix(keep));
                }
                else if (roll < 69)
                {
                    var next = plain.LastIndex + 1 + (ulong)random.Next(5);
                    plain.Reset(next);
                    cached.Reset(next);
                }
                else if (roll < 72 && plain.LastIndex >= plain.FirstIndex)
                {
                    // What Raft has read (applied, sent) leaves the cache; reads of it still work.
                    cached.ReleaseCachedBefore(plain.FirstIndex + (ulong)random.NextInt64((long)(plain.LastIndex - plain.FirstIndex + 2)));
                }
                else if (roll < 75)
                {
                    plain.Sync();
                    cached.Sync();
                }
                else
                {
                    AssertSameReads(plain, cached, random);
                }
                Assert.Equal((plain.FirstIndex, plain.LastIndex, plain.LastTerm), (cached.FirstIndex, cached.LastIndex, cached.LastTerm));
            }
        }
    }

    private static void AssertSameReads(SegmentedLog plain, SegmentedLog cached, Random random)
    {
        if (plain.LastIndex < plain.FirstIndex) return;
        var first = plain.FirstIndex + (ulong)random.NextInt64((long)(plain.LastIndex - plain.FirstIndex + 1));
        var last = first + (ulong)random.NextInt64((long)(plain.LastIndex - first + 1));
        long budget = random.Next(4) == 0 ? long.MaxValue : random.Next(1, 3000);
        var expected = plain.Read(first, last, budget);
        var actual = cached.Read(first, last, budget);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal((expected[i].Index, expected[i].Term), (actual[i].Index, actual[i].Term));
            Assert.Equal(expected[i].Payload.ToArray(), actual[i].Payload.ToArray());
        }
    }

    [Fact]
    public void TheNewestEntriesAreServedFromMemoryAndOlderOnesFromTheDeviceWithTheirChecksums()
    {
        var device = new SimulatedDevice(3);
        const int payloadBytes = 100;
        const int frameBytes = SegmentFormat.FrameHeaderBytes + payloadBytes;
        using var log = SegmentedLog.Open(device, new LogOptions { TailCacheBytes = 3 * frameBytes });
        for (byte i = 1; i <= 6; i++) log.AppendShared(1, Enumerable.Repeat(i, payloadBytes).ToArray());
        log.Sync();

        // Damage on the device in entry 2 (evicted: read from the device) and entry 5 (cached).
        device.FlipBit(FirstSegment, SegmentFormat.HeaderBytes + frameBytes + 40, 1);
        device.FlipBit(FirstSegment, SegmentFormat.HeaderBytes + (4 * frameBytes) + 40, 1);

        var tail = log.Read(4, 6, long.MaxValue);
        Assert.Equal([4UL, 5UL, 6UL], tail.Select(e => e.Index));
        Assert.All(tail, e => Assert.All(e.Payload.ToArray(), b => Assert.Equal((byte)e.Index, b)));
        var error = Assert.Throws<LogCorruptionException>(() => log.Read(2, 2, long.MaxValue));
        Assert.Equal(2UL, error.Index);
    }

    [Fact]
    public void AnEntryLargerThanTheCacheEmptiesItSoNoReadSkipsPastIt()
    {
        using var log = SegmentedLog.Open(new SimulatedDevice(4), new LogOptions { TailCacheBytes = 200 });
        log.AppendShared(1, new byte[] { 1, 1, 1 });
        log.AppendShared(1, new byte[500]);
        log.AppendShared(1, new byte[] { 3, 3, 3 });
        var all = log.Read(1, 3, long.MaxValue);
        Assert.Equal([1UL, 2UL, 3UL], all.Select(e => e.Index));
        Assert.Equal([3, 500, 3], all.Select(e => e.Payload.Length));
    }

    [Fact]
    public void ReleasedEntriesAreReadFromTheDeviceAgain()
    {
        var device = new SimulatedDevice(5);
        const int payloadBytes = 100;
        const int frameBytes = SegmentFormat.FrameHeaderBytes + payloadBytes;
        using var log = SegmentedLog.Open(device, new LogOptions { TailCacheBytes = 1 << 20 });
        for (byte i = 1; i <= 4; i++) log.AppendShared(1, Enumerable.Repeat(i, payloadBytes).ToArray());
        log.Sync();
        device.FlipBit(FirstSegment, SegmentFormat.HeaderBytes + frameBytes + 40, 1); // entry 2
        Assert.Equal(4, log.Read(1, 4, long.MaxValue).Count); // all four still cached

        log.ReleaseCachedBefore(3);
        Assert.Equal([3UL, 4UL], log.Read(3, 4, long.MaxValue).Select(e => e.Index));
        Assert.Equal(2UL, Assert.Throws<LogCorruptionException>(() => log.Read(2, 2, long.MaxValue)).Index);
    }
}

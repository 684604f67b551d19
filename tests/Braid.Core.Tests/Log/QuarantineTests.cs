using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

/// <summary>Damage found on open is moved aside, not fatal (issue 11, item 5): the log opens as
/// its valid prefix and names what it quarantined.</summary>
public sealed class QuarantineTests
{
    private static readonly LogOptions SmallSegments = new() { SegmentBytesMax = 32 + (3 * (24 + 10)) };

    /// <summary>A durable log of 10 entries in segments of 3: [1-3] [4-6] [7-9] [10].</summary>
    private static SimulatedDevice TenEntries()
    {
        var device = new SimulatedDevice(5);
        using SegmentedLog log = SegmentedLog.Open(device, SmallSegments);
        for (byte i = 1; i <= 10; i++)
        {
            log.Append(1, Enumerable.Repeat(i, 10).ToArray());
        }

        log.Sync();
        return device;
    }

    [Fact]
    public void ABitFlipInASealedSegmentQuarantinesItAndEverythingAfter()
    {
        var device = TenEntries();
        string damaged = SegmentFormat.FileName(4);
        device.FlipBit(damaged, 32 + 24 + 3, 2); // inside entry 4's payload
        Assert.Throws<LogCorruptionException>(() => SegmentedLog.Open(device, SmallSegments));

        var quarantined = new List<QuarantinedFile>();
        using (SegmentedLog log = SegmentedLog.Open(device, SmallSegments, quarantined))
        {
            Assert.Equal(3UL, log.LastIndex);
            Assert.Equal(3UL, log.LastDurableIndex);
            Assert.Equal([damaged, SegmentFormat.FileName(7), SegmentFormat.FileName(10)], quarantined.Select(q => q.Name).Order());
            Assert.Contains("entry 4", quarantined.Single(q => q.Name == damaged).Reason);
            Assert.All(quarantined, q => Assert.True(device.Exists(q.MovedTo) && !device.Exists(q.Name)));
            Assert.Equal(4UL, log.Append(2, [4])); // the log goes on from its valid prefix
            log.Sync();
        }

        device.Crash(SimulatedCrash.LoseUnsynced); // the moves were durable before open returned
        using SegmentedLog reopened = SegmentedLog.Open(device, SmallSegments);
        Assert.Equal(4UL, reopened.LastIndex);
        Assert.Equal(2UL, reopened.TermAt(4));
    }

    [Fact]
    public void AForeignFileAndAMissingSegmentAreQuarantinedToo()
    {
        var device = TenEntries();
        device.WriteDurably(SegmentFormat.FileName(7), "not a segment at all, but long enough"u8);
        var quarantined = new List<QuarantinedFile>();
        using (SegmentedLog log = SegmentedLog.Open(device, SmallSegments, quarantined))
        {
            Assert.Equal(6UL, log.LastIndex);
            Assert.Equal(2, quarantined.Count);
        }

        device = TenEntries();
        device.Delete(SegmentFormat.FileName(4));
        quarantined.Clear();
        using SegmentedLog gap = SegmentedLog.Open(device, SmallSegments, quarantined);
        Assert.Equal(3UL, gap.LastIndex);
        Assert.Equal([SegmentFormat.FileName(10), SegmentFormat.FileName(7)], quarantined.Select(q => q.Name));
    }

    [Fact]
    public void QuarantineNamesNeverCollideAndAreNotReadAsSegments()
    {
        var device = TenEntries();
        device.FlipBit(SegmentFormat.FileName(7), 40, 0);
        var first = new List<QuarantinedFile>();
        SegmentedLog.Open(device, SmallSegments, first).Dispose();
        using (SegmentedLog log = SegmentedLog.Open(device, SmallSegments))
        {
            for (byte i = 7; i <= 10; i++) log.Append(1, Enumerable.Repeat(i, 10).ToArray());
            log.Sync();
        }

        device.FlipBit(SegmentFormat.FileName(7), 40, 0);
        var second = new List<QuarantinedFile>();
        using SegmentedLog again = SegmentedLog.Open(device, SmallSegments, second);
        Assert.Equal(6UL, again.LastIndex);
        Assert.Equal(2, second.Count);
        Assert.Empty(second.Select(q => q.MovedTo).Intersect(first.Select(q => q.MovedTo)));
        Assert.All(second, q => Assert.StartsWith(Quarantine.Prefix + "1.", q.MovedTo));
    }
}

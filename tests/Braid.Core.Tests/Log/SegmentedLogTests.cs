using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

public sealed class SegmentedLogTests
{
    [Fact]
    public void AnEmptyLogStartsAtIndexOne()
    {
        using SegmentedLog log = SegmentedLog.Open(new SimulatedDevice(1));
        Assert.Equal(1UL, log.FirstIndex);
        Assert.Equal(0UL, log.LastIndex);
        Assert.Equal(0UL, log.LastDurableIndex);
        Assert.Equal(0UL, log.TermAt(0));
    }

    [Fact]
    public void GroupCommitMakesManyAppendsDurableWithOneFsync()
    {
        var device = new SimulatedDevice(1);
        using SegmentedLog log = SegmentedLog.Open(device);
        long syncsBefore = device.SyncCount;
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal((ulong)i + 1, log.Append(1, new byte[100]));
            Assert.Equal(0UL, log.LastDurableIndex);
        }

        Assert.Equal(100UL, log.Sync());
        Assert.Equal(100UL, log.LastDurableIndex);
        Assert.Equal(1, device.SyncCount - syncsBefore);
    }

    [Fact]
    public void UnsyncedAppendsAreLostByACrashButSyncedOnesAreNot()
    {
        var device = new SimulatedDevice(3);
        SegmentedLog log = SegmentedLog.Open(device);
        log.Append(1, [1]);
        log.Append(1, [2]);
        log.Sync();
        log.Append(1, [3]);
        log.Dispose();
        device.Crash(SimulatedCrash.LoseUnsynced);
        using SegmentedLog recovered = SegmentedLog.Open(device);
        Assert.Equal(2UL, recovered.LastIndex);
        Assert.Equal(2UL, recovered.LastDurableIndex);
    }

    [Fact]
    public void SegmentsRollAtTheConfiguredSizeAndReadsSpanThem()
    {
        var device = new SimulatedDevice(1);
        var options = new LogOptions { SegmentBytesMax = 32 + (3 * (24 + 10)) };
        using SegmentedLog log = SegmentedLog.Open(device, options);
        for (byte i = 1; i <= 10; i++)
        {
            log.Append(i, Enumerable.Repeat(i, 10).ToArray());
        }

        log.Sync();
        Assert.Equal(
            ["00000000000000000001.seg", "00000000000000000004.seg", "00000000000000000007.seg", "00000000000000000010.seg"],
            device.ListNames());
        IReadOnlyList<LogEntry> all = log.Read(2, 9, long.MaxValue);
        Assert.Equal(Enumerable.Range(2, 8).Select(i => (ulong)i), all.Select(e => e.Index));
        Assert.All(all, e => Assert.True(e.Payload.Span.ToArray().All(b => b == (byte)e.Index)));
        Assert.Equal(7UL, log.TermAt(7));
    }

    [Fact]
    public void ReadsStayWithinTheByteBudgetButAlwaysReturnOneEntry()
    {
        using SegmentedLog log = SegmentedLog.Open(new SimulatedDevice(1));
        for (int i = 0; i < 10; i++)
        {
            log.Append(1, new byte[76]);
        }

        Assert.Single(log.Read(1, 10, 1));
        Assert.Equal(3, log.Read(1, 10, 300).Count);
        Assert.Equal(10, log.Read(1, 10, 1000).Count);
    }

    [Fact]
    public void SuffixTruncationIsDurableAndAppendsContinueAfterIt()
    {
        var device = new SimulatedDevice(5);
        var options = new LogOptions { SegmentBytesMax = 200 };
        SegmentedLog log = SegmentedLog.Open(device, options);
        for (int i = 0; i < 20; i++)
        {
            log.Append(1, new byte[40]);
        }

        log.Sync();
        log.TruncateSuffix(6);
        Assert.Equal(5UL, log.LastIndex);
        Assert.Equal(5UL, log.LastDurableIndex);
        Assert.Equal(6UL, log.Append(2, [9]));
        log.Dispose();
        device.Crash(SimulatedCrash.LoseUnsynced);
        using SegmentedLog recovered = SegmentedLog.Open(device, options);
        Assert.Equal(5UL, recovered.LastIndex);
        Assert.Equal(1UL, recovered.LastTerm);
    }

    [Fact]
    public void PrefixTruncationDropsWholeSegmentsOnly()
    {
        var device = new SimulatedDevice(1);
        using SegmentedLog log = SegmentedLog.Open(device, new LogOptions { SegmentBytesMax = 32 + (2 * 34) });
        for (int i = 0; i < 9; i++)
        {
            log.Append(1, new byte[10]);
        }

        Assert.Equal(2, log.TruncatePrefix(6));
        Assert.Equal(5UL, log.FirstIndex);
        Assert.Equal(9UL, log.LastDurableIndex);
        Assert.Equal(2, log.TruncatePrefix(100));
        Assert.Equal(9UL, log.FirstIndex);
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Read(8, 9, 100));
    }

    [Fact]
    public void AFailedFsyncPoisonsTheLogUntilReopened()
    {
        var device = new SimulatedDevice(1);
        SegmentedLog log = SegmentedLog.Open(device);
        log.Append(1, [1]);
        device.FailNextSyncs(1);
        Assert.Throws<LogFailedException>(() => log.Sync());
        Assert.Equal(0UL, log.LastDurableIndex);
        Assert.Throws<LogFailedException>(() => log.Append(1, [2]));
        log.Dispose();
        using SegmentedLog reopened = SegmentedLog.Open(device);
        Assert.Equal(1UL, reopened.LastDurableIndex);
    }

    [Fact]
    public void DecreasingTermsAndOversizedEntriesAreRejected()
    {
        using SegmentedLog log = SegmentedLog.Open(new SimulatedDevice(1), new LogOptions { EntryBytesMax = 10 });
        log.Append(5, [1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Append(4, [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Append(5, new byte[11]));
    }
}

using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

/// <summary>A full disk (ENOSPC) refuses the write and leaves the log usable: etcd's NOSPACE alarm,
/// not a failed log (issue 11, item 4).</summary>
public sealed class NoSpaceTests
{
    [Fact]
    public void AnAppendOnAFullDeviceIsRefusedAndTheLogResumesWhenSpaceReturns()
    {
        var device = new SimulatedDevice(1);
        SegmentedLog log = SegmentedLog.Open(device);
        log.Append(1, [1]);
        log.Append(1, [2]);
        log.Sync();
        device.FreeBytes = 10; // less than one frame: the write is cut short, then ENOSPC
        Assert.Throws<LogFullException>(() => log.Append(1, new byte[100]));
        Assert.Equal(2UL, log.LastIndex);
        Assert.Equal(2UL, log.LastDurableIndex);
        Assert.Equal(2, log.Read(1, 2, 1 << 20).Count); // reads still served

        device.FreeBytes = null;
        Assert.Equal(3UL, log.Append(1, [3]));
        Assert.Equal(3UL, log.Sync());
        log.Dispose();
        device.Crash(SimulatedCrash.LoseUnsynced);
        using SegmentedLog reopened = SegmentedLog.Open(device);
        Assert.Equal([1, 2, 3], reopened.Read(1, 3, 1 << 20).Select(e => e.Payload.Span[0]).ToArray());
    }

    [Fact]
    public void ACutShortWriteIsNotLeftInsideASealedSegment()
    {
        var device = new SimulatedDevice(2);
        var options = new LogOptions { SegmentBytesMax = 32 + (2 * (24 + 50)) };
        SegmentedLog log = SegmentedLog.Open(device, options);
        log.Append(1, new byte[50]);
        log.Sync();
        device.FreeBytes = 30;
        Assert.Throws<LogFullException>(() => log.Append(1, new byte[50]));
        device.FreeBytes = null;
        log.Append(1, new byte[10]); // fits the first segment, shorter than the cut-short frame
        log.Append(1, new byte[50]); // seals the first segment and rolls
        log.Sync();
        log.Dispose();
        using SegmentedLog reopened = SegmentedLog.Open(device, options);
        Assert.Equal(3UL, reopened.LastIndex);
    }

    [Fact]
    public void RollingToANewSegmentOnAFullDeviceIsRefusedAndLeavesTheLogContiguous()
    {
        var device = new SimulatedDevice(3);
        var options = new LogOptions { SegmentBytesMax = 32 + (2 * (24 + 50)) };
        SegmentedLog log = SegmentedLog.Open(device, options);
        log.Append(1, new byte[50]);
        log.Append(1, new byte[50]);
        log.Sync();
        device.FreeBytes = 8; // the new segment's header does not fit
        Assert.Throws<LogFullException>(() => log.Append(1, new byte[50]));
        Assert.Throws<LogFullException>(() => log.Append(1, new byte[50]));
        device.FreeBytes = null;
        Assert.Equal(3UL, log.Append(1, new byte[50]));
        log.Sync();
        log.Dispose();
        device.Crash(SimulatedCrash.LoseUnsynced);
        using SegmentedLog reopened = SegmentedLog.Open(device, options);
        Assert.Equal(3UL, reopened.LastIndex);
    }

    [Fact]
    public void AFailedSyncStillFailsTheLog()
    {
        var device = new SimulatedDevice(4);
        using SegmentedLog log = SegmentedLog.Open(device);
        log.Append(1, [1]);
        device.FailNextSyncs(1);
        Assert.Throws<LogFailedException>(() => log.Sync());
        Assert.Throws<LogFailedException>(() => log.Append(1, [2])); // never retry fsync
    }
}

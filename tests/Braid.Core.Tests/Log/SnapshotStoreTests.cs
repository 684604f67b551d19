using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

/// <summary>The snapshot file, and the log operations compaction and install rely on.</summary>
public sealed class SnapshotStoreTests
{
    private static readonly LogOptions SmallSegments = new() { SegmentBytesMax = 32 + (3 * (24 + 10)) };

    [Fact]
    public void ANewDeviceHasNoSnapshotAndASavedOneSurvivesACrash()
    {
        var device = new SimulatedDevice(1);
        var store = new SnapshotStore(device);
        Assert.Null(store.Load());
        store.Save(new StoredSnapshot(77, 4, new byte[] { 1, 2, 3 }));
        device.Crash(SimulatedCrash.LoseUnsynced);
        var loaded = store.Load();
        Assert.Equal((77ul, 4ul), (loaded!.Index, loaded.Term));
        Assert.Equal(new byte[] { 1, 2, 3 }, loaded.Data.ToArray());
        Assert.DoesNotContain(SnapshotStore.TemporaryName, device.ListNames());
    }

    [Fact]
    public void AnInterruptedSaveLeavesTheOldSnapshot()
    {
        var device = new SimulatedDevice(1);
        var store = new SnapshotStore(device);
        store.Save(new StoredSnapshot(10, 1, new byte[] { 9 }));
        using (var handle = device.Open(SnapshotStore.TemporaryName, create: true))
        {
            handle.WriteAt(0, new byte[] { 1, 2, 3 }); // a save that crashed before its rename
        }
        device.Crash(SimulatedCrash.KeepRandomPrefix);
        Assert.Equal(10ul, store.Load()!.Index);
    }

    [Fact]
    public void ADamagedSnapshotIsReportedNotIgnored()
    {
        var device = new SimulatedDevice(1);
        new SnapshotStore(device).Save(new StoredSnapshot(10, 1, new byte[] { 9, 9, 9, 9 }));
        device.FlipBit(SnapshotStore.FileName, 34, 4);
        Assert.Throws<LogCorruptionException>(() => new SnapshotStore(device).Load());
    }

    [Fact]
    public void ResetRestartsTheLogAtAnIndexDurablyAndAppendsContinueFromThere()
    {
        var device = new SimulatedDevice(1);
        using (var log = SegmentedLog.Open(device, SmallSegments))
        {
            for (int i = 0; i < 7; i++) log.Append(1, new byte[10]);
            log.Sync();
            log.Reset(500);
            Assert.Equal((500ul, 499ul, 499ul), (log.FirstIndex, log.LastIndex, log.LastDurableIndex));
            device.Crash(SimulatedCrash.LoseUnsynced);
        }
        using (var log = SegmentedLog.Open(device, SmallSegments))
        {
            Assert.Equal((500ul, 499ul), (log.FirstIndex, log.LastIndex));
            Assert.Equal(500ul, log.Append(3, new byte[10]));
            log.Sync();
        }
        using (var log = SegmentedLog.Open(device, SmallSegments))
        {
            Assert.Equal((500ul, 500ul, 3ul), (log.FirstIndex, log.LastIndex, log.TermAt(500)));
        }
    }

    [Fact]
    public void RetentionPointKeepsAtLeastTheRequestedBytesAndNeverTheActiveSegment()
    {
        var device = new SimulatedDevice(1);
        using var log = SegmentedLog.Open(device, SmallSegments); // 3 entries of 10 bytes per segment
        for (int i = 0; i < 10; i++) log.Append(1, new byte[10]);
        log.Sync();
        // Segments: [1..3] [4..6] [7..9] [10]; each full one holds 32 + 3 * 34 = 134 bytes.
        Assert.Equal(9ul, log.RetentionPoint(1));
        Assert.Equal(6ul, log.RetentionPoint(67));
        Assert.Equal(3ul, log.RetentionPoint(66 + 134 + 1));
        Assert.Equal(0ul, log.RetentionPoint(log.TotalBytes));
        Assert.Equal(2, log.TruncatePrefix(log.RetentionPoint(67) + 1));
        Assert.Equal(7ul, log.FirstIndex);
    }
}

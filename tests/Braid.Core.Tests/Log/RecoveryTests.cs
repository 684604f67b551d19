using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

/// <summary>Torn writes are cut away; damage before the tail is reported with its index, file and offset.</summary>
public sealed class RecoveryTests
{
    private const string FirstSegment = "00000000000000000001.seg";
    private const int PayloadBytes = 40;
    private const int FrameBytes = 24 + PayloadBytes;

    [Fact]
    public void ATornFinalWriteIsTruncatedAway()
    {
        for (int seed = 0; seed < 50; seed++)
        {
            var device = new SimulatedDevice(seed);
            WriteEntries(device, count: 10, new LogOptions());
            using (SegmentedLog log = SegmentedLog.Open(device))
            {
                // Random bytes: a torn all-zero payload padded with zeros would look whole.
                var payload = new byte[PayloadBytes];
                new Random(seed).NextBytes(payload);
                log.Append(1, payload);
            }

            device.Crash(SimulatedCrash.TearLastWrite);
            using SegmentedLog recovered = SegmentedLog.Open(device);
            Assert.Equal(10UL, recovered.LastIndex);
            Assert.Equal(32 + (10 * FrameBytes), device.ContentsOf(FirstSegment).Length);
            Assert.Equal(11UL, recovered.Append(1, [7]));
        }
    }

    [Fact]
    public void ABitFlipInTheMiddleIsReportedWithIndexAndOffset()
    {
        var device = new SimulatedDevice(1);
        WriteEntries(device, count: 10, new LogOptions());
        long offsetOfFifth = 32 + (4 * FrameBytes);
        device.FlipBit(FirstSegment, offsetOfFifth + 24 + 7, 3);

        var error = Assert.Throws<LogCorruptionException>(() => SegmentedLog.Open(device));
        Assert.Equal(5UL, error.Index);
        Assert.Equal(FirstSegment, error.FileName);
        Assert.Equal(offsetOfFifth, error.Offset);
        Assert.Contains(FirstSegment, error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    public void ABitFlipInAFrameHeaderFieldIsCorruptionToo(int field)
    {
        var device = new SimulatedDevice(1);
        WriteEntries(device, count: 10, new LogOptions());
        long offsetOfThird = 32 + (2 * FrameBytes);
        device.FlipBit(FirstSegment, offsetOfThird + field + 1, 6);

        var error = Assert.Throws<LogCorruptionException>(() => SegmentedLog.Open(device));
        Assert.Equal(3UL, error.Index);
        Assert.Equal(offsetOfThird, error.Offset);
    }

    [Fact]
    public void ABitFlipInASealedSegmentIsCorruptionEvenAtItsEnd()
    {
        var device = new SimulatedDevice(1);
        var options = new LogOptions { SegmentBytesMax = 32 + (3 * FrameBytes) };
        WriteEntries(device, count: 10, options);
        long offsetOfThird = 32 + (2 * FrameBytes);
        device.FlipBit(FirstSegment, offsetOfThird + 30, 0);

        var error = Assert.Throws<LogCorruptionException>(() => SegmentedLog.Open(device, options));
        Assert.Equal((3UL, FirstSegment, offsetOfThird), (error.Index, error.FileName, error.Offset));
    }

    [Fact]
    public void ABitFlipAfterOpenIsReportedByRead()
    {
        var device = new SimulatedDevice(1);
        using SegmentedLog log = SegmentedLog.Open(device);
        for (int i = 0; i < 5; i++)
        {
            log.Append(1, new byte[PayloadBytes]);
        }

        log.Sync();
        device.FlipBit(FirstSegment, 32 + FrameBytes + 30, 1);
        var error = Assert.Throws<LogCorruptionException>(() => log.Read(1, 5, 10_000));
        Assert.Equal((2UL, 32L + FrameBytes), (error.Index, error.Offset));
    }

    [Fact]
    public void AMissingMiddleSegmentIsCorruption()
    {
        var device = new SimulatedDevice(1);
        var options = new LogOptions { SegmentBytesMax = 32 + (3 * FrameBytes) };
        WriteEntries(device, count: 10, options);
        device.Delete("00000000000000000004.seg");
        device.SyncDirectory();

        var error = Assert.Throws<LogCorruptionException>(() => SegmentedLog.Open(device, options));
        Assert.Equal("00000000000000000007.seg", error.FileName);
        Assert.Equal(4UL, error.Index);
    }

    internal static void WriteEntries(SimulatedDevice device, int count, LogOptions options)
    {
        using SegmentedLog log = SegmentedLog.Open(device, options);
        for (int i = 0; i < count; i++)
        {
            var payload = new byte[PayloadBytes];
            new Random(i).NextBytes(payload);
            log.Append(1, payload);
        }

        log.Sync();
    }
}

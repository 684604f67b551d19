using System.Text;
using Braid.Core.Log;
using Braid.Simulation;

namespace Braid.Core.Tests.Log;

/// <summary>
/// Whatever bytes lie where the log expects its files, opening and reading them either works or
/// raises a <see cref="LogException"/> subtype: never an IndexOutOfRange, an overflow, an
/// allocation failure or a hang (issue 3).
/// </summary>
public sealed class MalformedFileTests
{
    private const string Segment = "00000000000000000001.seg";
    private static readonly LogOptions Options = new() { SegmentBytesMax = 400, EntryBytesMax = 1024, ScanBufferBytes = 64 };

    [Fact]
    public void RandomBytesRaiseAFormatError()
    {
        var random = new Random(11);
        for (int round = 0; round < 200; round++)
        {
            var bytes = new byte[32 + random.Next(4096)];
            random.NextBytes(bytes);
            var device = new SimulatedDevice(round);
            device.WriteDurably(Segment, bytes);
            Assert.Throws<LogFormatException>(() => OpenAndReadAll(device));
        }
    }

    [Fact]
    public void AnEmptySegmentAloneIsATornCreationAndAnEmptyMiddleSegmentIsCorruption()
    {
        var alone = new SimulatedDevice(1);
        alone.WriteDurably(Segment, []);
        using (SegmentedLog log = SegmentedLog.Open(alone, Options))
        {
            Assert.Equal(0UL, log.LastIndex);
        }

        SimulatedDevice device = ThreeSegments();
        device.WriteDurably(device.ListNames()[1], []);
        Assert.Throws<LogCorruptionException>(() => SegmentedLog.Open(device, Options));
    }

    [Fact]
    public void ForeignFormatsRaiseAFormatError()
    {
        byte[][] foreign =
        [
            Encoding.ASCII.GetBytes("SQLite format 3\0" + new string('x', 100)),
            [0x50, 0x4B, 0x03, 0x04, .. new byte[60]],
            Encoding.ASCII.GetBytes("BRAIDHST" + new string('\0', 40)),
            VersionTwoHeader(),
        ];
        foreach (byte[] bytes in foreign)
        {
            var device = new SimulatedDevice(1);
            device.WriteDurably(Segment, bytes);
            Assert.Throws<LogFormatException>(() => SegmentedLog.Open(device, Options));
        }
    }

    [Fact]
    public void EveryTruncationOfTheLastSegmentOpensAsAPrefix()
    {
        SimulatedDevice pristine = ThreeSegments();
        string last = pristine.ListNames()[^1];
        byte[] full = pristine.ContentsOf(last);
        for (int length = 0; length <= full.Length; length++)
        {
            SimulatedDevice device = ThreeSegments();
            device.WriteDurably(last, full.AsSpan(0, length));
            using SegmentedLog log = SegmentedLog.Open(device, Options);
            Assert.InRange(log.LastIndex, 1UL, 30UL);
            OpenAndReadAll(device);
        }
    }

    [Fact]
    public void EveryTruncationOfASealedSegmentIsCorruption()
    {
        SimulatedDevice pristine = ThreeSegments();
        string middle = pristine.ListNames()[1];
        byte[] full = pristine.ContentsOf(middle);
        for (int length = 0; length < full.Length; length++)
        {
            SimulatedDevice device = ThreeSegments();
            device.WriteDurably(middle, full.AsSpan(0, length));
            Assert.Throws<LogCorruptionException>(() => SegmentedLog.Open(device, Options));
        }
    }

    [Fact]
    public void RandomDamageToAValidLogRaisesOnlyLogErrors()
    {
        var random = new Random(5);
        for (int round = 0; round < 400; round++)
        {
            SimulatedDevice device = ThreeSegments();
            IReadOnlyList<string> names = device.ListNames();
            string victim = names[random.Next(names.Count)];
            byte[] bytes = device.ContentsOf(victim);
            Damage(bytes, random, out int keep);
            device.WriteDurably(victim, bytes.AsSpan(0, keep));
            try
            {
                OpenAndReadAll(device);
            }
            catch (LogException)
            {
            }
        }
    }

    [Fact]
    public void ADamagedHardStateRaisesOnlyLogErrors()
    {
        var device = new SimulatedDevice(1);
        var store = new HardStateStore(device);
        store.Save(new HardState(7, "B", 3));
        byte[] good = device.ContentsOf(HardStateStore.FileName);
        var random = new Random(3);
        for (int round = 0; round < 300; round++)
        {
            byte[] bytes = (byte[])good.Clone();
            Damage(bytes, random, out int keep);
            if (keep == good.Length && bytes.AsSpan().SequenceEqual(good))
            {
                continue;
            }

            device.WriteDurably(HardStateStore.FileName, bytes.AsSpan(0, keep));
            Assert.ThrowsAny<LogException>(() => store.Load());
        }

        device.WriteDurably(HardStateStore.FileName, []);
        Assert.Throws<LogCorruptionException>(() => store.Load());
    }

    private static void Damage(byte[] bytes, Random random, out int keep)
    {
        keep = bytes.Length;
        switch (random.Next(3))
        {
            case 0:
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                break;
            case 1:
                int start = random.Next(bytes.Length);
                random.NextBytes(bytes.AsSpan(start, Math.Min(bytes.Length - start, 1 + random.Next(40))));
                break;
            default:
                keep = random.Next(bytes.Length);
                break;
        }
    }

    private static void OpenAndReadAll(SimulatedDevice device)
    {
        using SegmentedLog log = SegmentedLog.Open(device, Options);
        for (ulong next = log.FirstIndex; next <= log.LastIndex;)
        {
            next += (ulong)log.Read(next, log.LastIndex, 500).Count;
        }
    }

    /// <summary>Thirty entries of up to 60 bytes over several 400-byte segments.</summary>
    private static SimulatedDevice ThreeSegments()
    {
        var device = new SimulatedDevice(1);
        using SegmentedLog log = SegmentedLog.Open(device, Options);
        var random = new Random(9);
        for (int i = 0; i < 30; i++)
        {
            log.Append(1 + ((ulong)i / 7), LogModel.RandomPayload(random, 60));
        }

        log.Sync();
        Assert.True(device.ListNames().Count >= 3);
        return device;
    }

    private static byte[] VersionTwoHeader()
    {
        var bytes = new byte[64];
        "BRAIDLOG"u8.CopyTo(bytes);
        bytes[8] = 2;
        return bytes;
    }
}

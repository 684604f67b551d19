using Braid.Core.Log;

namespace Braid.Simulation.Tests;

public sealed class SimulatedDeviceTests
{
    [Fact]
    public void UnsyncedWritesAreVisibleUntilACrashDropsThem()
    {
        var device = new SimulatedDevice(1);
        device.WriteDurably("f", [1, 2, 3]);
        using (IStorageHandle handle = device.Open("f", create: false))
        {
            handle.WriteAt(3, [4, 5]);
            Assert.Equal(5, handle.Length);
        }

        device.Crash(SimulatedCrash.LoseUnsynced);
        Assert.Equal([1, 2, 3], device.ContentsOf("f"));
    }

    [Fact]
    public void ANewNameNeedsADirectoryFsyncToSurvive()
    {
        var device = new SimulatedDevice(1);
        using (IStorageHandle handle = device.Open("new", create: true))
        {
            handle.WriteAt(0, [1]);
            handle.Sync();
        }

        device.Crash(SimulatedCrash.LoseUnsynced);
        Assert.False(device.Exists("new"));
    }

    [Fact]
    public void ARenameIsAtomicAndNeedsADirectoryFsync()
    {
        var device = new SimulatedDevice(1);
        device.WriteDurably("a", [1]);
        device.WriteDurably("b", [2]);
        device.Rename("a", "b");
        Assert.Equal([1], device.ContentsOf("b"));
        device.Crash(SimulatedCrash.LoseUnsynced);
        Assert.Equal([2], device.ContentsOf("b"));
        Assert.True(device.Exists("a"));
    }

    [Fact]
    public void HandlesDieWithACrash()
    {
        var device = new SimulatedDevice(1);
        IStorageHandle handle = device.Open("f", create: true);
        device.Crash();
        Assert.Throws<IOException>(() => handle.WriteAt(0, [1]));
    }

    [Fact]
    public void TheSameSeedGivesTheSameCrash()
    {
        static byte[] Run(int seed)
        {
            var device = new SimulatedDevice(seed);
            device.WriteDurably("f", []);
            using (IStorageHandle handle = device.Open("f", create: false))
            {
                for (int i = 0; i < 50; i++)
                {
                    handle.WriteAt(i * 10, Enumerable.Repeat((byte)i, 10).ToArray());
                }
            }

            device.Crash();
            return device.ContentsOf("f");
        }

        Assert.Equal(Run(4), Run(4));
        Assert.True(Enumerable.Range(0, 20).Select(Run).Select(b => b.Length).Distinct().Count() > 3);
    }
}

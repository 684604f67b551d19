using Braid.Core.Log;
using Braid.Node.Storage;

namespace Braid.Node.Tests.Storage;

/// <summary>The real-file device under the same log and hard state code the simulator runs.</summary>
public sealed class FileDeviceTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-filedevice-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void PositionalWritesReadsLengthAndSync()
    {
        var device = new FileDevice(directory);
        using (IStorageHandle handle = device.Open("f", create: true))
        {
            handle.WriteAt(4, [1, 2, 3]);
            Assert.Equal(7, handle.Length);
            var read = new byte[7];
            Assert.Equal(7, handle.ReadAt(0, read));
            Assert.Equal([0, 0, 0, 0, 1, 2, 3], read);
            handle.SetLength(5);
            handle.Sync();
            Assert.Equal(5, handle.Length);
        }

        device.SyncDirectory();
        Assert.Equal(1, device.SyncCount);
        Assert.Equal(["f"], device.ListNames());
        Assert.Throws<FileNotFoundException>(() => device.Open("missing", create: false));
        Assert.Throws<ArgumentException>(() => device.Open("../escape", create: true));
    }

    [Fact]
    public void RenameReplacesAtomicallyAndDeleteRemoves()
    {
        var device = new FileDevice(directory);
        File.WriteAllBytes(Path.Combine(directory, "a"), [1]);
        File.WriteAllBytes(Path.Combine(directory, "b"), [2]);
        device.Rename("a", "b");
        device.SyncDirectory();
        Assert.Equal([1], File.ReadAllBytes(Path.Combine(directory, "b")));
        Assert.False(device.Exists("a"));
        device.Delete("b");
        device.Delete("b");
        Assert.Empty(device.ListNames());
    }

    [Fact]
    public void TheLogAndHardStateWorkOnRealFiles()
    {
        var options = new LogOptions { SegmentBytesMax = 4096 };
        using (SegmentedLog log = SegmentedLog.Open(new FileDevice(directory), options))
        {
            for (int i = 0; i < 200; i++)
            {
                log.Append(1 + ((ulong)i / 50), BitConverter.GetBytes(i));
            }

            Assert.Equal(200UL, log.Sync());
        }

        new HardStateStore(new FileDevice(directory)).Save(new HardState(4, "B", 150));
        using SegmentedLog reopened = SegmentedLog.Open(new FileDevice(directory), options);
        Assert.Equal(200UL, reopened.LastDurableIndex);
        Assert.True(new FileDevice(directory).ListNames().Count(n => n.EndsWith(".seg", StringComparison.Ordinal)) > 1);
        IReadOnlyList<LogEntry> entries = reopened.Read(1, 200, long.MaxValue);
        Assert.Equal(Enumerable.Range(0, 200), entries.Select(e => BitConverter.ToInt32(e.Payload.Span)));
        Assert.Equal(new HardState(4, "B", 150), new HardStateStore(new FileDevice(directory)).Load());
    }

    [Fact]
    public void ATornTailOnDiskIsTruncatedOnOpen()
    {
        using (SegmentedLog log = SegmentedLog.Open(new FileDevice(directory)))
        {
            log.Append(1, new byte[100]);
            log.Append(1, new byte[100]);
            log.Sync();
        }

        string segment = Path.Combine(directory, "00000000000000000001.seg");
        using (FileStream stream = File.OpenWrite(segment))
        {
            stream.SetLength(stream.Length - 30);
        }

        using SegmentedLog recovered = SegmentedLog.Open(new FileDevice(directory));
        Assert.Equal(1UL, recovered.LastIndex);
        Assert.Equal(32 + 124, new FileInfo(segment).Length);
    }
}

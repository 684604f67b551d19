using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Node.Storage;

namespace Braid.Node.Tests.Storage;

/// <summary>Disk faults on real files (issue 11, items 4 and 5): ENOSPC reaches the log as
/// <see cref="StorageFullException"/>, and a replica on a damaged folder opens with the damage
/// moved aside.</summary>
public sealed class DiskFaultTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-diskfault-" + Guid.NewGuid().ToString("N"));

    private const string FirstSegment = "00000000000000000001.seg";

    public void Dispose()
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void ENOSPCFromTheFileSystemIsAStorageFullErrorAndOtherErrorsAreNot()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/dev/full")) return; // /dev/full answers every write with ENOSPC
        var device = new FileDevice(directory);
        File.CreateSymbolicLink(Path.Combine(directory, "full"), "/dev/full");
        using (IStorageHandle handle = device.Open("full", create: false))
            Assert.Throws<StorageFullException>(() => handle.WriteAt(0, new byte[16]));

        Assert.True(FileDevice.IsFull(new IOException("No space left on device", 28)));
        Assert.False(FileDevice.IsFull(new IOException("Input/output error", 5)));
    }

    [Fact]
    public void AReplicaOnAFolderWithACorruptSegmentOpensAndNamesTheQuarantinedFile()
    {
        var options = new PartitionReplicaOptions(new RaftOptions(), SegmentBytes: 1024);
        using (var replica = new PartitionReplica(0, "A", ["A"], new FileDevice(directory), new Random(1), options))
        {
            for (var i = 0; i < 4 * new RaftOptions().ElectionTicks && replica.Raft.Role != RaftRole.Leader; i++)
            {
                replica.Tick();
                replica.TakeOutput();
            }
            for (var s = 1ul; s <= 20; s++)
            {
                Assert.Null(replica.Append((long)s, 9, s, new byte[200]));
                replica.TakeOutput();
            }
        }
        var first = Path.Combine(directory, FirstSegment);
        var bytes = File.ReadAllBytes(first);
        bytes[100] ^= 0x10;
        File.WriteAllBytes(first, bytes);

        using var reopened = new PartitionReplica(0, "A", ["A"], new FileDevice(directory), new Random(2), options);
        var q = Assert.Single(reopened.StorageReport.Quarantined, q => q.Name == FirstSegment);
        Assert.True(File.Exists(Path.Combine(directory, q.MovedTo)));
        Assert.NotNull(reopened.StorageReport.LostState);
        Assert.True(File.Exists(Path.Combine(directory, ReplicaStorage.RecoveringName)));
    }
}

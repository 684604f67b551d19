using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Node.Partitions;
using Braid.Node.Storage;

namespace Braid.Node.Tests.Partitions;

/// <summary>Containment (issue 11, item 3): one partition's exception fails that partition only;
/// it is reported, reopened from disk with backoff, and the others keep serving.</summary>
public sealed class PartitionSetTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-partitionset-" + Guid.NewGuid().ToString("N"));
    private readonly List<(uint Partition, string Error, int Failures, long WaitTicks)> failures = [];

    public void Dispose()
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    private string DirectoryOf(uint partition) => Path.Combine(directory, partition.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private PartitionReplica Open(uint partition) => Open(partition, new FileDevice(DirectoryOf(partition)));

    private static PartitionReplica Open(uint partition, IStorageDevice device) =>
        new(partition, "A", ["A"], device, new Random(1), new PartitionReplicaOptions(new RaftOptions(), SegmentBytes: 64 * 1024));

    private PartitionSet NewSet(Func<uint, PartitionReplica> open) => NewSet((p, _) => open(p));

    private PartitionSet NewSet(Func<uint, string?, PartitionReplica> open) =>
        new([0, 1], open, (p, e, n, wait) => failures.Add((p, e.Message, n, wait)));

    private static void Serve(PartitionSet set, int ticks)
    {
        for (var i = 0; i < ticks; i++)
        {
            set.Tick();
            foreach (var p in set.Running.Keys.ToList()) set.Run(p, r => r.TakeOutput());
        }
    }

    [Fact]
    public void APartitionWhoseHandlingThrowsIsFailedAndReopenedWhileTheOtherKeepsServing()
    {
        using var set = NewSet(Open);
        set.OpenAll();
        Serve(set, 30); // a single replica elects itself
        Assert.Null(set.Running[1].Append(1, producer: 7, sequence: 1, new byte[] { 1 }));
        Serve(set, 1);

        Assert.False(set.Run(1, _ => throw new IOException("fsync failed")));

        Assert.Equal("IOException: fsync failed", set.FailureOf(1));
        Assert.False(set.Running.ContainsKey(1));
        Assert.Equal((1u, "fsync failed", 1, (long)PartitionSet.RetryTicksMin), Assert.Single(failures));
        Assert.True(set.Run(0, r => r.Tick())); // the other partition serves on
        Serve(set, PartitionSet.RetryTicksMin - 1);
        Assert.NotNull(set.FailureOf(1));

        Serve(set, 1);
        Assert.Null(set.FailureOf(1)); // reopened from disk, with what it had stored
        Serve(set, 30);
        Assert.Equal(1ul, set.Running[1].State.LastSequenceOf(7));
    }

    [Fact]
    public void APartitionThatCannotOpenDoesNotStopTheOthersAndIsRetriedWithGrowingBackoff()
    {
        var attempts = 0;
        using var set = NewSet(p => p == 1 && ++attempts < 4 ? throw new InvalidDataException("bad segment") : Open(p));
        set.OpenAll();
        Assert.True(set.Running.ContainsKey(0));
        Assert.Equal("InvalidDataException: bad segment", set.FailureOf(1));

        Serve(set, 20 + 40 + 80);

        Assert.Equal([20L, 40L, 80L], failures.Select(f => f.WaitTicks));
        Assert.Equal([1, 2, 3], failures.Select(f => f.Failures));
        Assert.Null(set.FailureOf(1));
        Assert.True(set.Running.ContainsKey(1));
    }

    [Fact]
    public void AFailedFsyncIsNeverRetriedTheReplicaIsRebuiltFromItsPeersWithoutAVote()
    {
        var failing = new SyncFailingDevice(new FileDevice(DirectoryOf(1)));
        var rebuilds = new List<string?>();
        using var set = NewSet((p, rebuild) =>
        {
            if (p != 1) return Open(p);
            rebuilds.Add(rebuild);
            if (rebuild is not null) ReplicaStorage.Discard(failing, rebuild);
            return Open(p, failing);
        });
        set.OpenAll();
        Serve(set, 30);
        Assert.Null(set.Running[1].Append(1, producer: 7, sequence: 1, new byte[] { 1 }));
        Serve(set, 1);
        Assert.Equal(RaftRole.Leader, set.Running[1].Raft.Role);

        failing.FailSyncs = true;
        Assert.Null(set.Running[1].Append(2, producer: 7, sequence: 2, new byte[] { 2 }));
        Serve(set, 1); // the group commit's fsync fails
        failing.FailSyncs = false;

        Assert.False(set.Running.ContainsKey(1));
        Assert.True(set.RebuildOf(1) is not null, set.FailureOf(1));
        Serve(set, PartitionSet.RetryTicksMin);

        Assert.Equal(2, rebuilds.Count);
        Assert.Null(rebuilds[0]);
        Assert.Contains("fsync", rebuilds[1]);
        var replica = set.Running[1];
        // Nothing of the old files is trusted: the replica starts empty and reports lost state
        // (in a group with peers that is the recovering rule: no vote, no campaign until a leader
        // has caught it up; alone, as here, there is nobody to catch up from), and the old files
        // are kept aside for an operator.
        Assert.Contains("rebuilt from peers", replica.StorageReport.LostState);
        Assert.Equal(0ul, replica.State.LastSequenceOf(7));
        Assert.Contains(Directory.GetFiles(DirectoryOf(1)), f => Path.GetFileName(f).StartsWith(Quarantine.Prefix, StringComparison.Ordinal));
    }

    /// <summary>Real files whose fsyncs fail while <see cref="FailSyncs"/> is set (as an EIO from fsync).</summary>
    private sealed class SyncFailingDevice(IStorageDevice inner) : IStorageDevice
    {
        public bool FailSyncs { get; set; }

        public IReadOnlyList<string> ListNames() => inner.ListNames();
        public bool Exists(string name) => inner.Exists(name);
        public IStorageHandle Open(string name, bool create) => new Handle(this, inner.Open(name, create));
        public void Delete(string name) => inner.Delete(name);
        public void Rename(string sourceName, string destinationName) => inner.Rename(sourceName, destinationName);

        public void SyncDirectory()
        {
            if (FailSyncs) throw new StorageSyncException("fsync of the folder failed: Input/output error");
            inner.SyncDirectory();
        }

        private sealed class Handle(SyncFailingDevice owner, IStorageHandle inner) : IStorageHandle
        {
            public long Length => inner.Length;
            public int ReadAt(long offset, Span<byte> destination) => inner.ReadAt(offset, destination);
            public void WriteAt(long offset, ReadOnlySpan<byte> source) => inner.WriteAt(offset, source);
            public void SetLength(long length) => inner.SetLength(length);

            public void Sync()
            {
                if (owner.FailSyncs) throw new StorageSyncException("fsync failed: Input/output error");
                inner.Sync();
            }

            public void Dispose() => inner.Dispose();
        }
    }
}

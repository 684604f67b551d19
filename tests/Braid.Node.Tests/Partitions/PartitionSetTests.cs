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

    private PartitionReplica Open(uint partition) =>
        new(partition, "A", ["A"], new FileDevice(Path.Combine(directory, partition.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            new Random(1), new PartitionReplicaOptions(new RaftOptions(), SegmentBytes: 64 * 1024));

    private PartitionSet NewSet(Func<uint, PartitionReplica> open) =>
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
}

using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Node.Storage;

namespace Braid.Node.Partitions;

/// <summary>This node's replica of one partition: its files, its Raft node and its applied state.</summary>
internal sealed class PartitionReplica : IDisposable
{
    private readonly SegmentedLog log;

    public PartitionReplica(uint partition, string[] voters, string nodeId, string directory, int seed, RaftOptions options, long retainBytes, long segmentBytes)
    {
        Partition = partition;
        Voters = voters;
        Device = new FileDevice(directory);
        log = SegmentedLog.Open(Device, new LogOptions { SegmentBytesMax = segmentBytes });
        Raft = new RaftNode(nodeId, partition, voters, log, new HardStateStore(Device), new SnapshotStore(Device), new Random(seed), options);
        Compaction = new CompactionSchedule(retainBytes, Math.Max(1, segmentBytes / 4)); // up to 4 compaction points per segment
    }

    public CompactionSchedule Compaction { get; }

    /// <summary>False until the first ready after opening was taken (a snapshot in it was read back, not installed).</summary>
    public bool FirstReadyTaken { get; set; }

    /// <summary>Snapshots installed from a leader since this process started.</summary>
    public long SnapshotsInstalled { get; set; }

    public uint Partition { get; }
    public string[] Voters { get; }
    public FileDevice Device { get; }
    public RaftNode Raft { get; }
    public PartitionState State { get; } = new();

    /// <summary>Proposals waiting for their entry to be applied, by log index.</summary>
    public Dictionary<ulong, PendingAppend> Pending { get; } = [];

    /// <summary>Reads stored records back from the log (verification; bounded by the caller's range).</summary>
    public IReadOnlyList<LogEntry> ReadLog(ulong first, ulong last, long maxBytes) => log.Read(first, last, maxBytes);

    public void Dispose() => log.Dispose();
}

/// <summary>A client's batch proposed at <paramref name="Index"/> in <paramref name="Term"/>.</summary>
internal sealed record PendingAppend(ulong Index, ulong Term, ulong Producer, ulong Sequence, TaskCompletionSource<Protocol.V1.AppendReply> Completion);

using Braid.Core.Log;
using Braid.Core.Raft;

namespace Braid.Simulation;

/// <summary>One replica of one group on a simulated node: its disk survives crashes, the rest does not.</summary>
public sealed class SimReplica(uint group, string[] voters, SimulatedDevice device)
{
    public uint Group { get; } = group;
    public string[] Voters { get; } = voters;
    public SimulatedDevice Device { get; } = device;
    public RaftNode? Raft { get; private set; }
    public SimStateMachine StateMachine { get; private set; } = new();
    public CompactionSchedule Compaction { get; private set; } = new(0, 1);

    /// <summary>(Re)opens the log, hard state and snapshot from the device and starts a fresh Raft node.</summary>
    public void Start(string nodeId, Random random, RaftOptions options, SimOptions simOptions)
    {
        var log = SegmentedLog.Open(Device, new LogOptions { SegmentBytesMax = simOptions.SegmentBytes });
        Raft = new RaftNode(nodeId, Group, Voters, log, new HardStateStore(Device), new SnapshotStore(Device), random, options);
        StateMachine = new SimStateMachine();
        Compaction = new CompactionSchedule(simOptions.RetainBytes, simOptions.CheckpointEveryBytes);
        Restarted = true;
    }

    /// <summary>True until the first ready after a start is taken (a snapshot in it was read back, not installed).</summary>
    public bool Restarted { get; set; }

    public void Stop() => Raft = null;
}

/// <summary>A simulated node process: up or crashed, with the replicas placed on it.</summary>
public sealed class SimNode(string id)
{
    public string Id { get; } = id;
    public bool Up { get; set; }

    /// <summary>Crash right after the next message that makes it write (entries, a snapshot, a
    /// vote) is stepped, before its ready is taken.</summary>
    public bool CrashInNextStep { get; set; }
    public Dictionary<uint, SimReplica> Replicas { get; } = [];
}

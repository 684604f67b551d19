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

    /// <summary>(Re)opens the log and hard state from the device and starts a fresh Raft node.</summary>
    public void Start(string nodeId, Random random, RaftOptions options)
    {
        var log = SegmentedLog.Open(Device, new LogOptions { SegmentBytesMax = 64 * 1024 });
        Raft = new RaftNode(nodeId, Group, Voters, log, new HardStateStore(Device), new SnapshotStore(Device), random, options);
        StateMachine = new SimStateMachine();
    }

    public void Stop() => Raft = null;
}

/// <summary>A simulated node process: up or crashed, with the replicas placed on it.</summary>
public sealed class SimNode(string id)
{
    public string Id { get; } = id;
    public bool Up { get; set; }
    public Dictionary<uint, SimReplica> Replicas { get; } = [];
}

using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;

namespace Braid.Simulation;

/// <summary>One replica of one group on a simulated node: its disk survives crashes, the rest
/// (the core <see cref="PartitionReplica"/> the node host runs) does not.</summary>
public sealed class SimReplica(uint group, string[] voters, SimulatedDevice device, bool joining = false)
{
    public uint Group { get; } = group;

    /// <summary>The group's first replicas (its bootstrap configuration).</summary>
    public string[] Voters { get; } = voters;
    public SimulatedDevice Device { get; } = device;

    /// <summary>The group's target replicas when this replica (re)starts (issue 12).</summary>
    public string[] Placement { get; set; } = voters;

    /// <summary>Placed on this node after the group began (a membership change): it joins.</summary>
    public bool Joining { get; } = joining;

    /// <summary>The running replica; null while its node is down.</summary>
    public PartitionReplica? Replica { get; private set; }

    /// <summary>(Re)opens the log, hard state and snapshot from the device, as a node process start does.</summary>
    public void Start(string nodeId, Random random, RaftOptions options, SimOptions simOptions)
    {
        Replica = new PartitionReplica(Group, nodeId, Voters, Device, random,
            new PartitionReplicaOptions(options, simOptions.SegmentBytes, simOptions.RetainBytes, simOptions.CheckpointEveryBytes,
                ProducerIdleEntries: simOptions.ProducerIdleEntries), placement: Placement, joining: Joining);
    }

    public void Stop() => Replica = null;
}

/// <summary>A simulated node process: up or crashed, with the replicas placed on it.</summary>
public sealed class SimNode(string id)
{
    public string Id { get; } = id;
    public bool Up { get; set; }

    /// <summary>Crash right after the next message that makes it write (entries, a snapshot, a
    /// vote) is stepped, before its output is taken.</summary>
    public bool CrashInNextStep { get; set; }
    public Dictionary<uint, SimReplica> Replicas { get; } = [];

    /// <summary>Groups whose output is due to be taken (inputs are being batched).</summary>
    public HashSet<uint> FlushDue { get; } = [];

    /// <summary>The nodes this node's failure detector last found unreachable (reset at a start).</summary>
    public HashSet<string> Unreachable { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Counts crashes, so that work scheduled before one is dropped after it.</summary>
    public int Incarnation { get; set; }
}

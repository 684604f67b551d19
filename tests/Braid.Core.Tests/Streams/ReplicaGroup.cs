using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Protocol.V1;
using Braid.Simulation;

namespace Braid.Core.Tests.Streams;

/// <summary>Three replicas of partition 0 (A, B, C in placement order: A is the preferred leader)
/// on simulated disks, a FIFO network, replicas that can be stopped and reopened on their disk.</summary>
internal sealed class ReplicaGroup
{
    public static readonly string[] Ids = ["A", "B", "C"];

    private readonly Queue<RaftMessage> network = new();
    public readonly Dictionary<string, PartitionReplica> Replicas = new(StringComparer.Ordinal);
    public readonly Dictionary<string, SimulatedDevice> Devices = new(StringComparer.Ordinal);
    public readonly List<AppendAck> Acks = [];
    public readonly HashSet<string> Down = new(StringComparer.Ordinal);
    private int opens;

    public ReplicaGroup(long segmentBytes = 64 * 1024)
    {
        SegmentBytes = segmentBytes;
        for (var i = 0; i < Ids.Length; i++)
        {
            Devices[Ids[i]] = new SimulatedDevice(7 + i);
            Open(Ids[i]);
        }
    }

    public long SegmentBytes { get; }

    public PartitionReplica this[string id] => Replicas[id];

    public PartitionReplica Open(string id, bool expectExisting = false) =>
        Replicas[id] = new PartitionReplica(0, id, Ids, Devices[id], new Random(1000 * ++opens + 17),
            new PartitionReplicaOptions(new RaftOptions(), SegmentBytes, PendingMax: 64), expectExisting);

    /// <summary>Stops a replica as a crash would: unsynced writes are lost.</summary>
    public void Stop(string id)
    {
        Replicas[id].Dispose();
        Devices[id].Crash(SimulatedCrash.LoseUnsynced);
        Down.Add(id);
    }

    public void Flush()
    {
        foreach (var (id, r) in Replicas)
        {
            if (Down.Contains(id) || !r.HasOutput) continue;
            var output = r.TakeOutput();
            Acks.AddRange(output.Acks);
            foreach (var m in output.Messages)
                if (!Down.Contains(m.To)) network.Enqueue(m);
        }
    }

    public void Settle()
    {
        Flush();
        for (var i = 0; i < 100_000 && network.Count > 0; i++)
        {
            var m = network.Dequeue();
            if (!Down.Contains(m.To)) Replicas[m.To].Step(m);
            Flush();
        }
        Assert.Empty(network);
    }

    public void TickAll(int n)
    {
        for (var i = 0; i < n; i++)
        {
            foreach (var (id, r) in Replicas)
                if (!Down.Contains(id)) r.Tick();
            Settle();
        }
    }

    public void ElectA()
    {
        for (var i = 0; i < 2 * new RaftOptions().ElectionTicks; i++)
        {
            Replicas["A"].Tick();
            Settle();
        }
        Assert.Equal(RaftRole.Leader, Replicas["A"].Raft.Role);
    }

    /// <summary>Ticks only <paramref name="id"/> until it has campaigned and won; returns the ticks it took.</summary>
    public int Elect(string id)
    {
        for (var i = 1; i <= 2 * new RaftOptions().ElectionTicks; i++)
        {
            Replicas[id].Tick();
            Settle();
            if (Replicas[id].Raft.Role == RaftRole.Leader) return i;
        }
        Assert.Fail($"{id} did not win an election");
        return 0;
    }
}

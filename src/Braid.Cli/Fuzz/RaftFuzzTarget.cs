using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Data;
using Braid.Protocol.V1;
using Braid.Simulation;
using Google.Protobuf;

namespace Braid.Cli.Fuzz;

/// <summary>
/// Three replicas of partition 0 (A, B, C) on simulated devices, with a queue between them: the
/// honest group the Raft target builds its states with. Retention is on and segments are small,
/// so snapshots and several segments appear after a few dozen batches.
/// </summary>
internal sealed class MiniRaftGroup : IDisposable
{
    public static readonly string[] Ids = ["A", "B", "C"];

    public static PartitionReplicaOptions Options { get; } = new(new RaftOptions(), SegmentBytes: 2048, RetainBytes: 6144, CheckpointEveryBytes: 1024);

    private readonly Dictionary<string, PartitionReplica> replicas = [];
    private readonly Dictionary<string, SimulatedDevice> devices = [];
    private readonly Queue<RaftMessage> network = new();
    private ulong sequence;

    public MiniRaftGroup(int seed)
    {
        for (int i = 0; i < Ids.Length; i++)
        {
            devices[Ids[i]] = new SimulatedDevice(seed * 10 + i);
            replicas[Ids[i]] = new PartitionReplica(0, Ids[i], Ids, devices[Ids[i]], new Random(seed * 10 + i), Options);
        }
    }

    public SimulatedDevice DeviceOf(string id) => devices[id];

    public PartitionReplica this[string id] => replicas[id];

    /// <summary>Every message sent so far, encoded: seeds for the Raft target.</summary>
    public List<byte[]> Sent { get; } = [];

    public Func<RaftMessage, bool> Drop { get; set; } = _ => false;

    /// <summary>Ticks <paramref name="id"/> until <paramref name="done"/>, delivering messages as they come.</summary>
    public void TickUntil(string id, Func<bool> done, int ticksMax = 500)
    {
        for (int t = 0; t < ticksMax && !done(); t++)
        {
            replicas[id].Tick();
            Pump();
        }
        if (!done()) throw new InvalidOperationException($"the fuzz harness could not bring {id} to the wanted state");
    }

    /// <summary>Takes every replica's output and delivers the messages until the queue is empty.</summary>
    public void Pump(int roundsMax = 50)
    {
        for (int round = 0; round < roundsMax; round++)
        {
            foreach (var r in replicas.Values)
                foreach (var m in r.TakeOutput().Messages)
                {
                    Sent.Add(m.ToByteArray());
                    if (!Drop(m)) network.Enqueue(m);
                }
            if (network.Count == 0) return;
            while (network.TryDequeue(out var m)) replicas[m.To].Step(m);
        }
    }

    /// <summary>Appends a few client batches through <paramref name="leader"/> and replicates them.</summary>
    public void AppendBatches(string leader, int count)
    {
        for (int i = 0; i < count; i++)
        {
            var batch = FuzzSamples.Batches[1 + i % (FuzzSamples.Batches.Count - 1)];
            replicas[leader].Append(i, 7, ++sequence, batch);
            Pump();
        }
    }

    public void Dispose()
    {
        foreach (var r in replicas.Values) r.Dispose();
    }
}

/// <summary>
/// Raft messages (as the partition loop steps them) into replica A of a real group in one of
/// five states: new, follower with a log, pre-candidate/candidate, leader with entries, leader
/// after compaction. A run of cases goes to one state, as a hostile peer would send them; the
/// honest peers' messages in between keep it moving. Judged on A alone (a forged message from B
/// is believed as far as B is: Raft does not survive a Byzantine member, the overlay and TLS
/// decide who B is): terms and commit never go back, applied entries are consecutive, and no
/// step throws.
/// </summary>
internal sealed class RaftFuzzTarget : FuzzTarget
{
    private static readonly string[] StateNames = ["new", "follower", "candidate", "leader", "leader-compacted"];
    private MiniRaftGroup? group;
    private ulong lastTerm, lastCommit, lastApplied;
    private long block;

    public override string Name => "raft";
    public override string Description => "RaftMessage bytes stepped into a replica (new, follower, candidate, leader with entries, leader after compaction)";

    public override int CasesPerReset => 100;

    public override int InputBytesMax => 256 * 1024;

    public override IReadOnlyList<byte[]> Seeds { get; } = BuildSeeds();

    private static byte[][] BuildSeeds()
    {
        var seeds = new List<byte[]>();
        for (int state = 0; state < StateNames.Length; state++)
        {
            using var g = Build(state, seed: 1000 + state);
            seeds.AddRange(g.Sent.Select(bytes => AsFromPeer(RaftMessage.Parser.ParseFrom(bytes)).ToByteArray()));
        }
        // Every type at least once, and the largest messages first (they carry entries and snapshots).
        return seeds.DistinctBy(Convert.ToHexString).GroupBy(s => RaftMessage.Parser.ParseFrom(s).Type)
            .SelectMany(t => t.OrderByDescending(s => s.Length).Take(12)).ToArray();
    }

    /// <summary>A message of the group seen as if a peer sent it to A.</summary>
    private static RaftMessage AsFromPeer(RaftMessage m)
    {
        var copy = m.Clone();
        if (copy.From == "A") copy.From = copy.To == "C" ? "C" : "B";
        copy.To = "A";
        return copy;
    }

    public static MiniRaftGroup Build(int state, int seed)
    {
        var g = new MiniRaftGroup(seed);
        var a = g["A"];
        switch (state)
        {
            case 1:
                g.TickUntil("B", () => g["B"].Raft.Role == RaftRole.Leader);
                g.AppendBatches("B", 6);
                break;
            case 2:
                g.Drop = m => m.Type == RaftMessageType.VoteResponse;
                g.TickUntil("A", () => a.Raft.Role == RaftRole.Candidate);
                break;
            case 3:
                g.TickUntil("A", () => a.Raft.Role == RaftRole.Leader);
                g.AppendBatches("A", 5);
                g.Drop = m => m.To == "C";
                g.AppendBatches("A", 3);
                break;
            case 4:
                g.TickUntil("A", () => a.Raft.Role == RaftRole.Leader);
                g.AppendBatches("A", 40);
                break;
        }
        g.Drop = _ => false;
        return g;
    }

    public override void Reset(long block)
    {
        group?.Dispose();
        this.block = block;
        group = Build((int)(block % StateNames.Length), seed: (int)(block % 1000));
        var status = group["A"].Raft.Status;
        lastTerm = status.Term;
        lastCommit = status.CommitIndex;
        lastApplied = group["A"].State.AppliedIndex;
    }

    public override string? Run(byte[] input)
    {
        var g = group!;
        RaftMessage m;
        try
        {
            m = RaftMessage.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException)
        {
            return "InvalidProtocolBufferException";
        }
        // RaftDriver.Deliver: the message must come from the envelope's source (a topology node
        // other than this one, as the overlay's validator ensures), and PartitionSet.Run finds its group.
        if (m.From is not ("B" or "C")) return "forged source (RaftDriver)";
        if (m.Group != 0) return "no such partition (PartitionSet)";
        var a = g["A"];
        long refusedBefore = a.Raft.RefusedCount;
        a.Step(m);
        Check(a.TakeOutput());
        bool refused = a.Raft.RefusedCount > refusedBefore;
        // The honest peers answer and A goes on: refused input must leave a working node.
        a.Tick();
        g.Pump(roundsMax: 3);
        Check(null);
        return refused ? "refused by RaftNode validation" : null;
    }

    private void Check(ReplicaOutput? output)
    {
        var a = group!["A"];
        var status = a.Raft.Status;
        string where = $"state {StateNames[block % StateNames.Length]}";
        FuzzInvariantException.Check(status.Term >= lastTerm && status.Term <= RaftNode.TermMax, $"{where}: term went from {lastTerm} to {status.Term}");
        FuzzInvariantException.Check(status.CommitIndex >= lastCommit, $"{where}: commit went back from {lastCommit} to {status.CommitIndex}");
        FuzzInvariantException.Check(a.State.AppliedIndex >= lastApplied, $"{where}: applied went back from {lastApplied} to {a.State.AppliedIndex}");
        if (output is not null)
        {
            ulong previous = output.Restored?.Index ?? lastApplied;
            foreach (var (entry, _) in output.Applied)
            {
                FuzzInvariantException.Check(entry.Index == previous + 1, $"{where}: applied {entry.Index} after {previous}");
                previous = entry.Index;
            }
        }
        lastTerm = status.Term;
        lastCommit = status.CommitIndex;
        lastApplied = a.State.AppliedIndex;
    }
}

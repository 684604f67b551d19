using System.Text;
using Braid.Core;
using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Core.Topology;
using Braid.Protocol.V1;

namespace Braid.Simulation;

/// <summary>
/// One seeded run of a whole cluster in one thread (in the spirit of FoundationDB's simulation
/// and TigerBeetle's VOPR): simulated time, a network that honours the overlay and drops,
/// duplicates, delays and reorders messages, cuts links and partitions the graph, nodes that
/// crash (losing unsynced writes, tearing the last one) and restart, a workload proposing
/// batches with retries, and checkers on every step. Same seed, same trace.
/// </summary>
public sealed partial class Simulation
{
    private readonly PriorityQueue<Action, (long Time, long Sequence)> events = new();
    private readonly Random random;
    private readonly RaftOptions raftOptions; // the node host's settings
    private readonly StringBuilder? trace;
    private long sequence;
    private ulong traceHash = Fnv1a.Offset;

    public Simulation(ClusterTopology topology, IReadOnlyList<string[]> groups, int seed, SimOptions options)
    {
        Seed = seed;
        Options = options;
        // Quiescence relies on the failure detector to notice a silent leader's death.
        raftOptions = options.InstantFailover ? RaftOptions.Node : RaftOptions.Node with { QuiesceTicks = 0 };
        random = new Random(seed);
        Network = new SimNetwork(topology);
        Checker = new SimChecker(options.ProducerIdleEntries);
        trace = options.Trace ? new StringBuilder() : null;
        foreach (var id in topology.NodeIds) Nodes[id] = new SimNode(id);
        for (var g = 0; g < groups.Count; g++)
            foreach (var id in groups[g])
                Nodes[id].Replicas[(uint)g] = new SimReplica((uint)g, groups[g], new SimulatedDevice(random.Next()));
        Groups = groups;
        for (var g = 0; g < groups.Count; g++) targets[(uint)g] = groups[g];
    }

    public int Seed { get; }
    public SimOptions Options { get; }
    public SimNetwork Network { get; }
    public SimChecker Checker { get; }
    public IReadOnlyList<string[]> Groups { get; }
    public Dictionary<string, SimNode> Nodes { get; } = new(StringComparer.Ordinal);

    /// <summary>Simulated time in microseconds.</summary>
    public long Now { get; private set; }

    public ulong TraceHash => traceHash;
    public string TraceText => trace?.ToString() ?? "";
    public long MessagesDelivered { get; private set; }

    public void Schedule(TimeSpan after, Action action) => events.Enqueue(action, (Now + (long)after.TotalMicroseconds, sequence++));

    /// <summary>Runs events until simulated time reaches <paramref name="until"/> (microseconds) or nothing is left.</summary>
    public void RunUntil(long until)
    {
        while (events.TryPeek(out var action, out var key) && key.Time <= until)
        {
            events.Dequeue();
            Now = key.Time;
            action();
        }
        Now = Math.Max(Now, until);
    }

    /// <summary>Starts every node, schedules ticks, the workload and (optionally) faults.</summary>
    public void Start()
    {
        foreach (var node in Nodes.Values) StartNode(node);
        foreach (var node in Nodes.Values)
        {
            var offset = TimeSpan.FromMicroseconds(random.Next((int)Options.TickInterval.TotalMicroseconds));
            Schedule(offset, () => TickNode(node));
        }
    }

    private void TickNode(SimNode node)
    {
        if (node.Up && Options.InstantFailover) DetectUnreachable(node);
        if (node.Up)
        {
            foreach (var replica in node.Replicas.Values.ToList())
            {
                if (replica.Replica is null) continue;
                replica.Replica.Tick();
                if (Options.Membership) FollowPlacement(node, replica);
                if (replica.Replica is not null) Flush(node, replica);
            }
            if (Options.Membership) OpenPlacedReplicas(node);
        }
        Schedule(Options.TickInterval, () => TickNode(node));
    }

    /// <summary>The host's side of instant failover (Braid.Node's RaftDriver.ReachabilityChanged):
    /// each node newly without a route is reported to every replica here.</summary>
    private void DetectUnreachable(SimNode node)
    {
        var reachable = Network.ReachableFrom(node.Id);
        var now = Nodes.Keys.Where(id => !reachable.Contains(id)).ToHashSet(StringComparer.Ordinal);
        var lost = now.Where(id => !node.Unreachable.Contains(id)).Order(StringComparer.Ordinal).ToList();
        var found = node.Unreachable.Where(id => !now.Contains(id)).Order(StringComparer.Ordinal).ToList();
        node.Unreachable = now;
        foreach (var dead in lost)
        {
            foreach (var sim in node.Replicas.Values)
            {
                if (sim.Replica is not { } replica || !replica.Raft.Configuration.Contains(dead)) continue;
                if (replica.Raft.Leader == dead && replica.Raft.Role != RaftRole.Leader) Record($"{node.Id}/g{sim.Group} leader {dead} unreachable");
                Guard(() => replica.PeerUnreachable(dead, v => !now.Contains(v)));
                Flush(node, sim);
            }
        }
        foreach (var back in found)
        {
            foreach (var sim in node.Replicas.Values)
            {
                if (sim.Replica is not { } replica || !replica.Raft.Configuration.Contains(back)) continue;
                Guard(() => replica.PeerReachable(back));
                Flush(node, sim);
            }
        }
    }

    public void StartNode(SimNode node)
    {
        node.Up = true;
        node.Unreachable = new HashSet<string>(StringComparer.Ordinal);
        Network.SetUp(node.Id, true);
        foreach (var replica in node.Replicas.Values)
        {
            replica.Placement = targets[replica.Group];
            Guard(() => replica.Start(node.Id, new Random(random.Next()), raftOptions, Options));
            if (replica.Replica?.StorageReport.LostState is { } lost) Record($"{node.Id}/g{replica.Group} lost state: {lost}");
        }
        Record($"{node.Id} start");
    }

    public void CrashNode(SimNode node)
    {
        node.Up = false;
        node.Incarnation++;
        node.CrashInNextStep = false;
        Network.SetUp(node.Id, false);
        var mode = (SimulatedCrash)random.Next(3);
        foreach (var replica in node.Replicas.Values)
        {
            replica.Stop();
            replica.Device.Crash(mode);
        }
        Record($"{node.Id} crash ({mode})");
    }

    /// <summary>Takes a replica's output (the core decides everything in it) and hands it to the
    /// network, the checkers and the producers.</summary>
    internal void Flush(SimNode node, SimReplica sim)
    {
        var replica = sim.Replica!;
        if (!replica.HasOutput) return;
        ReplicaOutput output;
        try
        {
            output = replica.TakeOutput();
        }
        catch (Exception e) when (e is InvariantViolationException or LogException)
        {
            Checker.Violation($"{node.Id}/g{sim.Group}: {e.Message}");
            return;
        }
        if (output.RecoveryEnded) Record($"{node.Id}/g{sim.Group} caught up after lost state");
        if (output.NoSpaceAlarm is { } noSpace) Record($"{node.Id}/g{sim.Group} NOSPACE alarm {(noSpace ? "raised" : "cleared")}");
        if (output.StateChanged)
        {
            Checker.OnState(replica.Raft.Status);
            Record($"{node.Id}/g{sim.Group} {replica.Raft.Role} term {replica.Raft.Term}");
        }
        if (output.TransferStartedTo is { } preferred) Record($"{node.Id}/g{sim.Group} hands leadership to {preferred}");
        foreach (var m in output.Messages) SendMessage(m);
        if (output.Restored is { } snapshot)
        {
            Checker.OnSnapshot(node.Id, sim.Group, snapshot);
            if (!output.RestoredAtStart) SnapshotsInstalled++;
            Record($"{node.Id}/g{sim.Group} restores snapshot {snapshot.Index}@{snapshot.Term}");
        }
        foreach (var (entry, outcome) in output.Applied) Checker.OnApply(node.Id, sim.Group, entry, outcome);
        if (output.CompactedTo > 0)
        {
            Compactions++;
            Record($"{node.Id}/g{sim.Group} compacts to {output.CompactedTo}");
        }
        foreach (var ack in output.Acks) SendAck(ack);
    }

    /// <summary>
    /// Takes the replica's output now, or (half the time) a little later, after whatever else
    /// reaches the node meanwhile was stepped too: the node host drains its inbox before it takes
    /// the outputs, so one output there often answers many inputs (a step down and a commit,
    /// many proposals in one fsync), and the simulator must reach those outputs as well.
    /// </summary>
    internal void FlushSoon(SimNode node, SimReplica replica)
    {
        if (random.Next(2) == 0)
        {
            Flush(node, replica);
            return;
        }
        if (!node.FlushDue.Add(replica.Group)) return;
        var incarnation = node.Incarnation;
        Schedule(TimeSpan.FromMicroseconds(random.Next(1, 2000)), () =>
        {
            node.FlushDue.Remove(replica.Group);
            if (node.Up && node.Incarnation == incarnation && replica.Replica is not null) Flush(node, replica);
        });
    }

    /// <summary>Log compactions done in this run (each one saved a snapshot).</summary>
    public long Compactions { get; private set; }

    /// <summary>Snapshots a follower installed from its leader in this run.</summary>
    public long SnapshotsInstalled { get; private set; }

    private void SendMessage(RaftMessage m)
    {
        var hops = Network.Hops(m.From, m.To);
        if (hops < 0 || random.NextDouble() < CurrentDropRate) return;
        var copies = random.NextDouble() < CurrentDuplicateRate ? 2 : 1;
        for (var c = 0; c < copies; c++)
        {
            var delay = hops * random.NextDouble() * Options.HopDelayMax.TotalMicroseconds + random.NextDouble() * CurrentJitter.TotalMicroseconds;
            var message = c == 0 ? m : m.Clone();
            Schedule(TimeSpan.FromMicroseconds(Math.Max(1, delay)), () => Deliver(message));
        }
    }

    private void Deliver(RaftMessage m)
    {
        if (Network.Hops(m.From, m.To) < 0) return; // the path broke while it was in flight
        var node = Nodes[m.To];
        if (!node.Up || !node.Replicas.TryGetValue(m.Group, out var replica) || replica.Replica is null) return;
        MessagesDelivered++;
        Guard(() => replica.Replica.Step(m));
        var writes = m.Type is RaftMessageType.InstallSnapshot or RaftMessageType.Vote || m.Type == RaftMessageType.Append && m.Entries.Count > 0;
        if (node.CrashInNextStep && writes && !healed)
        {
            Record($"{node.Id} crashes inside a step of g{m.Group} ({m.Type})");
            CrashNode(node);
            return;
        }
        FlushSoon(node, replica);
    }

    private void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (InvariantViolationException e)
        {
            Checker.Violation(e.Message);
        }
        catch (LogException e)
        {
            Checker.Violation("storage: " + e.Message);
        }
    }

    internal void Record(string text)
    {
        var line = $"{Now / 1000.0:F1}ms {text}";
        traceHash = Fnv1a.Append(traceHash, line);
        trace?.AppendLine(line);
    }
}

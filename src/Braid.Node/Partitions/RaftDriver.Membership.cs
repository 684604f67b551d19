using Braid.Core.Placement;
using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Node.Partitions;

/// <summary>
/// Membership on the partition loop (issue 12). The catalog holds each group's target replicas;
/// here, every half second, each replica takes its group's target and a leader takes the next
/// step towards it (<see cref="PartitionReplica.ReconcileMembership"/>: add a learner, promote it
/// once caught up, hand leadership away, remove a member, one server at a time). Replicas of
/// groups placed here are opened (joining, they catch up from the leader); a replica the target
/// left is closed and its files removed once its group has committed its removal, or, if it does
/// not vote, once it has heard no leader for 2 s. The metadata leader declares a node dead after
/// <see cref="NodeOptions.DeadAfter"/> without a route to it and moves its replicas in the same
/// committed entry (<see cref="PlacementPlanner.Replace"/>): R comes back with no operator.
/// The simulator runs the same core steps (Braid.Simulation's Simulation.Membership.cs).
/// </summary>
internal sealed partial class RaftDriver
{
    /// <summary>Ticks between membership passes (500 ms).</summary>
    private const int MembershipTicks = 10;

    /// <summary>A replica the target left that does not vote is closed after this long without a leader (2 s).</summary>
    private const long UnplacedNonVoterTicks = 40;

    private int membershipTicks;
    /// <summary>When (Stopwatch timestamp) each node was first seen without a route, on the metadata
    /// leader. Time, not ticks: an idle loop ticks four times slower (quiescence).</summary>
    private readonly Dictionary<string, long> unreachableSince = new(StringComparer.Ordinal);
    private bool declaring;
    private NodeState lastSelfState = NodeState.NodeUp;

    /// <summary>The groups to open at start: those placed here, and those this node still holds
    /// files of (a node back from an outage, even one declared dead meanwhile, is a member of its
    /// groups until their leaders remove it, and they may need it for a majority until then).</summary>
    private IEnumerable<uint> GroupsToOpen() =>
        streams.PlacedOn(options.NodeId)
            .Concat(streams.Groups.Where(g => HoldsFiles(streams.DirectoryOf(g))))
            .Distinct();

    private static bool HoldsFiles(string directory) =>
        Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any();

    private void MaintainMembership()
    {
        DetectDead();
        if (++membershipTicks < MembershipTicks) return;
        membershipTicks = 0;
        var selfState = streams.Catalog.StateOf(options.NodeId);
        if (selfState != lastSelfState)
        {
            lastSelfState = selfState;
            if (selfState != NodeState.NodeUp) Log.SelfNotUp(logger, options.NodeId, StreamCatalog.Describe(selfState));
        }
        foreach (var group in replicas.Keys.ToList())
        {
            if (!replicas.TryGetValue(group, out var replica)) continue;
            if (streams.ReplicasOf(group) is not { } target) continue; // a deleted stream: Reconcile closes it
            var placedHere = target.Contains(options.NodeId) && selfState == NodeState.NodeUp;
            var raft = replica.Raft;
            if (!placedHere && (raft.Removed || (!raft.IsVoter || raft.Recovering) && raft.TicksWithoutLeader > UnplacedNonVoterTicks))
            {
                CloseAndRemove(group, raft.Removed ? "its group removed it" : "not placed here, not a voter, no leader heard");
                continue;
            }
            partitions.Run(group, r =>
            {
                r.SetPlacement(target);
                if (r.ReconcileMembership() is { } step)
                    Log.MembershipStep(logger, StreamGroups.Describe(group), step.Action.ToString(), step.Node, step.Next?.ToString() ?? r.Raft.Configuration.ToString());
            });
        }
        foreach (var group in streams.PlacedOn(options.NodeId))
            if (partitions.Add(group)) Log.StreamReplicaOpened(logger, StreamGroups.Describe(group));
    }

    private void CloseAndRemove(uint group, string why)
    {
        partitions.Remove(group);
        DeleteFiles(group);
        Log.ReplicaRemoved(logger, StreamGroups.Describe(group), why);
    }

    /// <summary>
    /// On the metadata leader: a node without a route from here for <see cref="NodeOptions.DeadAfter"/>
    /// is declared dead, and each group holding it gets a replacement placed by the placement rules
    /// among the nodes up and reachable, in one committed entry. Only a leader with a commit of its
    /// term counts (a new leader starts counting afresh: a node is never declared dead sooner).
    /// </summary>
    private void DetectDead()
    {
        if (!replicas.TryGetValue(StreamGroups.MetaGroup, out var meta) || !meta.Raft.LeaderWithCurrentCommit)
        {
            unreachableSince.Clear();
            return;
        }
        var catalog = streams.Catalog;
        foreach (var node in streams.Topology.NodeIds)
        {
            if (node == options.NodeId || !catalog.TakesReplicas(node) || !unreachable.Contains(node))
            {
                unreachableSince.Remove(node);
                continue;
            }
            var since = unreachableSince.TryGetValue(node, out var at) ? at : unreachableSince[node] = System.Diagnostics.Stopwatch.GetTimestamp();
            var down = System.Diagnostics.Stopwatch.GetElapsedTime(since);
            if (declaring || down < options.DeadAfter) continue;
            DeclareDead(node, down.TotalSeconds);
        }
    }

    private void DeclareDead(string node, double seconds)
    {
        var groups = streams.Groups.ToDictionary(g => g, g => streams.ReplicasOf(g)!);
        var moves = PlacementPlanner.Replace(streams.Topology, groups, n => n == node || !streams.Catalog.TakesReplicas(n),
            n => n != node && streams.TakesReplicas(n) && !unreachable.Contains(n));
        Log.DeclaringDead(logger, node, seconds, options.DeadAfter.TotalSeconds, moves.Count);
        var command = new MembershipCommand { Reason = $"{node} unreachable from the metadata leader {options.NodeId} for {seconds:F0} s" };
        command.Nodes.Add(NodeEntry(node, NodeState.NodeDead));
        foreach (var (group, replicas) in moves.OrderBy(m => m.Key))
        {
            var placement = new GroupPlacement { Group = group };
            placement.Nodes.AddRange(replicas);
            command.Placements.Add(placement);
        }
        declaring = true;
        var request = new AppendRequest
        {
            Partition = StreamGroups.MetaGroup, Producer = (ulong)Random.Shared.NextInt64(1, long.MaxValue), Sequence = 1,
            Payload = new CatalogCommand { Membership = command }.ToByteString(),
        };
        _ = Propose(request).Task.ContinueWith(t =>
        {
            var reply = t.Result;
            if (reply.Status != AppendStatus.AppendOk) Log.DeclareDeadFailed(logger, node, $"{reply.Status} {reply.Error}");
            inbox.Writer.TryWrite(() =>
            {
                declaring = false;
                unreachableSince.Remove(node);
            });
        }, TaskScheduler.Default);
    }

    /// <summary>The catalog entry of <paramref name="node"/> with <paramref name="state"/>: its
    /// existing entry (an added node keeps its address and edges), or one from the topology file.</summary>
    public CatalogNode NodeEntry(string node, NodeState state)
    {
        if (streams.Catalog.Nodes.TryGetValue(node, out var existing))
        {
            var changed = existing.Clone();
            changed.State = state;
            return changed;
        }
        var info = streams.Topology.Node(node);
        return new CatalogNode { Id = node, Host = info.Host, Port = info.Port, Site = info.Site, State = state };
    }

    /// <summary>
    /// Turns an operator's request into the catalog command that does it (computed here, on the
    /// loop, from this node's catalog and reachability): null with an explanation when there is
    /// nothing to do (the cluster already is as asked). Throws <see cref="ArgumentException"/> for
    /// a request that cannot be done.
    /// </summary>
    public Task<(MembershipCommand? Command, string Summary)> PlanMembershipAsync(MembershipChangeRequest request, CancellationToken ct) => AskAsync(() => PlanMembership(request), ct);

    private (MembershipCommand? Command, string Summary) PlanMembership(MembershipChangeRequest request)
    {
        var catalog = streams.Catalog;
        var topology = streams.Topology;
        var command = new MembershipCommand();
        var groups = streams.Groups.ToDictionary(g => g, g => streams.ReplicasOf(g)!);
        bool Reachable(string n) => n == options.NodeId || !unreachable.Contains(n);
        switch (request.Action)
        {
            case MembershipChangeRequest.Types.Action.Add:
            {
                var entry = NewEntry(request.Node, request, topology);
                var known = catalog.Nodes.TryGetValue(request.Node, out var existing) ? existing : null;
                var upAlready = topology.Contains(request.Node) && catalog.TakesReplicas(request.Node);
                if (upAlready && known is not null && (known.Host != entry.Host || known.Port != entry.Port || !known.Edges.SequenceEqual(entry.Edges)))
                    throw new ArgumentException($"node {request.Node} is in the cluster already, with other settings ({known.Host}:{known.Port}, edges {string.Join(",", known.Edges)}); remove it first");
                if (!upAlready) command.Nodes.Add(entry);
                command.Reason = $"operator: add {request.Node}";
                if (request.Rebalance)
                {
                    var grown = upAlready ? topology : topology.WithNodes([new Core.Topology.NodeInfo(entry.Id, entry.Host, entry.Port, entry.Site)], entry.Edges.Select(e => (entry.Id, e)));
                    AddPlacements(command, PlacementPlanner.Rebalance(grown, groups, n => n == request.Node || streams.TakesReplicas(n) && Reachable(n)));
                }
                break;
            }
            case MembershipChangeRequest.Types.Action.Remove:
            {
                RequireNode(request.Node, topology);
                if (catalog.StateOf(request.Node) != NodeState.NodeRemoved) command.Nodes.Add(NodeEntry(request.Node, NodeState.NodeRemoved));
                command.Reason = $"operator: remove {request.Node}";
                AddPlacements(command, PlacementPlanner.Replace(topology, groups, n => n == request.Node || !catalog.TakesReplicas(n),
                    n => n != request.Node && streams.TakesReplicas(n) && Reachable(n)));
                var shrunk = command.Placements.Where(p => p.Nodes.Count < groups[p.Group].Count).Select(p => StreamGroups.Describe(p.Group)).ToList();
                if (shrunk.Count > 0 && !request.Force)
                    throw new ArgumentException($"removing {request.Node} leaves {shrunk.Count} group(s) with fewer replicas ({string.Join(" ", shrunk)}): no other node that is up and reachable can take them; add a node first, or remove with --force");
                break;
            }
            case MembershipChangeRequest.Types.Action.Replace:
            {
                RequireNode(request.Node, topology);
                if (StreamCatalog.ValidateNodeId(request.With) is { } bad) throw new ArgumentException($"--with: {bad}");
                if (request.With == request.Node) throw new ArgumentException("a node cannot replace itself");
                var comes = NewEntry(request.With, request, topology);
                if (!(topology.Contains(request.With) && catalog.TakesReplicas(request.With))) command.Nodes.Add(comes);
                if (catalog.StateOf(request.Node) != NodeState.NodeRemoved) command.Nodes.Add(NodeEntry(request.Node, NodeState.NodeRemoved));
                command.Reason = $"operator: replace {request.Node} with {request.With}";
                foreach (var (group, replicas) in groups.OrderBy(g => g.Key))
                {
                    if (!replicas.Contains(request.Node)) continue;
                    var next = replicas.Contains(request.With) ? replicas.Where(r => r != request.Node) : replicas.Select(r => r == request.Node ? request.With : r);
                    AddPlacement(command, group, next);
                }
                break;
            }
            case MembershipChangeRequest.Types.Action.Rebalance:
                command.Reason = "operator: rebalance";
                AddPlacements(command, PlacementPlanner.Rebalance(topology, groups, n => streams.TakesReplicas(n) && Reachable(n)));
                break;
            default:
                throw new ArgumentException("an action is required: add, remove, replace or rebalance");
        }
        if (command.Nodes.Count == 0 && command.Placements.Count == 0) return (null, "nothing to change: the cluster already is as asked");
        if (catalog.RefusalOf(command) is { } refusal) throw new ArgumentException(refusal);
        return (command, $"{command.Reason}: {command.Nodes.Count} node entr{(command.Nodes.Count == 1 ? "y" : "ies")}, {command.Placements.Count} group(s) move");
    }

    private static void AddPlacements(MembershipCommand command, IReadOnlyDictionary<uint, string[]> moves)
    {
        foreach (var (group, replicas) in moves.OrderBy(m => m.Key)) AddPlacement(command, group, replicas);
    }

    private static void AddPlacement(MembershipCommand command, uint group, IEnumerable<string> replicas)
    {
        var placement = new GroupPlacement { Group = group };
        placement.Nodes.AddRange(replicas);
        command.Placements.Add(placement);
    }

    private static void RequireNode(string node, Core.Topology.ClusterTopology topology)
    {
        if (StreamCatalog.ValidateNodeId(node) is { } bad) throw new ArgumentException(bad);
        if (!topology.Contains(node)) throw new ArgumentException($"unknown node '{node}' (the cluster has {string.Join(", ", topology.NodeIds)})");
    }

    /// <summary>The entry of a node being added: a topology node keeps its address unless the
    /// request gives one; a new node needs host, port, site and at least one edge to a known node.</summary>
    private CatalogNode NewEntry(string node, MembershipChangeRequest request, Core.Topology.ClusterTopology topology)
    {
        if (StreamCatalog.ValidateNodeId(node) is { } bad) throw new ArgumentException(bad);
        foreach (var e in request.Edges)
        {
            if (e == node) throw new ArgumentException($"node {node} cannot have an edge to itself");
            if (!topology.Contains(e)) throw new ArgumentException($"edge to unknown node '{e}' (the cluster has {string.Join(", ", topology.NodeIds)})");
        }
        if (topology.Contains(node))
        {
            var entry = NodeEntry(node, NodeState.NodeUp);
            if (request.Host.Length > 0 || request.Port != 0 || request.Edges.Count > 0)
            {
                var info = topology.Node(node);
                if (request.Host.Length > 0 && request.Host != info.Host || request.Port != 0 && request.Port != info.Port)
                    throw new ArgumentException($"node {node} is at {info.Address} in this cluster; a node comes back at its own address");
            }
            return entry;
        }
        if (request.Host.Length == 0 || request.Port is <= 0 or > 65535) throw new ArgumentException($"a new node needs --host and --port (1-65535), got '{request.Host}' and {request.Port}");
        if (request.Edges.Count == 0) throw new ArgumentException($"a new node needs --edges to at least one node of the cluster");
        var added = new CatalogNode { Id = node, Host = request.Host, Port = request.Port, Site = request.Site.Length > 0 ? request.Site : node, State = NodeState.NodeUp };
        added.Edges.AddRange(request.Edges.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        return added;
    }
}

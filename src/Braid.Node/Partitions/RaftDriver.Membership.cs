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
    private readonly Dictionary<string, long> unreachableSinceTick = new(StringComparer.Ordinal);
    private long loopTicks;
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
        loopTicks++;
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
        var directory = streams.DirectoryOf(group);
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException e)
        {
            Log.LoopWorkFailed(logger, e);
        }
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
            unreachableSinceTick.Clear();
            return;
        }
        var catalog = streams.Catalog;
        foreach (var node in streams.Topology.NodeIds)
        {
            if (node == options.NodeId || !catalog.TakesReplicas(node) || !unreachable.Contains(node))
            {
                unreachableSinceTick.Remove(node);
                continue;
            }
            var since = unreachableSinceTick.TryGetValue(node, out var at) ? at : unreachableSinceTick[node] = loopTicks;
            if (declaring || TickInterval * (loopTicks - since) < options.DeadAfter) continue;
            DeclareDead(node, (TickInterval * (loopTicks - since)).TotalSeconds);
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
                unreachableSinceTick.Remove(node);
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
}

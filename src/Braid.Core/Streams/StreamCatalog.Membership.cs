using Braid.Protocol.V1;

namespace Braid.Core.Streams;

/// <summary>
/// The cluster's membership in the catalog (issue 12): node entries (added nodes with their
/// address, site and edges; states: up, dead, removed) and the target replicas of every group
/// whose replicas differ from its first placement. Folded like every other catalog command, in
/// index order, the same on every node; each change carries the index that made it (its version).
/// </summary>
public sealed partial class StreamCatalog
{
    /// <summary>Most replicas a group may be given.</summary>
    public const int GroupReplicasMax = 7;

    /// <summary>Most nodes the catalog may hold entries for.</summary>
    public const int NodesMax = 64;

    private readonly Dictionary<string, CatalogNode> nodes;
    private readonly Dictionary<uint, string[]> placements;

    /// <summary>Node entries by id: added nodes, and topology nodes whose state changed.</summary>
    public IReadOnlyDictionary<string, CatalogNode> Nodes => nodes;

    /// <summary>Target replicas of the groups moved since their first placement, by group.</summary>
    public IReadOnlyDictionary<uint, string[]> Placements => placements;

    /// <summary>The state of <paramref name="node"/>: its entry's, or up for a node without one.</summary>
    public NodeState StateOf(string node) => nodes.TryGetValue(node, out var n) ? n.State : NodeState.NodeUp;

    /// <summary>True when <paramref name="node"/> may hold replicas (not dead, not removed).</summary>
    public bool TakesReplicas(string node) => StateOf(node) == NodeState.NodeUp;

    /// <summary>Why a membership change cannot apply to this catalog, or null.</summary>
    public string? RefusalOf(MembershipCommand c)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (c.Nodes.Count == 0 && c.Placements.Count == 0) return "a membership change that changes nothing";
        var states = new Dictionary<string, NodeState>(StringComparer.Ordinal);
        foreach (var n in c.Nodes)
        {
            if (ValidateNodeId(n.Id) is { } bad) return bad;
            if (n.State is NodeState.Unknown || !Enum.IsDefined(n.State)) return $"node {n.Id}: unknown state {(int)n.State}";
            if (n.Port is < 0 or > 65535) return $"node {n.Id}: port {n.Port}";
            if (n.Edges.Any(e => ValidateNodeId(e) is not null || e == n.Id)) return $"node {n.Id}: a bad edge";
            if (!states.TryAdd(n.Id, n.State)) return $"node {n.Id} listed twice";
        }
        if (nodes.Count + states.Keys.Count(k => !nodes.ContainsKey(k)) > NodesMax) return $"more than {NodesMax} node entries";
        var groups = new HashSet<uint>();
        foreach (var p in c.Placements)
        {
            if (!groups.Add(p.Group)) return $"group {p.Group} placed twice";
            if (p.Group != StreamGroups.MetaGroup && StreamGroups.StreamOf(p.Group) != 0 && ById(StreamGroups.StreamOf(p.Group)) is not { } s) return $"group {p.Group} belongs to no stream";
            if (p.Nodes.Count is 0 or > GroupReplicasMax) return $"group {p.Group}: 1-{GroupReplicasMax} replicas, not {p.Nodes.Count}";
            if (p.Nodes.Distinct(StringComparer.Ordinal).Count() != p.Nodes.Count) return $"group {p.Group} names a replica twice";
            foreach (var node in p.Nodes)
            {
                if (ValidateNodeId(node) is { } bad) return bad;
                var state = states.TryGetValue(node, out var changed) ? changed : StateOf(node);
                if (state != NodeState.NodeUp) return $"group {p.Group}: node {node} is {Describe(state)}";
            }
        }
        return null;
    }

    private StreamCatalog ApplyMembership(ulong index, MembershipCommand c)
    {
        var nextNodes = new Dictionary<string, CatalogNode>(nodes, StringComparer.Ordinal);
        foreach (var n in c.Nodes)
        {
            var entry = n.Clone();
            entry.ChangedIndex = index;
            nextNodes[n.Id] = entry;
        }
        var nextPlacements = new Dictionary<uint, string[]>(placements);
        foreach (var p in c.Placements) nextPlacements[p.Group] = [.. p.Nodes];
        return new StreamCatalog(index, NextId, active, deleted, nextNodes, nextPlacements);
    }

    /// <summary>Why <paramref name="id"/> cannot name a node, or null.</summary>
    public static string? ValidateNodeId(string? id) =>
        string.IsNullOrEmpty(id) || id.Length > Raft.RaftConfiguration.IdLengthMax || id.Any(ch => !char.IsAsciiLetterOrDigit(ch) && ch is not ('-' or '_' or '.'))
            ? $"'{id}' is not a node id (1-{Raft.RaftConfiguration.IdLengthMax} letters, digits, '-', '_', '.')"
            : null;

    public static string Describe(NodeState state) => state switch
    {
        NodeState.NodeUp => "up",
        NodeState.NodeDead => "dead",
        NodeState.NodeRemoved => "removed",
        _ => "unknown",
    };

    private void AddMembership(CatalogState state)
    {
        foreach (var n in nodes.Values.OrderBy(n => n.Id, StringComparer.Ordinal)) state.Nodes.Add(n.Clone());
        foreach (var (group, replicas) in placements.OrderBy(p => p.Key))
        {
            var wire = new GroupPlacement { Group = group };
            wire.Nodes.AddRange(replicas);
            state.Placements.Add(wire);
        }
    }

    private static bool TryMembershipFrom(CatalogState state, out Dictionary<string, CatalogNode> nodes, out Dictionary<uint, string[]> placements, out string error)
    {
        nodes = new(StringComparer.Ordinal);
        placements = [];
        var check = new MembershipCommand();
        check.Nodes.AddRange(state.Nodes);
        check.Placements.AddRange(state.Placements.Where(p => p.Group == StreamGroups.MetaGroup || StreamGroups.StreamOf(p.Group) == 0));
        if ((check.Nodes.Count > 0 || check.Placements.Count > 0) && Empty.RefusalOf(check) is { } bad)
        {
            error = $"catalog membership is malformed: {bad}";
            return false;
        }
        foreach (var n in state.Nodes)
        {
            if (n.ChangedIndex > state.Version)
            {
                error = $"catalog node {n.Id} changed at {n.ChangedIndex}, after the catalog's version {state.Version}";
                return false;
            }
            nodes[n.Id] = n.Clone();
        }
        foreach (var p in state.Placements)
        {
            if (p.Nodes.Count is 0 or > GroupReplicasMax || p.Nodes.Distinct(StringComparer.Ordinal).Count() != p.Nodes.Count || !placements.TryAdd(p.Group, [.. p.Nodes]))
            {
                error = $"catalog placement of group {p.Group} is malformed";
                return false;
            }
        }
        error = "";
        return true;
    }
}

using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;

namespace Braid.Core.Topology;

/// <summary>One process of the cluster: its id, where it listens, and the site (computer) it runs on.</summary>
public sealed record NodeInfo(string Id, string Host, int Port, string Site)
{
    /// <summary>The address a peer or client dials, e.g. <c>127.0.0.1:7101</c>.</summary>
    public string Address => $"{Host}:{Port}";
}

/// <summary>
/// The overlay graph: nodes and the undirected edges along which they may open connections.
/// Immutable and validated at construction (see <see cref="TopologyLoader"/>).
/// </summary>
public sealed class ClusterTopology
{
    private readonly FrozenDictionary<string, NodeInfo> byId;
    private readonly FrozenDictionary<string, string[]> neighbours;

    internal ClusterTopology(string name, IReadOnlyList<NodeInfo> nodes, IReadOnlyList<(string A, string B)> edges)
    {
        Name = name;
        Nodes = nodes;
        Edges = edges;
        byId = nodes.ToFrozenDictionary(n => n.Id, StringComparer.Ordinal);
        var adjacency = nodes.ToDictionary(n => n.Id, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var (a, b) in edges)
        {
            adjacency[a].Add(b);
            adjacency[b].Add(a);
        }
        neighbours = adjacency.ToFrozenDictionary(
            kv => kv.Key, kv => kv.Value.Order(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
        Hash = ComputeHash(nodes, edges);
    }

    public string Name { get; }
    public IReadOnlyList<NodeInfo> Nodes { get; }
    public IReadOnlyList<(string A, string B)> Edges { get; }

    /// <summary>A short fingerprint of nodes and edges, exchanged in link hellos so that two
    /// processes started from different topology files refuse to link.</summary>
    public string Hash { get; }

    public IEnumerable<string> NodeIds => Nodes.Select(n => n.Id);

    public bool Contains(string id) => byId.ContainsKey(id);

    public NodeInfo Node(string id) =>
        byId.TryGetValue(id, out var node) ? node : throw new TopologyException($"unknown node '{id}' (topology '{Name}' has {string.Join(", ", NodeIds)})");

    /// <summary>Overlay neighbours of <paramref name="id"/>, sorted by id.</summary>
    public IReadOnlyList<string> NeighboursOf(string id) => neighbours[id];

    public bool AreNeighbours(string a, string b) => neighbours.TryGetValue(a, out var n) && Array.IndexOf(n, b) >= 0;

    /// <summary>
    /// Which side of an edge opens the connection: the node whose id sorts first (ordinal).
    /// A fixed rule means exactly one stream per edge, with no races between two dialling sides.
    /// </summary>
    public static bool Dials(string self, string neighbour) => string.CompareOrdinal(self, neighbour) < 0;

    /// <summary>The graph restricted to the nodes <paramref name="keep"/> accepts (edges between them only).</summary>
    public ClusterTopology Subgraph(Func<string, bool> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        var nodes = Nodes.Where(n => keep(n.Id)).ToList();
        return new(Name, nodes, Edges.Where(e => keep(e.A) && keep(e.B)).ToList());
    }

    /// <summary>The graph with <paramref name="added"/> nodes and <paramref name="edges"/> (nodes added
    /// to a running cluster, issue 12). Nodes already present keep their entry; edges naming an
    /// unknown node, a self-loop or one already present are left out.</summary>
    public ClusterTopology WithNodes(IEnumerable<NodeInfo> added, IEnumerable<(string A, string B)> edges)
    {
        ArgumentNullException.ThrowIfNull(added);
        ArgumentNullException.ThrowIfNull(edges);
        var nodes = Nodes.ToList();
        foreach (var n in added)
            if (!nodes.Any(m => m.Id == n.Id)) nodes.Add(n);
        var ids = nodes.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var allEdges = Edges.ToList();
        var seen = allEdges.Select(e => Key(e.A, e.B)).ToHashSet(StringComparer.Ordinal);
        foreach (var (a, b) in edges)
            if (a != b && ids.Contains(a) && ids.Contains(b) && seen.Add(Key(a, b))) allEdges.Add((a, b));
        return new(Name, nodes, allEdges);

        static string Key(string a, string b) => string.CompareOrdinal(a, b) < 0 ? a + "-" + b : b + "-" + a;
    }

    /// <summary>A copy with every port replaced by <c>basePort + position</c> (for tests and side-by-side clusters).</summary>
    public ClusterTopology WithBasePort(int basePort, string? host = null) =>
        new(Name, Nodes.Select((n, i) => n with { Port = basePort + i, Host = host ?? n.Host }).ToList(), Edges);

    private static string ComputeHash(IReadOnlyList<NodeInfo> nodes, IReadOnlyList<(string A, string B)> edges)
    {
        var text = new StringBuilder();
        foreach (var n in nodes.OrderBy(n => n.Id, StringComparer.Ordinal)) text.Append(n.Id).Append(';');
        foreach (var (a, b) in edges.Select(e => string.CompareOrdinal(e.A, e.B) < 0 ? (e.A, e.B) : (e.B, e.A)).Order())
            text.Append(a).Append('-').Append(b).Append(';');
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..12].ToLowerInvariant();
    }
}

/// <summary>A topology that cannot be used; the message names the problem.</summary>
public sealed class TopologyException(string message) : Exception(message);

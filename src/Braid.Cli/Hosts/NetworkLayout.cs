using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Braid.Core.Topology;

namespace Braid.Cli.Hosts;

/// <summary>Where a cluster's nodes run: all on loopback, one network namespace per site, or one per node.</summary>
internal enum HostMode
{
    Loopback,
    Netns,
    NetnsPerNode,
}

/// <summary>One simulated machine: a network namespace with one address, holding some nodes.</summary>
internal sealed record LabHost(string Name, string Namespace, string Address, string RootVeth, string HostVeth, IReadOnlyList<string> Nodes);

/// <summary>
/// The virtual network of a cluster on namespace hosts: a bridge in the root namespace (which also
/// holds the client's address) and one veth pair per host. Every name carries a tag derived from
/// the cluster folder, so two clusters on one machine never share an object, and every address
/// lies in the benchmarking range 198.18.0.0/15 (RFC 2544), one /24 per cluster.
/// </summary>
internal sealed record NetworkLayout(HostMode Mode, string Tag, string Bridge, string BridgeAddress, int PrefixLength, string Table, IReadOnlyList<LabHost> Hosts)
{
    public const string NamespacePrefix = "braid-";
    public const string BridgePrefix = "brd";
    public const string VethPrefix = "vb";
    public const string TablePrefix = "braid_";

    public static HostMode ParseMode(string text) => text switch
    {
        "loopback" => HostMode.Loopback,
        "netns" => HostMode.Netns,
        "netns-per-node" => HostMode.NetnsPerNode,
        _ => throw new Cluster.CliException($"unknown --hosts '{text}' (use loopback, netns or netns-per-node)"),
    };

    public static string ModeName(HostMode mode) => mode switch
    {
        HostMode.Netns => "netns",
        HostMode.NetnsPerNode => "netns-per-node",
        _ => "loopback",
    };

    /// <summary>A short tag from the cluster folder's full path: stable across runs of one folder.</summary>
    public static string TagFor(string clusterDirectory)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(clusterDirectory)));
        return Convert.ToHexStringLower(hash.AsSpan(0, 2));
    }

    /// <summary>Hosts grouped by site (netns) or one per node (netns-per-node), in topology order.</summary>
    /// <param name="subnet">Which /24 of 198.18.0.0/15 (0 to 511) this cluster uses.</param>
    public static NetworkLayout Plan(ClusterTopology topology, HostMode mode, string tag, int subnet)
    {
        if (mode == HostMode.Loopback) throw new ArgumentException("loopback has no layout", nameof(mode));
        if (subnet is < 0 or > 511) throw new ArgumentOutOfRangeException(nameof(subnet));
        var prefix = string.Create(CultureInfo.InvariantCulture, $"198.{18 + subnet / 256}.{subnet % 256}.");
        var groups = mode == HostMode.Netns
            ? topology.Nodes.GroupBy(n => n.Site).Select(g => (g.Key, g.Select(n => n.Id).ToList())).ToList()
            : topology.Nodes.Select(n => (n.Id, new List<string> { n.Id })).ToList();
        if (groups.Count > 200) throw new Cluster.CliException($"at most 200 hosts per cluster (this layout needs {groups.Count})");
        var hosts = groups.Select((g, i) => new LabHost(
            g.Item1,
            $"{NamespacePrefix}{tag}-{i}",
            prefix + (10 + i).ToString(CultureInfo.InvariantCulture),
            $"{VethPrefix}{tag}r{i}",
            $"{VethPrefix}{tag}h{i}",
            g.Item2)).ToList();
        return new NetworkLayout(mode, tag, BridgePrefix + tag, prefix + "1", 24, TablePrefix + tag, hosts);
    }

    public LabHost HostOf(string nodeId) =>
        Hosts.FirstOrDefault(h => h.Nodes.Contains(nodeId)) ?? throw new Cluster.CliException($"node {nodeId} is on no host");

    /// <summary>The topology as the nodes see it: each node at its host's address (ports unchanged),
    /// ids, sites and edges as given, so the topology hash and the placement are the same.</summary>
    public string RewriteTopology(ClusterTopology topology)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("name", topology.Name);
            json.WriteStartArray("nodes");
            foreach (var node in topology.Nodes)
            {
                json.WriteStartObject();
                json.WriteString("id", node.Id);
                json.WriteString("host", HostOf(node.Id).Address);
                json.WriteNumber("port", node.Port);
                json.WriteString("site", node.Site);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("edges");
            foreach (var (a, b) in topology.Edges)
            {
                json.WriteStartArray();
                json.WriteStringValue(a);
                json.WriteStringValue(b);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

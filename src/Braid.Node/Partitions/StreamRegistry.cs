using Braid.Core.Placement;
using Braid.Core.Streams;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Node.Partitions;

/// <summary>
/// The streams this node knows (issue 13, item 1): the default air-quality stream, placed from the
/// topology, P and R at start, and the catalog folded from the metadata group. Read from any
/// thread; only the partition loop replaces the catalog (<see cref="TrySet"/>). The node keeps its
/// latest catalog in its data directory (<c>catalog.pb</c>), so its stream replicas reopen at
/// start even while the metadata group has no leader.
/// </summary>
internal sealed class StreamRegistry
{
    public const string FileName = "catalog.pb";
    private readonly NodeOptions options;
    private View view = null!;

    /// <summary>The catalog and the graph it makes, swapped together: the graph is built once per
    /// catalog, not at each read (the metadata leader reads it every tick).</summary>
    private sealed record View(StreamCatalog Catalog, Core.Topology.ClusterTopology Topology);

    public StreamRegistry(NodeOptions options)
    {
        this.options = options;
        Placement = PlacementPlanner.Plan(options.PlacementTopology, options.Partitions, options.Replicas);
        Default = new StreamDefinition(StreamGroups.DefaultStream, 0, StreamFormat.AirQuality,
            [.. Placement.Partitions.Select(p => p.Replicas)], options.RetainBytes, 0);
        var metaReplicas = Math.Min(3, options.PlacementTopology.Nodes.Count);
        MetaBootstrap = PlacementPlanner.Plan(options.PlacementTopology, 1, metaReplicas).Partitions[0].Replicas;
        view = ViewOf(Load() ?? StreamCatalog.Empty);
    }

    /// <summary>The default stream's placement (what <see cref="PlacementRecord"/> guards).</summary>
    public PlacementTable Placement { get; }

    public StreamDefinition Default { get; }

    /// <summary>The metadata group's first replicas (its bootstrap configuration).</summary>
    public IReadOnlyList<string> MetaBootstrap { get; }

    /// <summary>The metadata group's replicas now, preferred leader first (moved when one is dead or removed).</summary>
    public IReadOnlyList<string> MetaReplicas => Catalog.Placements.TryGetValue(StreamGroups.MetaGroup, out var moved) ? moved : MetaBootstrap;

    /// <summary>The cluster's graph: the topology file's, plus the nodes added since (issue 12).</summary>
    public Core.Topology.ClusterTopology Topology => Volatile.Read(ref view).Topology;

    private View ViewOf(StreamCatalog catalog)
    {
        var first = options.PlacementTopology;
        var added = catalog.Nodes.Values.Where(n => !first.Contains(n.Id)).OrderBy(n => n.Id, StringComparer.Ordinal).ToList();
        var topology = added.Count == 0 ? first : first.WithNodes(
            added.Select(n => new Core.Topology.NodeInfo(n.Id, n.Host, n.Port, n.Site)),
            added.SelectMany(n => n.Edges.Select(e => (n.Id, e))));
        return new View(catalog, topology);
    }

    /// <summary>True when <paramref name="node"/> may hold replicas (not dead, not removed).</summary>
    public bool TakesReplicas(string node) => Catalog.TakesReplicas(node) && Topology.Contains(node);

    public StreamCatalog Catalog => Volatile.Read(ref view).Catalog;

    /// <summary>The default stream then the catalog's, by id.</summary>
    public IEnumerable<StreamDefinition> All => [Default, .. Catalog.Streams.Values.OrderBy(s => s.Id)];

    /// <summary>The stream named <paramref name="name"/> ("" is the default stream), with each
    /// partition's replicas as they are now (moved groups: the catalog's targets, issue 12), which
    /// is where queries, consumers and forwarded appends look for them.</summary>
    public bool TryResolve(string name, out StreamDefinition stream)
    {
        if (name.Length == 0 || name == StreamGroups.DefaultStream)
        {
            stream = Current(Default);
            return true;
        }
        if (!Catalog.Streams.TryGetValue(name, out var found))
        {
            stream = null!;
            return false;
        }
        stream = Current(found);
        return true;
    }

    private StreamDefinition Current(StreamDefinition stream)
    {
        var placements = Catalog.Placements;
        if (!Enumerable.Range(0, stream.PartitionCount).Any(p => placements.ContainsKey(stream.Group((uint)p)))) return stream;
        return stream with
        {
            Placement = [.. Enumerable.Range(0, stream.PartitionCount).Select(p => placements.TryGetValue(stream.Group((uint)p), out var moved) ? moved : stream.Placement[p])],
        };
    }

    /// <summary>The live stream a Raft group belongs to, or null (a deleted or unknown stream, or the metadata group).</summary>
    public StreamDefinition? StreamOf(uint group)
    {
        if (group == StreamGroups.MetaGroup) return null;
        var id = StreamGroups.StreamOf(group);
        var stream = id == 0 ? Default : Catalog.ById(id);
        return stream is not null && StreamGroups.PartitionOf(group) < stream.PartitionCount ? stream : null;
    }

    /// <summary>The target replicas of a group now (preferred leader first): the catalog's when
    /// the group moved (issue 12), else its first placement; null when the group is not (or no
    /// longer) part of a stream.</summary>
    public IReadOnlyList<string>? ReplicasOf(uint group) =>
        Catalog.Placements.TryGetValue(group, out var moved) && (group == StreamGroups.MetaGroup || StreamOf(group) is not null) ? moved : BootstrapOf(group);

    /// <summary>The first replicas of a group (its bootstrap configuration, the same on every replica).</summary>
    public IReadOnlyList<string>? BootstrapOf(uint group) =>
        group == StreamGroups.MetaGroup ? MetaBootstrap : StreamOf(group)?.Placement[(int)StreamGroups.PartitionOf(group)];

    /// <summary>True when the group's replicas moved since its first placement.</summary>
    public bool Moved(uint group) => Catalog.Placements.ContainsKey(group);

    /// <summary>Every live group, by id: the metadata group, the default stream's, the catalog's.</summary>
    public IEnumerable<uint> Groups
    {
        get
        {
            yield return StreamGroups.MetaGroup;
            foreach (var s in All)
                for (var p = 0; p < s.PartitionCount; p++) yield return s.Group((uint)p);
        }
    }

    /// <summary>Every group placed on <paramref name="node"/>: the metadata group's, the default
    /// stream's, the catalog's; none on a node the catalog says is dead or removed.</summary>
    public IEnumerable<uint> PlacedOn(string node) =>
        !Catalog.TakesReplicas(node) ? [] : Groups.Where(g => ReplicasOf(g)!.Contains(node));

    /// <summary>The groups of deleted streams (their replicas close and their files go).</summary>
    public IEnumerable<uint> DeletedGroups =>
        Catalog.Deleted.SelectMany(d => Enumerable.Range(0, d.Stream.PartitionCount).Select(p => d.Stream.Group((uint)p)));

    /// <summary>Takes <paramref name="next"/> if it is newer; saves it. Partition loop only.</summary>
    public bool TrySet(StreamCatalog next)
    {
        if (next.Version <= Catalog.Version) return false;
        Volatile.Write(ref view, ViewOf(next));
        Save(next);
        return true;
    }

    /// <summary>Where a group's replica keeps its files: the default stream's as before streams
    /// existed (partitions/007), the others by stream id (partitions/s0001-p003), the metadata group's in partitions/meta.</summary>
    public string DirectoryOf(uint group)
    {
        var root = Path.Combine(options.DataDirectory, "partitions");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (group == StreamGroups.MetaGroup) return Path.Combine(root, "meta");
        var id = StreamGroups.StreamOf(group);
        var p = StreamGroups.PartitionOf(group);
        return id == 0 ? Path.Combine(root, p.ToString("D3", inv)) : Path.Combine(root, $"s{id.ToString("D4", inv)}-p{p.ToString("D3", inv)}");
    }

    private void Save(StreamCatalog next)
    {
        Directory.CreateDirectory(options.DataDirectory);
        var path = Path.Combine(options.DataDirectory, FileName);
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            next.ToState().WriteTo(file);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The saved catalog, or null (none, or damaged: only a cache, the metadata group has the catalog).</summary>
    private StreamCatalog? Load()
    {
        var path = Path.Combine(options.DataDirectory, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var state = CatalogState.Parser.ParseFrom(File.ReadAllBytes(path));
            return StreamCatalog.TryFrom(state, out var loaded, out _) ? loaded : null;
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or IOException)
        {
            return null;
        }
    }
}

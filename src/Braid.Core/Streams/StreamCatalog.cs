using System.Text.RegularExpressions;
using Braid.Protocol.V1;

namespace Braid.Core.Streams;

/// <summary>How a stream's records are encoded and what its queries can do.</summary>
public enum StreamFormat : uint
{
    /// <summary>Typed air-quality records (Braid.Data's compact codec): filters and aggregates pushed down.</summary>
    AirQuality = 1,

    /// <summary>Opaque key, value and headers (Braid.Data's RawBatchCodec), read back byte for byte.</summary>
    Raw = 2,
}

/// <summary>
/// Raft group ids of streams: the high 16 bits are the stream id, the low 16 the partition. The
/// default air-quality stream (id 0, placed from the topology, P and R at start) keeps group ids
/// 0..P-1, as before streams existed; the metadata group is <see cref="MetaGroup"/>.
/// </summary>
public static partial class StreamGroups
{
    /// <summary>The metadata group (stream id 0xFFFF, partition 0).</summary>
    public const uint MetaGroup = 0xFFFF_0000;

    /// <summary>The stream every cluster has from its start (P and R from the node options).</summary>
    public const string DefaultStream = "airquality";

    /// <summary>Partitions a stream may have.</summary>
    public const int PartitionsMax = 256;

    /// <summary>The largest stream id (0xFFFF is the metadata group's).</summary>
    public const uint StreamIdMax = 0xFFFE;

    /// <summary>Longest stream name, in characters.</summary>
    public const int NameLengthMax = 64;

    public static uint Group(uint streamId, uint partition) => streamId << 16 | partition;

    public static uint StreamOf(uint group) => group >> 16;

    public static uint PartitionOf(uint group) => group & 0xFFFF;

    /// <summary>"airquality/3", "logs/0", "meta": how logs and errors name a group.</summary>
    public static string Describe(uint group) => group == MetaGroup ? "meta" : StreamOf(group) == 0 ? $"{PartitionOf(group)}" : $"s{StreamOf(group)}/{PartitionOf(group)}";

    /// <summary>Why <paramref name="name"/> cannot name a stream, or null.</summary>
    public static string? ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "a stream needs a name";
        if (name.Length > NameLengthMax) return $"stream name of {name.Length} characters is longer than {NameLengthMax}";
        return NamePattern().IsMatch(name) ? null : $"stream name '{name}' may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit";
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex NamePattern();
}

/// <summary>A stream as the catalog holds it.</summary>
/// <param name="Placement">Each partition's replicas (node ids, preferred leader first).</param>
/// <param name="CreatedIndex">Metadata index of the entry that created it (0 for the default stream).</param>
/// <param name="RetainMs">Retention by time in milliseconds (0: none).</param>
public sealed record StreamDefinition(string Name, uint Id, StreamFormat Format, IReadOnlyList<IReadOnlyList<string>> Placement, long RetainBytes, ulong CreatedIndex, long RetainMs = 0)
{
    public int PartitionCount => Placement.Count;

    public uint Group(uint partition) => StreamGroups.Group(Id, partition);

    /// <summary>Same name, format, partitions, replicas per partition and retention: what makes a repeated create a no-op.</summary>
    public bool SameSettings(StreamFormat format, int partitions, int replicas, long retainBytes, long retainMs = 0) =>
        Format == format && PartitionCount == partitions && Placement.All(p => p.Count == replicas) && RetainBytes == retainBytes && RetainMs == retainMs;
}

/// <summary>
/// The catalog of streams: the fold of the metadata group's committed commands, in index order,
/// the same on every node. Immutable: <see cref="Apply"/> returns the next catalog. A command
/// that cannot apply (a name in use, a bad placement) leaves the catalog as it was; the proposer
/// learns what happened by looking at the catalog at the command's index (see <see cref="Created"/>).
/// </summary>
public sealed partial class StreamCatalog
{
    private readonly Dictionary<string, StreamDefinition> active;
    private readonly List<(StreamDefinition Stream, ulong DeletedIndex)> deleted;

    private StreamCatalog(ulong version, uint nextId, Dictionary<string, StreamDefinition> active, List<(StreamDefinition, ulong)> deleted,
        Dictionary<string, CatalogNode>? nodes = null, Dictionary<uint, string[]>? placements = null)
    {
        Version = version;
        NextId = nextId;
        this.active = active;
        this.deleted = deleted;
        this.nodes = nodes ?? new(StringComparer.Ordinal);
        this.placements = placements ?? [];
    }

    public static StreamCatalog Empty { get; } = new(0, 1, new(StringComparer.Ordinal), []);

    /// <summary>The metadata index folded through.</summary>
    public ulong Version { get; }

    /// <summary>The id the next created stream gets.</summary>
    public uint NextId { get; }

    /// <summary>Live streams by name (the default stream is not in the catalog).</summary>
    public IReadOnlyDictionary<string, StreamDefinition> Streams => active;

    /// <summary>Deleted streams (their groups are closed and their files removed), with the index that deleted each.</summary>
    public IReadOnlyList<(StreamDefinition Stream, ulong DeletedIndex)> Deleted => deleted;

    /// <summary>The live stream with this id, or null.</summary>
    public StreamDefinition? ById(uint id) => active.Values.FirstOrDefault(s => s.Id == id);

    /// <summary>Folds the command committed at <paramref name="index"/>; <paramref name="refusal"/> says why it changed nothing.</summary>
    public StreamCatalog Apply(ulong index, CatalogCommand command, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(command);
        Invariant.Check(index > Version, $"catalog at {Version} asked to apply index {index}");
        refusal = command.KindCase switch
        {
            CatalogCommand.KindOneofCase.Create => RefusalOf(command.Create),
            CatalogCommand.KindOneofCase.Delete => active.ContainsKey(command.Delete.Name) ? null : $"no stream named '{command.Delete.Name}'",
            CatalogCommand.KindOneofCase.Membership => RefusalOf(command.Membership),
            _ => "unknown catalog command",
        };
        if (refusal is not null) return new StreamCatalog(index, NextId, active, deleted, nodes, placements);
        if (command.KindCase == CatalogCommand.KindOneofCase.Membership) return ApplyMembership(index, command.Membership);
        var nextActive = new Dictionary<string, StreamDefinition>(active, StringComparer.Ordinal);
        var nextDeleted = deleted;
        var nextId = NextId;
        if (command.KindCase == CatalogCommand.KindOneofCase.Create)
        {
            var c = command.Create;
            nextActive[c.Name] = new StreamDefinition(c.Name, nextId++, (StreamFormat)c.Format, [.. c.Placement.Select(p => (IReadOnlyList<string>)[.. p.Nodes])], c.RetainBytes, index, c.RetainMs);
        }
        var nextPlacements = placements;
        if (command.KindCase == CatalogCommand.KindOneofCase.Delete)
        {
            nextActive.Remove(command.Delete.Name, out var gone);
            nextDeleted = [.. deleted, (gone!, index)];
            nextPlacements = placements.Where(p => StreamGroups.StreamOf(p.Key) != gone!.Id || p.Key == StreamGroups.MetaGroup).ToDictionary();
        }
        return new StreamCatalog(index, nextId, nextActive, nextDeleted, nodes, nextPlacements);
    }

    /// <summary>Why a create cannot apply to this catalog, or null.</summary>
    public string? RefusalOf(CreateStreamCommand c)
    {
        if (StreamGroups.ValidateName(c.Name) is { } bad) return bad;
        if (c.Name == StreamGroups.DefaultStream) return $"'{c.Name}' is the cluster's default stream";
        if (active.ContainsKey(c.Name)) return $"a stream named '{c.Name}' exists";
        if (NextId > StreamGroups.StreamIdMax) return "no stream ids left";
        if (!Enum.IsDefined((StreamFormat)c.Format)) return $"unknown stream format {c.Format}";
        if (c.Placement.Count is 0 or > StreamGroups.PartitionsMax) return $"a stream has 1-{StreamGroups.PartitionsMax} partitions, not {c.Placement.Count}";
        if (c.RetainBytes < 0) return "retain_bytes must not be negative";
        if (c.RetainMs < 0) return "retain_ms must not be negative";
        foreach (var p in c.Placement)
        {
            if (p.Nodes.Count == 0) return "a partition without replicas";
            if (p.Nodes.Distinct(StringComparer.Ordinal).Count() != p.Nodes.Count) return "a partition names a replica twice";
            if (p.Nodes.Any(n => n.Length == 0)) return "an empty node id in a placement";
        }
        return null;
    }

    /// <summary>The stream created by the command at <paramref name="index"/>, if that command created one.</summary>
    public StreamDefinition? Created(string name, ulong index) =>
        active.TryGetValue(name, out var s) && s.CreatedIndex == index ? s : deleted.Select(d => d.Stream).FirstOrDefault(s => s.Name == name && s.CreatedIndex == index);

    public CatalogState ToState()
    {
        var state = new CatalogState { Version = Version, NextId = NextId };
        foreach (var s in active.Values.OrderBy(s => s.Id)) state.Streams.Add(Wire(s, 0));
        foreach (var (s, at) in deleted) state.Streams.Add(Wire(s, at));
        AddMembership(state);
        return state;
    }

    private static CatalogStream Wire(StreamDefinition s, ulong deletedIndex)
    {
        var w = new CatalogStream { Name = s.Name, Id = s.Id, Format = (uint)s.Format, RetainBytes = s.RetainBytes, RetainMs = s.RetainMs, CreatedIndex = s.CreatedIndex, Deleted = deletedIndex > 0, DeletedIndex = deletedIndex };
        foreach (var p in s.Placement)
        {
            var r = new PartitionReplicas();
            r.Nodes.AddRange(p);
            w.Placement.Add(r);
        }
        return w;
    }

    /// <summary>A catalog handed over by another node; refused (with why) when it is not well formed.</summary>
    public static bool TryFrom(CatalogState state, out StreamCatalog catalog, out string error)
    {
        catalog = Empty;
        var active = new Dictionary<string, StreamDefinition>(StringComparer.Ordinal);
        var deleted = new List<(StreamDefinition, ulong)>();
        var ids = new HashSet<uint>();
        foreach (var w in state.Streams)
        {
            var create = new CreateStreamCommand { Name = w.Name, Format = w.Format, RetainBytes = w.RetainBytes, RetainMs = w.RetainMs };
            create.Placement.AddRange(w.Placement);
            var bad = Empty.RefusalOf(create);
            if (bad is not null || w.Id == 0 || w.Id >= state.NextId || !ids.Add(w.Id) || w.CreatedIndex > state.Version || w.DeletedIndex > state.Version)
            {
                error = $"catalog stream '{w.Name}' (id {w.Id}) is malformed: {bad ?? "bad id or index"}";
                return false;
            }
            var s = new StreamDefinition(w.Name, w.Id, (StreamFormat)w.Format, [.. w.Placement.Select(p => (IReadOnlyList<string>)[.. p.Nodes])], w.RetainBytes, w.CreatedIndex, w.RetainMs);
            if (w.Deleted) deleted.Add((s, w.DeletedIndex));
            else if (!active.TryAdd(s.Name, s))
            {
                error = $"catalog names stream '{w.Name}' twice";
                return false;
            }
        }
        if (!TryMembershipFrom(state, out var nodes, out var placements, out error)) return false;
        error = "";
        catalog = new StreamCatalog(state.Version, Math.Max(1, state.NextId), active, [.. deleted.OrderBy(d => d.Item2)], nodes, placements);
        return true;
    }
}

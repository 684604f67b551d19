using System.Text.Json;

namespace Braid.Core.Topology;

/// <summary>
/// Parses and validates topology JSON. Pure: the caller reads the file and passes the text.
/// Every rejection is a <see cref="TopologyException"/> whose message names the problem.
/// </summary>
public static class TopologyLoader
{
    public static ClusterTopology Parse(string json, string sourceName = "topology")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            var line = (e.LineNumber ?? 0) + 1;
            var column = (e.BytePositionInLine ?? 0) + 1;
            throw new TopologyException($"{sourceName}: malformed JSON at line {line}, column {column}: {FirstSentence(e.Message)}");
        }
        using (doc)
        {
            return Build(doc.RootElement, sourceName);
        }
    }

    private static ClusterTopology Build(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new TopologyException($"{source}: the top level must be an object with \"nodes\" and \"edges\"");
        var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : source;
        var nodes = ReadNodes(root, source);
        var edges = ReadEdges(root, source, nodes);
        CheckConnected(nodes, edges, source);
        return new ClusterTopology(name, nodes, edges);
    }

    private static List<NodeInfo> ReadNodes(JsonElement root, string source)
    {
        if (!root.TryGetProperty("nodes", out var array) || array.ValueKind != JsonValueKind.Array)
            throw new TopologyException($"{source}: missing \"nodes\" array");
        var nodes = new List<NodeInfo>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var addresses = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var position = 0;
        foreach (var element in array.EnumerateArray())
        {
            position++;
            var where = $"{source}: node #{position}";
            var id = RequiredString(element, "id", where);
            where = $"{source}: node '{id}'";
            if (!IsValidId(id)) throw new TopologyException($"{where}: id must be 1-32 letters, digits, '-' or '_'");
            var host = RequiredString(element, "host", where);
            if (!element.TryGetProperty("port", out var p) || p.ValueKind != JsonValueKind.Number || !p.TryGetInt32(out var port) || port is < 1 or > 65535)
                throw new TopologyException($"{where}: \"port\" must be a number from 1 to 65535");
            var site = element.TryGetProperty("site", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : host;
            if (!ids.Add(id)) throw new TopologyException($"{source}: duplicate node id '{id}'");
            var node = new NodeInfo(id, host, port, site);
            if (addresses.TryGetValue(node.Address, out var other))
                throw new TopologyException($"{source}: duplicate address {node.Address} (nodes '{other}' and '{id}')");
            addresses[node.Address] = id;
            nodes.Add(node);
        }
        if (nodes.Count == 0) throw new TopologyException($"{source}: \"nodes\" is empty");
        return nodes;
    }

    private static List<(string, string)> ReadEdges(JsonElement root, string source, List<NodeInfo> nodes)
    {
        if (!root.TryGetProperty("edges", out var array) || array.ValueKind != JsonValueKind.Array)
            throw new TopologyException($"{source}: missing \"edges\" array");
        var known = nodes.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<(string, string)>();
        var edges = new List<(string, string)>();
        foreach (var element in array.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() != 2 || element.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                throw new TopologyException($"{source}: each edge must be a pair of node ids like [\"A\", \"B\"], got {element.GetRawText()}");
            var a = element[0].GetString()!;
            var b = element[1].GetString()!;
            foreach (var end in new[] { a, b })
                if (!known.Contains(end)) throw new TopologyException($"{source}: edge {a}-{b} names unknown node '{end}'");
            if (a == b) throw new TopologyException($"{source}: self loop {a}-{b}");
            var key = string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a);
            if (!seen.Add(key)) throw new TopologyException($"{source}: duplicate edge {a}-{b}");
            edges.Add((a, b));
        }
        return edges;
    }

    private static void CheckConnected(List<NodeInfo> nodes, List<(string A, string B)> edges, string source)
    {
        var adjacency = nodes.ToDictionary(n => n.Id, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var (a, b) in edges) { adjacency[a].Add(b); adjacency[b].Add(a); }
        var reached = new HashSet<string>(StringComparer.Ordinal) { nodes[0].Id };
        var queue = new Queue<string>(reached);
        while (queue.TryDequeue(out var at))
            foreach (var next in adjacency[at])
                if (reached.Add(next)) queue.Enqueue(next);
        if (reached.Count != nodes.Count)
        {
            var cut = nodes.Select(n => n.Id).Where(id => !reached.Contains(id));
            throw new TopologyException($"{source}: the graph is disconnected: {string.Join(", ", cut)} cannot be reached from {nodes[0].Id}");
        }
    }

    private static string RequiredString(JsonElement element, string property, string where)
    {
        if (element.ValueKind != JsonValueKind.Object) throw new TopologyException($"{where}: must be an object");
        if (!element.TryGetProperty(property, out var value) || value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            throw new TopologyException($"{where}: missing or empty \"{property}\"");
        return value.GetString()!;
    }

    private static bool IsValidId(string id) =>
        id.Length is >= 1 and <= 32 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

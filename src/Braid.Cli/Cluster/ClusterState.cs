using System.Text.Json;
using System.Text.Json.Serialization;

namespace Braid.Cli.Cluster;

/// <summary>One node process started by <c>braid cluster</c>.</summary>
internal sealed record NodeProcess(string Id, string Address, int Pid, long StartTime, string DataDirectory, string LogFile);

/// <summary>A node added to the running cluster by <c>braid cluster add</c> (issue 12): not in the
/// topology file, so its address, site and edges are kept here for its starts and restarts.</summary>
internal sealed record AddedNode(string Id, string Host, int Port, string Site, List<string> Edges)
{
    public string Address => $"{Host}:{Port}";
}

/// <summary>
/// What <c>braid cluster up</c> started, kept in DIR/cluster.json so that down, kill, pause and
/// status act on exactly those processes (checked by pid and start time) and nothing else.
/// </summary>
/// <param name="Network">The namespace hosts and their network, when the nodes run on them (null: loopback).</param>
/// <param name="Mounts">Size-limited file systems mounted on node data folders by up, unmounted by down.</param>
/// <param name="Insecure">Nodes serve plaintext (up --insecure); otherwise mutual TLS with the certificates in DIR/certs.</param>
/// <param name="MetricsBasePort">Nodes serve metrics on this port and the next ones, in topology order (null: no endpoint).</param>
internal sealed record ClusterState(string TopologyPath, int? BasePort, bool AllowFaultInjection, List<NodeProcess> Nodes, int Partitions = 12, int Replicas = 3, long RetainBytes = 0, long SegmentBytes = Braid.Node.NodeOptions.DefaultSegmentBytes,
    Hosts.NetworkLayout? Network = null, List<string>? Mounts = null, bool Insecure = false, int? MetricsBasePort = null, string? DeadAfter = null, List<AddedNode>? Added = null)
{
    public const string FileName = "cluster.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    public static ClusterState? TryLoad(string directory)
    {
        var path = PathIn(directory);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<ClusterState>(File.ReadAllText(path), Json)
                ?? throw new CliException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new CliException($"{path} is not a cluster state file: {e.Message}");
        }
    }

    public static ClusterState Load(string directory) =>
        TryLoad(directory) ?? throw new CliException($"no cluster in {Path.GetFullPath(directory)} (start one with: braid cluster up --dir {directory})");

    /// <summary>Written to a temporary file and renamed, so a crash never leaves half a file.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = PathIn(directory);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, Json));
        File.Move(temp, path, overwrite: true);
    }

    public NodeProcess Node(string id) =>
        Nodes.FirstOrDefault(n => n.Id == id) ?? throw new CliException($"unknown node '{id}' (the cluster has {string.Join(", ", Nodes.Select(n => n.Id))})");
}

/// <summary>A user-facing error: printed without a stack trace, exit code 1 (or the given code).</summary>
internal sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

using System.CommandLine;

namespace Braid.Cli.Commands;

/// <summary>Options shared by several commands, built fresh for each (an option belongs to one command).</summary>
internal static class Options
{
    public const string DefaultClusterDirectory = ".braid/cluster";

    public static Option<string> Topology() => new("--topology", "-t")
    {
        Description = "Topology file, or the name of a shipped one (mini2, mini2-9, mesh3, grid3x3)",
        DefaultValueFactory = _ => TopologyFiles.DefaultName,
    };

    public static Option<string> ClusterDirectory() => new("--dir")
    {
        Description = "Folder that holds the local cluster's state, logs and data",
        DefaultValueFactory = _ => DefaultClusterDirectory,
    };

    public static Option<string> Hosts() => new("--hosts")
    {
        Description = "Where nodes run: loopback (one machine), netns (one network namespace per site, joined by a bridge; needs root) or netns-per-node",
        DefaultValueFactory = _ => "loopback",
    };

    public static Option<int?> BasePort() => new("--base-port")
    {
        Description = "Give the nodes ports BASE, BASE+1, ... instead of the topology's (to run clusters side by side)",
    };

    public static Option<double> TimeoutSeconds(double seconds) => new("--timeout")
    {
        Description = "Seconds to wait before giving up",
        DefaultValueFactory = _ => seconds,
    };

    public static Option<int> Partitions() => new("--partitions", "-p")
    {
        Description = "Number of partitions of the stream (each one a Raft group)",
        DefaultValueFactory = _ => 12,
    };

    public static Option<int> Replicas() => new("--replicas", "-r")
    {
        Description = "Replicas per partition (a write is acknowledged once durable on a majority)",
        DefaultValueFactory = _ => 3,
    };

    public static Option<long> RetainBytes() => new("--retain-bytes")
    {
        Description = "Log bytes each partition replica keeps; older whole segments are compacted into a snapshot and deleted, and their records leave queries (0: keep everything)",
        DefaultValueFactory = _ => 0,
    };

    public static Option<long> SegmentBytes() => new("--segment-bytes")
    {
        Description = "Size of a partition log segment, the unit retention deletes (at least 4096)",
        DefaultValueFactory = _ => Braid.Node.NodeOptions.DefaultSegmentBytes,
    };

    /// <summary>Checks the storage options of node and cluster commands.</summary>
    public static void CheckStorage(long retainBytes, long segmentBytes)
    {
        if (retainBytes < 0) throw new Cluster.CliException("--retain-bytes must be 0 (keep everything) or more");
        if (segmentBytes is < 4096 or > 1L << 40) throw new Cluster.CliException("--segment-bytes must be between 4096 and 1 TiB");
    }

    /// <summary>--json: the report as one JSON document on stdout (progress, if any, goes to stderr).</summary>
    public static Option<bool> Json() => new("--json")
    {
        Description = "Print the report as one JSON document on stdout, snake_case field names (docs/json.md); progress goes to stderr",
    };

    public static Argument<string> NodeId() => new("node") { Description = "Node id, e.g. B" };
}

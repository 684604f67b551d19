using System.CommandLine;
using Braid.Node;

namespace Braid.Cli.Commands;

internal static class NodeCommand
{
    public static Command Create()
    {
        var topology = Options.Topology();
        var id = new Option<string>("--id") { Description = "This node's id in the topology", Required = true };
        var data = new Option<string>("--data") { Description = "Data folder of this node", Required = true };
        var basePort = Options.BasePort();
        var faults = new Option<bool>("--allow-fault-injection") { Description = "Accept admin requests that drop or delay links (for tests)" };
        var partitions = Options.Partitions();
        var replicas = Options.Replicas();
        var retain = Options.RetainBytes();
        var segment = Options.SegmentBytes();
        var state = new Option<string>("--initial-cluster-state")
        {
            Description = "new: the first start of a new cluster; existing: this node rejoins a running cluster, so an empty data folder means its state was lost and its replicas rejoin without a vote until caught up (use it after a disk was wiped or replaced)",
            DefaultValueFactory = _ => "new",
        };
        state.AcceptOnlyFromAmong("new", "existing");
        var metricsPort = new Option<int>("--metrics-port")
        {
            Description = "Serve metrics in Prometheus text format at http://HOST:PORT/metrics (plaintext HTTP/1.1, the node's host address; docs/metrics.md). 0: no endpoint",
        };
        var deadAfter = new Option<string>("--dead-after")
        {
            Description = "How long the metadata leader waits with no route to a node before declaring it dead and moving its replicas elsewhere (restoring the replica count with no operator): 90s, 5m, 1h",
            DefaultValueFactory = _ => "5m",
        };
        var host = new Option<string?>("--host") { Description = "A node added to a running cluster (not in the topology file): the address it listens on (braid cluster add NODE registers it first)" };
        var port = new Option<int>("--port") { Description = "A node added to a running cluster: its gRPC port" };
        var site = new Option<string?>("--site") { Description = "A node added to a running cluster: its site (default: its id)" };
        var edges = new Option<string?>("--edges") { Description = "A node added to a running cluster: its overlay neighbours, comma-separated ids of the topology's nodes" };
        var tls = new Security.NodeTlsOptions();
        var command = new Command("node", "Run one Braid node in the foreground (gRPC over HTTP/2 with mutual TLS on the node's address)")
        {
            topology, id, data, basePort, faults, partitions, replicas, retain, segment, state, metricsPort, deadAfter, host, port, site, edges,
        };
        tls.AddTo(command);
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var first = TopologyFiles.Load(parse.GetValue(topology)!, parse.GetValue(basePort));
            var nodeId = parse.GetValue(id)!;
            var (loaded, baseTopology) = AddedNode(first, nodeId, parse.GetValue(host), parse.GetValue(port), parse.GetValue(site), parse.GetValue(edges));
            Options.CheckStorage(parse.GetValue(retain), parse.GetValue(segment));
            var dead = StreamCommands.ParseDuration(parse.GetValue(deadAfter)!);
            if (dead < TimeSpan.FromSeconds(1)) throw new Cluster.CliException("--dead-after must be at least 1s");
            var metrics = parse.GetValue(metricsPort);
            if (metrics is < 0 or > 65535) throw new Cluster.CliException("--metrics-port must be 0 (no endpoint) or a port from 1 to 65535");
            if (metrics == loaded.Node(nodeId).Port) throw new Cluster.CliException($"--metrics-port {metrics} is the node's own gRPC port");
            var options = new NodeOptions(loaded, nodeId, Path.GetFullPath(parse.GetValue(data)!), parse.GetValue(faults),
                (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), parse.GetValue(partitions), parse.GetValue(replicas),
                parse.GetValue(retain), parse.GetValue(segment)) { JoinsExisting = parse.GetValue(state) == "existing", Tls = tls.Load(parse, nodeId), MetricsPort = metrics, DeadAfter = dead, BaseTopology = baseTopology };
            if (options.Partitions < 1 || options.Replicas < 1 || options.Replicas > first.Nodes.Count)
                throw new Cluster.CliException($"need at least 1 partition and 1 to {first.Nodes.Count} replicas");
            try
            {
                await NodeHost.RunAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (Node.Partitions.PlacementChangedException e)
            {
                throw new Cluster.CliException(e.Message);
            }
            catch (NodeStoppedException e)
            {
                // Only a signal is a clean stop; anything else must be visible to a supervisor.
                throw new Cluster.CliException(e.Message);
            }
            catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                throw new Cluster.CliException($"cannot listen on {loaded.Node(nodeId).Address}: {e.Message}");
            }
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// A node of the topology file runs on that graph. A node added to the running cluster (issue 12:
    /// registered first with braid cluster add) is not in the file: it runs on the file's graph plus
    /// itself and its edges, and computes first placements on the file's graph, like every other node.
    /// </summary>
    internal static (Braid.Core.Topology.ClusterTopology Topology, Braid.Core.Topology.ClusterTopology? Base) AddedNode(
        Braid.Core.Topology.ClusterTopology file, string nodeId, string? host, int port, string? site, string? edges)
    {
        if (file.Contains(nodeId))
        {
            if (host is not null || port != 0 || edges is not null)
                throw new Cluster.CliException($"node '{nodeId}' is in topology {file.Name}: --host, --port and --edges are for a node added to a running cluster");
            return (file, null);
        }
        if (host is null || port is <= 0 or > 65535 || edges is null)
            throw new Cluster.CliException($"unknown node '{nodeId}' (topology {file.Name} has {string.Join(", ", file.NodeIds)}); a node added to a running cluster needs --host, --port (1-65535) and --edges");
        if (Braid.Core.Streams.StreamCatalog.ValidateNodeId(nodeId) is { } bad) throw new Cluster.CliException(bad);
        var neighbours = edges.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (neighbours.Length == 0 || neighbours.Any(n => !file.Contains(n)))
            throw new Cluster.CliException($"--edges must name nodes of topology {file.Name} ({string.Join(", ", file.NodeIds)})");
        var grown = file.WithNodes([new Braid.Core.Topology.NodeInfo(nodeId, host, port, site ?? nodeId)], neighbours.Select(n => (nodeId, n)));
        return (grown, file);
    }
}

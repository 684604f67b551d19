using System.Diagnostics;
using Braid.Core.Topology;

namespace Braid.Cli.Cluster;

/// <summary>
/// Starts, watches and stops the node processes of a local cluster. Every process it starts is
/// recorded (pid and start time) before anything else can fail, so down, and the clean-up of a
/// failed up, stop exactly those processes: no orphans, and never a stranger's process.
/// </summary>
internal sealed partial class ClusterManager(string directory, TextWriter output) : IDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);
    private NodeClients? nodeClients;

    /// <summary>Made on first use, after up has written the state and certificates it depends on.</summary>
    private NodeClients clients => nodeClients ??= new NodeClients(Security.ClientTlsOptions.ForCluster(directory));

    public string Directory => directory;

    /// <summary>Starts one process per node and waits until every node serves and routes to every other.</summary>
    public async Task<ClusterState> UpAsync(string topologyPath, int? basePort, bool allowFaultInjection, TimeSpan timeout, CancellationToken cancellationToken, int partitions = 12, int replicas = 3, long retainBytes = 0, long segmentBytes = Braid.Node.NodeOptions.DefaultSegmentBytes,
        Hosts.HostMode hosts = Hosts.HostMode.Loopback, int dataTmpfsMegabytes = 0, bool insecure = false, int? metricsBasePort = null, string? deadAfter = null)
    {
        var existing = ClusterState.TryLoad(directory);
        if (existing is not null && existing.Nodes.Any(n => ProcessControl.IsAlive(n.Pid, n.StartTime)))
            throw new CliException($"a cluster is already running in {Path.GetFullPath(directory)}; stop it first with: braid cluster down --dir {directory}");
        if (existing is not null && (existing.Network is not null || existing.Mounts is { Count: > 0 }))
            throw new CliException($"{Path.GetFullPath(directory)} still holds the network or mounts of an earlier cluster; remove them first with: braid cluster down --dir {directory}");
        var resolved = TopologyFiles.Resolve(topologyPath);
        var topology = TopologyFiles.Load(resolved, basePort);
        if (partitions < 1 || replicas < 1 || replicas > topology.Nodes.Count)
            throw new CliException($"need at least 1 partition and 1 to {topology.Nodes.Count} replicas (got {partitions} partitions, {replicas} replicas)");
        CheckMetricsPorts(topology, metricsBasePort);
        if ((hosts != Hosts.HostMode.Loopback || dataTmpfsMegabytes > 0)) Hosts.Netns.RequireRoot();
        Hosts.NetworkLayout? network = null;
        if (hosts != Hosts.HostMode.Loopback)
        {
            var tag = Hosts.NetworkLayout.TagFor(directory);
            network = Hosts.NetworkLayout.Plan(topology, hosts, tag, Hosts.Netns.FreeSubnet(tag));
            System.IO.Directory.CreateDirectory(directory);
            resolved = Path.GetFullPath(Path.Combine(directory, "topology.json"));
            File.WriteAllText(resolved, network.RewriteTopology(topology));
            basePort = null; // the rewritten file holds the final ports
        }
        var state = new ClusterState(resolved, basePort, allowFaultInjection, [], partitions, replicas, retainBytes, segmentBytes, network, [], insecure, metricsBasePort, deadAfter);
        if (!insecure) Security.ClusterCertificates.OfCluster(directory).Ensure(TopologyFiles.Load(resolved, basePort), Security.ClusterCertificates.DefaultClients, DateTimeOffset.UtcNow);
        try
        {
            // Recorded before it exists, so that down (or the clean-up below) removes whatever part was made.
            state.Save(directory);
            if (network is not null) Hosts.Netns.Create(network);
            if (dataTmpfsMegabytes > 0)
                foreach (var node in topology.Nodes)
                {
                    var data = Path.GetFullPath(Path.Combine(directory, node.Id));
                    System.IO.Directory.CreateDirectory(data);
                    state.Mounts!.Add(data);
                    state.Save(directory);
                    Hosts.Netns.Run("mount", ["-t", "tmpfs", "-o", $"size={dataTmpfsMegabytes}m", "braid-data", data]);
                }
            foreach (var node in TopologyFiles.Load(resolved, basePort).Nodes)
            {
                state.Nodes.Add(Start(state, node));
                state.Save(directory);
            }
            await WaitReadyAsync(state, state.Nodes, timeout, cancellationToken).ConfigureAwait(false);
            var where = network is null ? "" : $" on {network.Hosts.Count} namespace hosts ({string.Join(" ", network.Hosts.Select(h => $"{h.Name}={h.Address}:{string.Join(",", h.Nodes)}"))})";
            output.WriteLine($"cluster {topology.Name} up{where}{(insecure ? " (plaintext: --insecure)" : " (mutual TLS)")}: {string.Join(" ", state.Nodes.Select(n => $"{n.Id}={n.Address}(pid {n.Pid})"))}");
            if (metricsBasePort is not null)
            {
                var final = TopologyFiles.Load(resolved, basePort);
                output.WriteLine("metrics: " + string.Join(" ", final.Nodes.Select(n => $"{n.Id}=http://{n.Host}:{MetricsPortOf(state, final, n.Id)}/metrics")));
            }
            return state;
        }
        catch
        {
            TearDown(state);
            throw;
        }
    }

    /// <summary>Stops every recorded process that is still ours (SIGTERM, then SIGKILL after a grace period).</summary>
    public int Down()
    {
        var state = ClusterState.TryLoad(directory);
        if (state is null)
        {
            output.WriteLine($"no cluster in {Path.GetFullPath(directory)}; nothing to stop");
            return 0;
        }
        var stopped = StopAll(state);
        var left = TearDown(state);
        output.WriteLine($"cluster down: stopped {stopped} of {state.Nodes.Count} node processes" + (state.Network is null ? "" : $", removed {state.Network.Hosts.Count} namespace hosts, their veths, bridge {state.Network.Bridge} and table {state.Network.Table}"));
        if (left.Count > 0) throw new CliException("could not remove: " + string.Join(", ", left) + "; try: braid cluster down --cleanup");
        return 0;
    }

    /// <summary>Stops the processes, unmounts data file systems, removes the network and the state file; returns what stayed.</summary>
    private List<string> TearDown(ClusterState state)
    {
        StopAll(state);
        var left = new List<string>();
        foreach (var mount in state.Mounts ?? [])
            if (IsMounted(mount) && Hosts.Netns.Run("umount", [mount], check: false).Code != 0 && Hosts.Netns.Run("umount", ["-l", mount], check: false).Code != 0)
                left.Add("mount " + mount);
        if (state.Network is not null) left.AddRange(Hosts.Netns.Destroy(state.Network));
        if (left.Count == 0) File.Delete(ClusterState.PathIn(directory));
        return left;
    }

    internal static bool IsMounted(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        try { return File.ReadLines("/proc/mounts").Any(l => l.Split(' ') is { Length: > 1 } f && f[1] == full); }
        catch (IOException) { return false; }
    }

    /// <param name="rejoin">The node ran in this cluster before (a restart): an empty folder then means lost state.</param>
    private NodeProcess Start(ClusterState state, NodeInfo node, bool rejoin = false)
    {
        var dataDirectory = Path.GetFullPath(Path.Combine(directory, node.Id));
        System.IO.Directory.CreateDirectory(dataDirectory);
        // A node's log outlives a data folder on a tmpfs (unmounted by down): it goes next to it.
        var logFile = state.Mounts?.Contains(dataDirectory) == true
            ? Path.GetFullPath(Path.Combine(directory, node.Id + ".node.log"))
            : Path.Combine(dataDirectory, "node.log");
        var arguments = new List<string> { "node", "--topology", state.TopologyPath, "--id", node.Id, "--data", dataDirectory };
        if (state.Added?.FirstOrDefault(a => a.Id == node.Id) is { } added)
            arguments.AddRange(["--host", added.Host, "--port", added.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--site", added.Site, "--edges", string.Join(",", added.Edges)]);
        if (state.BasePort is { } port) arguments.AddRange(["--base-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (state.AllowFaultInjection) arguments.Add("--allow-fault-injection");
        if (rejoin) arguments.AddRange(["--initial-cluster-state", "existing"]);
        if (state.DeadAfter is { } deadAfter) arguments.AddRange(["--dead-after", deadAfter]);
        var topology = TopologyFiles.Load(state.TopologyPath, state.BasePort);
        if (MetricsPortOf(state, topology, node.Id) is { } metricsPort)
            arguments.AddRange(["--metrics-port", metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (state.Insecure) arguments.Add("--insecure");
        else
        {
            var certificates = Security.ClusterCertificates.OfCluster(Path.GetFullPath(directory));
            arguments.AddRange(["--tls-cert", certificates.NodeCertificate(node.Id), "--tls-key", certificates.NodeKey(node.Id), "--tls-ca", certificates.CaCertificate]);
        }
        arguments.AddRange(["--partitions", state.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture), "--replicas", state.Replicas.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        arguments.AddRange(["--retain-bytes", state.RetainBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "--segment-bytes", state.SegmentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var process = SelfLauncher.StartDetached(arguments, logFile, state.Network?.HostOf(node.Id).Namespace);
        var startTime = WaitForStartTime(process.Id);
        return new NodeProcess(node.Id, node.Address, process.Id, startTime, dataDirectory, logFile);
    }

    /// <summary>A node's metrics port: the base plus its position in the topology, or null.</summary>
    private static int? MetricsPortOf(ClusterState state, ClusterTopology topology, string nodeId) =>
        state.MetricsBasePort is { } metricsBase && topology.Contains(nodeId) ? metricsBase + topology.Nodes.Select(n => n.Id).ToList().IndexOf(nodeId) : null;

    /// <summary>A node of the local cluster: from the topology file, or one added since.</summary>
    internal static NodeInfo NodeOf(ClusterState state, string id)
    {
        var topology = TopologyFiles.Load(state.TopologyPath, state.BasePort);
        if (topology.Contains(id)) return topology.Node(id);
        if (state.Added?.FirstOrDefault(a => a.Id == id) is { } added) return new NodeInfo(added.Id, added.Host, added.Port, added.Site);
        throw new CliException($"unknown node '{id}' (this cluster has {string.Join(", ", topology.NodeIds.Concat(state.Added?.Select(a => a.Id) ?? []))})");
    }

    /// <summary>
    /// The address a node added to this local cluster gets: 127.0.0.1 and the port after the
    /// highest one in use, unless given. Null for a node the cluster has already (file or added).
    /// </summary>
    public AddedNode? PlanAdded(string id, string? host, int port, string? site, IReadOnlyList<string> edges)
    {
        var state = ClusterState.Load(directory);
        var topology = TopologyFiles.Load(state.TopologyPath, state.BasePort);
        if (topology.Contains(id) || state.Added?.Any(a => a.Id == id) == true) return null;
        if (state.Network is not null) throw new CliException("this local cluster runs on namespace hosts: start the new node yourself (braid node ... --host --port --edges) and run cluster add with --seeds");
        if (edges.Count == 0) throw new CliException($"a new node needs --edges to nodes of the cluster ({string.Join(", ", topology.NodeIds)})");
        var used = topology.Nodes.Select(n => n.Port).Concat(state.Added?.Select(a => a.Port) ?? []).ToList();
        return new AddedNode(id, host ?? "127.0.0.1", port > 0 ? port : used.Max() + 1, site ?? id, [.. edges]);
    }

    /// <summary>Starts the process of a node the cluster now counts (added, or a topology node whose
    /// process is not running), records it, issues its certificate if the cluster uses TLS, and waits
    /// until it routes to every running node.</summary>
    public async Task<NodeProcess> StartMemberAsync(string id, AddedNode? added, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var state = ClusterState.Load(directory);
        if (added is not null && state.Added?.Any(a => a.Id == id) != true)
        {
            state = state with { Added = [.. state.Added ?? [], added] };
            state.Save(directory);
        }
        var running = state.Nodes.FirstOrDefault(n => n.Id == id);
        if (running is not null && ProcessControl.IsAlive(running.Pid, running.StartTime)) return running;
        var node = NodeOf(state, id);
        if (!state.Insecure)
        {
            var grown = TopologyFiles.Load(state.TopologyPath, state.BasePort).WithNodes([node], []);
            Security.ClusterCertificates.OfCluster(directory).Ensure(grown, [], DateTimeOffset.UtcNow);
        }
        var fresh = Start(state, node, rejoin: running is not null);
        if (running is not null) state.Nodes[state.Nodes.IndexOf(running)] = fresh;
        else state.Nodes.Add(fresh);
        state.Save(directory);
        await WaitReadyAsync(state, [fresh], timeout, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"started {id} at {fresh.Address} (pid {fresh.Pid})");
        return fresh;
    }

    /// <summary>The metrics ports must be ports and must not be any node's gRPC port.</summary>
    private static void CheckMetricsPorts(ClusterTopology topology, int? metricsBasePort)
    {
        if (metricsBasePort is not { } first) return;
        var last = first + topology.Nodes.Count - 1;
        if (first < 1 || last > 65535) throw new CliException($"--metrics-base-port {first}: ports {first}-{last} are not all valid ports");
        if (topology.Nodes.FirstOrDefault(n => n.Port >= first && n.Port <= last) is { } clash)
            throw new CliException($"--metrics-base-port {first}: ports {first}-{last} include node {clash.Id}'s port {clash.Port}; pick another base");
    }

    private static long WaitForStartTime(int pid)
    {
        for (var i = 0; i < 100; i++)
        {
            if (ProcessControl.StartTime(pid) is { } t) return t;
            Thread.Sleep(10);
        }
        throw new CliException($"process {pid} vanished right after start");
    }

    /// <summary>Waits until each node answers status with its own pid and has a route to every other node.</summary>
    private async Task WaitReadyAsync(ClusterState state, IReadOnlyList<NodeProcess> nodes, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var pending = nodes.ToList();
        var lastProblem = new Dictionary<string, string>();
        while (pending.Count > 0)
        {
            foreach (var node in pending.ToList())
            {
                if (!ProcessControl.IsAlive(node.Pid, node.StartTime))
                    throw new CliException($"node {node.Id} exited during start-up; last lines of {node.LogFile}:\n{Tail(node.LogFile, 15)}");
                var status = await clients.TryStatusAsync(node.Address, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                if (status is null) { lastProblem[node.Id] = "not answering yet"; continue; }
                if (status.ProcessId != node.Pid)
                    throw new CliException($"{node.Address} is served by process {status.ProcessId}, not by node {node.Id} (pid {node.Pid}): is another cluster using these ports? Pick others with --base-port.");
                // Ready once it routes to every node whose process runs (others may be down on purpose).
                var missing = status.Unreachable.Where(id => state.Nodes.Any(n => n.Id == id && ProcessControl.IsAlive(n.Pid, n.StartTime) && ProcessControl.State(n.Pid) != 'T')).ToList();
                if (missing.Count > 0) { lastProblem[node.Id] = $"no route yet to {string.Join(",", missing)}"; continue; }
                pending.Remove(node);
            }
            if (pending.Count == 0) break;
            if (clock.Elapsed > timeout)
                throw new CliException($"cluster not ready after {timeout.TotalSeconds:F0} s: " + string.Join("; ", pending.Select(n => $"{n.Id}: {lastProblem.GetValueOrDefault(n.Id, "?")}")));
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private int StopAll(ClusterState state)
    {
        var ours = state.Nodes.Where(n => ProcessControl.IsAlive(n.Pid, n.StartTime)).ToList();
        foreach (var n in ours)
        {
            ProcessControl.Signal(n.Pid, ProcessControl.SigTerm);
            ProcessControl.Signal(n.Pid, ProcessControl.SigCont); // a paused node must run to handle SIGTERM
        }
        foreach (var n in ours)
        {
            if (ProcessControl.WaitForExit(n.Pid, n.StartTime, StopGrace)) continue;
            ProcessControl.Signal(n.Pid, ProcessControl.SigKill);
            ProcessControl.WaitForExit(n.Pid, n.StartTime, StopGrace);
        }
        return ours.Count;
    }

    internal static string Tail(string file, int lines)
    {
        try { return string.Join('\n', File.ReadLines(file).TakeLast(lines)); }
        catch (IOException) { return "(no log)"; }
    }

    public void Dispose() => nodeClients?.Dispose();
}

using System.Globalization;
using System.Text;

namespace Braid.Cli.Cluster;

/// <summary>Fault commands on single nodes (kill, pause, resume, restart) and the status table.</summary>
internal sealed partial class ClusterManager
{
    /// <summary>SIGKILL: the node dies without any chance to flush or say goodbye.</summary>
    public NodeProcess Kill(string id)
    {
        var node = Running(ClusterState.Load(directory), id);
        ProcessControl.Signal(node.Pid, ProcessControl.SigKill);
        ProcessControl.WaitForExit(node.Pid, node.StartTime, StopGrace);
        output.WriteLine($"killed {id} (pid {node.Pid}) with SIGKILL");
        return node;
    }

    public void Pause(string id)
    {
        var node = Running(ClusterState.Load(directory), id);
        ProcessControl.Signal(node.Pid, ProcessControl.SigStop);
        output.WriteLine($"paused {id} (pid {node.Pid}) with SIGSTOP");
    }

    public void Resume(string id)
    {
        var node = Running(ClusterState.Load(directory), id);
        ProcessControl.Signal(node.Pid, ProcessControl.SigCont);
        output.WriteLine($"resumed {id} (pid {node.Pid}) with SIGCONT");
    }

    /// <summary>Stops the node if it runs, starts it again with the same arguments and waits until it is ready.</summary>
    public async Task<NodeProcess> RestartAsync(string id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var state = ClusterState.Load(directory);
        var old = state.Node(id);
        if (ProcessControl.IsAlive(old.Pid, old.StartTime))
        {
            ProcessControl.Signal(old.Pid, ProcessControl.SigKill);
            ProcessControl.WaitForExit(old.Pid, old.StartTime, StopGrace);
        }
        var topology = TopologyFiles.Load(state.TopologyPath, state.BasePort);
        var fresh = Start(state, topology.Node(id), rejoin: true);
        state.Nodes[state.Nodes.IndexOf(old)] = fresh;
        state.Save(directory);
        await WaitReadyAsync(state, [fresh], timeout, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"restarted {id} (pid {fresh.Pid})");
        return fresh;
    }

    public async Task<int> StatusAsync(CancellationToken cancellationToken)
    {
        var state = ClusterState.Load(directory);
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"{"node",-5} {"pid",-8} {"process",-8} {"address",-21} {"live neighbours",-16} {"unreachable",-12} routes");
        var unhealthy = 0;
        foreach (var node in state.Nodes)
        {
            var alive = ProcessControl.IsAlive(node.Pid, node.StartTime);
            var process = !alive ? "dead" : ProcessControl.State(node.Pid) == 'T' ? "paused" : "running";
            var status = alive && process == "running"
                ? await clients.TryStatusAsync(node.Address, TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false)
                : null;
            if (status is null) unhealthy++;
            var neighbours = status is null ? "-" : string.Join(",", status.Neighbours.Where(n => n.Alive).Select(n => n.NodeId));
            var unreachable = status is null ? "-" : string.Join(",", status.Unreachable);
            var routes = status is null ? "-" : string.Join(" ", status.Routes.Select(r => $"{r.Destination}>{r.NextHop}"));
            table.AppendLine(CultureInfo.InvariantCulture, $"{node.Id,-5} {node.Pid,-8} {process,-8} {node.Address,-21} {neighbours,-16} {unreachable,-12} {routes}");
        }
        output.Write(table.ToString());
        return unhealthy == 0 ? 0 : 3;
    }

    private static NodeProcess Running(ClusterState state, string id)
    {
        var node = state.Node(id);
        if (!ProcessControl.IsAlive(node.Pid, node.StartTime))
            throw new CliException($"node {id} (pid {node.Pid}) is not running");
        return node;
    }
}

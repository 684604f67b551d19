using System.Diagnostics;
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

    /// <summary>Stops a node cleanly (SIGTERM, SIGKILL after the grace period) if it runs; its record stays.</summary>
    public void Stop(string id)
    {
        var state = ClusterState.Load(directory);
        if (state.Nodes.FirstOrDefault(n => n.Id == id) is not { } node || !ProcessControl.IsAlive(node.Pid, node.StartTime)) return;
        ProcessControl.Signal(node.Pid, ProcessControl.SigTerm);
        ProcessControl.Signal(node.Pid, ProcessControl.SigCont);
        if (!ProcessControl.WaitForExit(node.Pid, node.StartTime, StopGrace))
        {
            ProcessControl.Signal(node.Pid, ProcessControl.SigKill);
            ProcessControl.WaitForExit(node.Pid, node.StartTime, StopGrace);
        }
        output.WriteLine($"stopped {id} (pid {node.Pid})");
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
        var fresh = await StartAgainAsync(state, old, timeout, cancellationToken).ConfigureAwait(false);
        output.WriteLine($"restarted {id} (pid {fresh.Pid})");
        return fresh;
    }

    /// <summary>Starts a stopped node with its arguments, as rejoining its cluster; records it and waits until it is ready.</summary>
    private async Task<NodeProcess> StartAgainAsync(ClusterState state, NodeProcess old, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var fresh = Start(state, NodeOf(state, old.Id), rejoin: true);
        state.Nodes[state.Nodes.IndexOf(old)] = fresh;
        state.Save(directory);
        await WaitReadyAsync(state, [fresh], timeout, cancellationToken).ConfigureAwait(false);
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

/// <summary>Rolling restart: one node at a time, graceful stop (SIGTERM: the node hands off the
/// partitions it leads), start with the same arguments, wait until it serves and has caught up.</summary>
internal sealed partial class ClusterManager
{
    public sealed record RestartStep(string Node, int OldPid, int NewPid, bool Graceful, TimeSpan Stopped, TimeSpan Ready, TimeSpan CaughtUp);

    /// <summary>How long a rolling restart lets a restarted node run, caught up, before it stops the
    /// next one: the next node hands its partitions to its most caught-up followers, and a process
    /// seconds old is caught up long before it is warm (its code still compiling, its first
    /// appends as leader slow).</summary>
    public static readonly TimeSpan SettleDefault = TimeSpan.FromSeconds(3);

    public async Task<IReadOnlyList<RestartStep>> RollingRestartAsync(TimeSpan timeout, TimeSpan settle, CancellationToken cancellationToken)
    {
        var state = ClusterState.Load(directory);
        var down = state.Nodes.Where(n => !ProcessControl.IsAlive(n.Pid, n.StartTime)).Select(n => n.Id).ToList();
        if (down.Count > 0) throw new CliException($"node(s) {string.Join(", ", down)} not running: start them (braid cluster restart NODE) before a rolling restart");
        var steps = new List<RestartStep>();
        var order = state.Nodes.Select(n => n.Id).ToList();
        for (var i = 0; i < order.Count; i++)
        {
            state = ClusterState.Load(directory);
            var old = state.Node(order[i]);
            output.WriteLine($"[{i + 1}/{order.Count}] {old.Id}: SIGTERM (pid {old.Pid}), waiting for it to hand off its partitions and exit");
            var clock = Stopwatch.StartNew();
            ProcessControl.Signal(old.Pid, ProcessControl.SigTerm);
            ProcessControl.Signal(old.Pid, ProcessControl.SigCont);
            var graceful = ProcessControl.WaitForExit(old.Pid, old.StartTime, StopGrace);
            if (!graceful)
            {
                output.WriteLine($"  {old.Id} did not exit within {StopGrace.TotalSeconds:F0} s: SIGKILL");
                ProcessControl.Signal(old.Pid, ProcessControl.SigKill);
                ProcessControl.WaitForExit(old.Pid, old.StartTime, StopGrace);
            }
            var stopped = clock.Elapsed;
            var fresh = await StartAgainAsync(state, old, timeout, cancellationToken).ConfigureAwait(false);
            var ready = clock.Elapsed;
            await WaitCaughtUpAsync(fresh, timeout, cancellationToken).ConfigureAwait(false);
            var caughtUp = clock.Elapsed;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {old.Id}: exited after {stopped.TotalMilliseconds:F0} ms{(graceful ? "" : " (killed)")}, serving again (pid {fresh.Pid}) after {ready.TotalMilliseconds:F0} ms, caught up after {caughtUp.TotalMilliseconds:F0} ms"));
            steps.Add(new RestartStep(old.Id, old.Pid, fresh.Pid, graceful, stopped, ready, caughtUp));
            if (settle > TimeSpan.Zero)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  letting {old.Id} warm up for {settle.TotalSeconds:F1} s"));
                await Task.Delay(settle, cancellationToken).ConfigureAwait(false);
            }
        }
        return steps;
    }

    /// <summary>Waits until every partition <paramref name="node"/> holds knows its leader, is not
    /// recovering or failed, and has applied what it knows to be committed.</summary>
    private async Task WaitCaughtUpAsync(NodeProcess node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var problem = "no answer";
        while (clock.Elapsed < timeout)
        {
            try
            {
                var describe = await new Protocol.V1.Stream.StreamClient(clients.Channel(node.Address))
                    .DescribeAsync(new Protocol.V1.DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken).ConfigureAwait(false);
                var lagging = describe.Partitions
                    .Where(p => p.LocalRole.Length > 0)
                    .Where(p => p.Leader.Length == 0 || p.Recovering || p.LocalRole == "Failed" || p.AppliedIndex < p.CommitIndex)
                    .Select(p => p.Partition).ToList();
                if (lagging.Count == 0) return;
                problem = $"partitions {string.Join(",", lagging)} not caught up";
            }
            catch (Grpc.Core.RpcException e)
            {
                problem = e.Status.Detail;
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
        throw new CliException($"{node.Id} restarted but did not catch up within {timeout.TotalSeconds:F0} s: {problem}");
    }
}

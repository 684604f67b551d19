using System.CommandLine;
using Braid.Cli.Cluster;

namespace Braid.Cli.Commands;

internal static class ClusterCommand
{
    public static Command Create()
    {
        var cluster = new Command("cluster", "Run a local cluster (one OS process per node of a topology), and change any cluster's membership (add, remove, replace, rebalance)");
        cluster.Subcommands.Add(Up());
        cluster.Subcommands.Add(Down());
        cluster.Subcommands.Add(Simple("status", "Show each node's process, live neighbours and routes (exit 3 if a node does not answer)", (m, ct) => m.StatusAsync(ct)));
        cluster.Subcommands.Add(OnNode("kill", "Kill a node with SIGKILL (no clean shutdown)", (m, id, _) => { m.Kill(id); return Task.CompletedTask; }));
        cluster.Subcommands.Add(OnNode("pause", "Freeze a node with SIGSTOP (its connections stay open, it stops answering)", (m, id, _) => { m.Pause(id); return Task.CompletedTask; }));
        cluster.Subcommands.Add(OnNode("resume", "Unfreeze a paused node with SIGCONT", (m, id, _) => { m.Resume(id); return Task.CompletedTask; }));
        cluster.Subcommands.Add(RollingRestart());
        foreach (var membership in MembershipCommands.Create()) cluster.Subcommands.Add(membership);
        cluster.Subcommands.Add(OnNode("restart", "Start a node again (killing it first if it runs) and wait until it is ready", (m, id, ct) => m.RestartAsync(id, TimeSpan.FromSeconds(30), ct)));
        return cluster;
    }

    private static Command Up()
    {
        var topology = Options.Topology();
        var dir = Options.ClusterDirectory();
        var basePort = Options.BasePort();
        var faults = new Option<bool>("--allow-fault-injection") { Description = "Start nodes that accept link fault injection" };
        var timeout = Options.TimeoutSeconds(60);
        var partitions = Options.Partitions();
        var replicas = Options.Replicas();
        var retain = Options.RetainBytes();
        var segment = Options.SegmentBytes();
        var hosts = Options.Hosts();
        var insecure = new Option<bool>("--insecure") { Description = "Plaintext nodes and clients, no certificates (default: mutual TLS with certificates made in DIR/certs)" };
        var metricsBasePort = new Option<int?>("--metrics-base-port")
        {
            Description = "Serve each node's metrics (Prometheus text format, /metrics) on ports BASE, BASE+1, ... in topology order",
        };
        var deadAfter = new Option<string?>("--dead-after")
        {
            Description = "Each node's --dead-after: how long a node may have no route before the metadata leader declares it dead and moves its replicas (default 5m)",
        };
        var tmpfs = new Option<int>("--data-tmpfs-mb") { Description = "Put each node's data folder on its own tmpfs of this many MiB (a disk that can fill up; needs root)" };
        var command = new Command("up", "Start one process per node, wait until every node serves and routes to every other, then return")
        {
            topology, dir, basePort, faults, timeout, partitions, replicas, retain, segment, hosts, tmpfs, insecure, metricsBasePort, deadAfter,
        };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            Options.CheckStorage(parse.GetValue(retain), parse.GetValue(segment));
            using var manager = new ClusterManager(parse.GetValue(dir)!, Console.Out);
            await manager.UpAsync(parse.GetValue(topology)!, parse.GetValue(basePort), parse.GetValue(faults),
                TimeSpan.FromSeconds(parse.GetValue(timeout)), ct, parse.GetValue(partitions), parse.GetValue(replicas),
                parse.GetValue(retain), parse.GetValue(segment), Hosts.NetworkLayout.ParseMode(parse.GetValue(hosts)!), parse.GetValue(tmpfs),
                parse.GetValue(insecure), parse.GetValue(metricsBasePort), parse.GetValue(deadAfter) is { } d ? FormatDeadAfter(d) : null).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    /// <summary>Checks --dead-after before any process starts (the nodes parse it again).</summary>
    private static string FormatDeadAfter(string text)
    {
        if (StreamCommands.ParseDuration(text) < TimeSpan.FromSeconds(1)) throw new CliException("--dead-after must be at least 1s");
        return text.Trim();
    }

    private static Command Down()
    {
        var dir = Options.ClusterDirectory();
        var cleanup = new Option<bool>("--cleanup")
        {
            Description = "Also remove every Braid lab namespace, veth, bridge and nftables table on this machine (leftovers of a killed run), and the processes inside those namespaces",
        };
        var command = new Command("down", "Stop exactly the node processes that 'up' started and remove its namespace hosts, network and mounts") { dir, cleanup };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(() =>
        {
            using var manager = new ClusterManager(parse.GetValue(dir)!, Console.Out);
            var code = manager.Down();
            if (!parse.GetValue(cleanup)) return Task.FromResult(code);
            var left = Hosts.Netns.Cleanup(null, Console.Out);
            if (left.Count > 0) throw new CliException("could not remove: " + string.Join(", ", left));
            Console.WriteLine("cleanup: no Braid lab namespace, veth, bridge or nftables table left");
            return Task.FromResult(code);
        }));
        return command;
    }

    private static Command RollingRestart()
    {
        var dir = Options.ClusterDirectory();
        var timeout = Options.TimeoutSeconds(60);
        var settle = new Option<double>("--settle")
        {
            Description = "Seconds each restarted node runs, caught up, before the next one stops (it warms up before it may be handed leadership)",
            DefaultValueFactory = _ => ClusterManager.SettleDefault.TotalSeconds,
        };
        var command = new Command("rolling-restart",
            "Restart every node, one at a time: SIGTERM (the node hands the partitions it leads to caught-up followers, so no election), "
            + "start again with the same arguments, wait until it serves and has caught up, then the next. Safe under load; running it again restarts again")
        {
            dir, timeout, settle,
        };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var warm = parse.GetValue(settle);
            if (double.IsNaN(warm) || warm < 0 || warm > 3600) throw new CliException($"--settle must be between 0 and 3600 seconds, not {warm}");
            using var manager = new ClusterManager(parse.GetValue(dir)!, Console.Out);
            var steps = await manager.RollingRestartAsync(TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))), TimeSpan.FromSeconds(warm), ct).ConfigureAwait(false);
            Console.WriteLine($"rolling restart done: {steps.Count} nodes restarted, {steps.Count(s => s.Graceful)} of them gracefully");
            return 0;
        }));
        return command;
    }

    private static Command Simple(string name, string description, Func<ClusterManager, CancellationToken, Task<int>> body)
    {
        var dir = Options.ClusterDirectory();
        var command = new Command(name, description) { dir };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            using var manager = new ClusterManager(parse.GetValue(dir)!, Console.Out);
            return await body(manager, ct).ConfigureAwait(false);
        }));
        return command;
    }

    private static Command OnNode(string name, string description, Func<ClusterManager, string, CancellationToken, Task> body)
    {
        var dir = Options.ClusterDirectory();
        var node = Options.NodeId();
        var command = new Command(name, description) { node, dir };
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            using var manager = new ClusterManager(parse.GetValue(dir)!, Console.Out);
            await body(manager, parse.GetValue(node)!, ct).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }
}

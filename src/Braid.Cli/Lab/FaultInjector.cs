using Braid.Cli.Cluster;
using Braid.Cli.Hosts;
using Braid.Cli.Membership;
using Braid.Core.Topology;
using Braid.Protocol.V1;

namespace Braid.Cli.Lab;

/// <summary>What one fault did: whom it hit, and what went wrong beyond unavailability (or null);
/// for a data-destroying fault, the node whose data it destroyed (null when it found nothing to damage).</summary>
internal sealed record InjectedFault(string Target, string? Problem, string? DamagedNode = null);

/// <summary>
/// Injects one fault of a class on the real node processes and their network, holds it, heals it,
/// and brings every node back (restarting the ones that died). Network cuts between namespace
/// hosts are nftables rules on the bridge; cuts between nodes that share a host, one overlay edge,
/// and slow links use the nodes' link-layer fault injection (the kernel here has no netem).
/// </summary>
/// <param name="deadAfter">The nodes' <c>--dead-after</c> (null: the node's default), which bounds the wait of a <c>loss</c>.</param>
internal sealed class FaultInjector(ClusterManager manager, ClusterTopology topology, NetworkLayout? network, NodeClients clients, Func<IReadOnlyList<string>> clientNodes,
    TimeSpan? deadAfter = null)
{
    private static readonly TimeSpan RestartTimeout = TimeSpan.FromSeconds(40);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1.5);

    /// <summary>Runs the fault: <paramref name="injected"/> is called once it is in force; returns after it healed.</summary>
    public async Task<InjectedFault> RunAsync(PlannedFault fault, Action injected, CancellationToken ct)
    {
        var random = new Random(fault.Seed);
        var hold = TimeSpan.FromSeconds(fault.DurationSeconds);
        switch (fault.Class)
        {
            case "kill":
            {
                var (node, why) = await PickKillTargetAsync(random, ct).ConfigureAwait(false);
                manager.Kill(node);
                injected();
                await Task.Delay(hold, ct).ConfigureAwait(false);
                return new InjectedFault($"{node} ({why})", await RestartAsync(node, ct).ConfigureAwait(false));
            }
            case "pause":
            {
                var node = Pick(random, Running());
                manager.Pause(node);
                injected();
                try { await Task.Delay(hold, ct).ConfigureAwait(false); }
                finally { manager.Resume(node); }
                return new InjectedFault(node, await EnsureAllUpAsync(ct).ConfigureAwait(false));
            }
            case "link":
            case "slow":
            {
                var (a, b) = topology.Edges[random.Next(topology.Edges.Count)];
                var slow = fault.Class == "slow";
                var request = slow
                    ? new SetLinkFaultRequest { Kind = SetLinkFaultRequest.Types.Kind.Delay, DelayMs = 20 + random.Next(180), JitterMs = 50, LossPercent = 5 }
                    : new SetLinkFaultRequest { Kind = SetLinkFaultRequest.Types.Kind.Drop };
                await SetLinkAsync(a, b, request, ct).ConfigureAwait(false);
                injected();
                try { await Task.Delay(hold, ct).ConfigureAwait(false); }
                finally { await SetLinkAsync(a, b, new SetLinkFaultRequest { Kind = SetLinkFaultRequest.Types.Kind.None }, CancellationToken.None).ConfigureAwait(false); }
                var what = slow ? $"{a}-{b} delay {request.DelayMs}+0..{request.JitterMs} ms, loss {request.LossPercent}%" : $"{a}-{b}";
                return new InjectedFault(what, await EnsureAllUpAsync(ct).ConfigureAwait(false));
            }
            case "partition":
            case "partition-oneway":
            case "majority":
            case "minority":
                return await PartitionAsync(fault, random, hold, injected, ct).ConfigureAwait(false);
            case "disk-full":
                return await DiskFullAsync(random, hold, injected, ct).ConfigureAwait(false);
            case "bitflip":
            case "truncate":
            case "wipe":
                return await CorruptAsync(fault.Class, random, hold, injected, ct).ConfigureAwait(false);
            case "loss":
                return await LossAsync(random, injected, ct).ConfigureAwait(false);
            default:
                throw new CliException($"unknown fault class {fault.Class}");
        }
    }

    /// <summary>A random node, the leader of a random partition, or the node a client sends to, in turn.</summary>
    private async Task<(string Node, string Why)> PickKillTargetAsync(Random random, CancellationToken ct)
    {
        switch (random.Next(3))
        {
            case 0:
                var leader = await LeaderOfAsync((uint)random.Next(12), ct).ConfigureAwait(false);
                if (leader is not null) return (leader, "a partition leader");
                break;
            case 1:
                var used = clientNodes().Intersect(Running()).ToList();
                if (used.Count > 0) return (Pick(random, used), "a client's node");
                break;
        }
        return (Pick(random, Running()), "random");
    }

    /// <summary>The nodes whose process runs now (a fault never picks a node that is already down).</summary>
    private List<string> Running()
    {
        var running = ClusterState.Load(manager.Directory).Nodes.Where(n => ProcessControl.IsAlive(n.Pid, n.StartTime)).Select(n => n.Id).ToList();
        return running.Count > 0 ? running : topology.NodeIds.ToList();
    }

    private async Task<string?> LeaderOfAsync(uint partition, CancellationToken ct)
    {
        foreach (var node in topology.Nodes)
        {
            try
            {
                var reply = await new Protocol.V1.Stream.StreamClient(clients.Channel(node.Address)).DescribeAsync(new DescribeRequest(),
                    deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: ct).ConfigureAwait(false);
                var description = reply.Partitions.FirstOrDefault(p => p.Partition == partition % (uint)Math.Max(1, reply.Partitions.Count));
                if (description is { Leader.Length: > 0 } && Running().Contains(description.Leader)) return description.Leader;
            }
            catch (Grpc.Core.RpcException) { }
        }
        return null;
    }

    private async Task<InjectedFault> PartitionAsync(PlannedFault fault, Random random, TimeSpan hold, Action injected, CancellationToken ct)
    {
        var ids = topology.NodeIds.ToList();
        List<List<string>> sides;
        var oneWay = fault.Class == "partition-oneway";
        if (fault.Class is "partition" or "partition-oneway")
        {
            // A host (site) cut off from the rest; with one node per host, a random minority set.
            if (network is { Mode: HostMode.Netns } && network.Hosts.Count > 1)
            {
                var host = Pick(random, network.Hosts.ToList());
                sides = [host.Nodes.ToList(), ids.Except(host.Nodes).ToList()];
            }
            else
            {
                var cut = ids.OrderBy(_ => random.Next()).Take(1 + random.Next(Math.Max(1, (ids.Count - 1) / 2))).ToList();
                sides = [cut, ids.Except(cut).ToList()];
            }
        }
        else if (fault.Class == "majority")
        {
            var majority = ids.OrderBy(_ => random.Next()).Take(ids.Count / 2 + 1).ToList();
            sides = [majority, ids.Except(majority).ToList()];
        }
        else
        {
            // minority: each node of a random minority isolated from every other node.
            var minority = ids.OrderBy(_ => random.Next()).Take(Math.Max(1, (ids.Count - 1) / 2)).ToList();
            sides = [.. minority.Select(n => new List<string> { n }), ids.Except(minority).ToList()];
        }
        var undo = new List<Func<Task>>();
        var how = "";
        try
        {
            for (var i = 0; i < sides.Count; i++)
                for (var j = i + 1; j < sides.Count; j++)
                    how = await CutAsync(sides[i], sides[j], oneWay, undo, ct).ConfigureAwait(false);
            injected();
            await Task.Delay(hold, ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var heal in undo) await heal().ConfigureAwait(false);
        }
        var arrow = oneWay ? " -/-> " : " | ";
        return new InjectedFault(string.Join(arrow, sides.Select(s => "{" + string.Join(",", s) + "}")) + $" ({how})", await EnsureAllUpAsync(ct).ConfigureAwait(false));
    }

    /// <summary>Cuts traffic from every node of <paramref name="a"/> to every node of <paramref name="b"/> (and back).</summary>
    private async Task<string> CutAsync(List<string> a, List<string> b, bool oneWay, List<Func<Task>> undo, CancellationToken ct)
    {
        if (network is not null)
        {
            var hostsA = a.Select(network.HostOf).Distinct().ToList();
            var hostsB = b.Select(network.HostOf).Distinct().ToList();
            // Whole hosts on each side, none shared: the cut is real packets dropped between addresses.
            if (hostsA.Intersect(hostsB).Any() is false && hostsA.All(h => h.Nodes.All(a.Contains)) && hostsB.All(h => h.Nodes.All(b.Contains)))
            {
                var handles = Netns.Cut(network, hostsA.Select(h => h.Address).ToList(), hostsB.Select(h => h.Address).ToList(), oneWay);
                undo.Add(() => { Netns.Heal(network, handles); return Task.CompletedTask; });
                return "nftables";
            }
        }
        // Otherwise drop every overlay edge that crosses (one-way: drop at the receiving side only).
        foreach (var (x, y) in topology.Edges)
        {
            var (from, to) = a.Contains(x) && b.Contains(y) ? (x, y) : a.Contains(y) && b.Contains(x) ? (y, x) : (null, null);
            if (from is null || to is null) continue;
            var drop = new SetLinkFaultRequest { Kind = SetLinkFaultRequest.Types.Kind.Drop };
            var clear = new SetLinkFaultRequest { Kind = SetLinkFaultRequest.Types.Kind.None };
            if (oneWay)
            {
                await SetOneAsync(to, from, drop, ct).ConfigureAwait(false);
                undo.Add(() => SetOneAsync(to, from, clear, CancellationToken.None));
            }
            else
            {
                await SetLinkAsync(from, to, drop, ct).ConfigureAwait(false);
                undo.Add(() => SetLinkAsync(from, to, clear, CancellationToken.None));
            }
        }
        return "overlay links";
    }

    private async Task<InjectedFault> DiskFullAsync(Random random, TimeSpan hold, Action injected, CancellationToken ct)
    {
        var node = Pick(random, Running());
        var state = ClusterState.Load(manager.Directory);
        var data = state.Node(node).DataDirectory;
        if (!ClusterManager.IsMounted(data)) return new InjectedFault(node, "skipped: data is not on a size-limited file system (--data-tmpfs-mb)");
        var filler = Path.Combine(data, "lab-filler");
        try
        {
            await using (var stream = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var block = new byte[1 << 20];
                try { while (true) await stream.WriteAsync(block, ct).ConfigureAwait(false); }
                catch (IOException) { } // full: that is the point
            }
            injected();
            await Task.Delay(hold, ct).ConfigureAwait(false);
        }
        catch (IOException) { injected(); } // closing the full file can fail too
        finally
        {
            File.Delete(filler);
        }
        // A node that hit the full disk takes a moment to stop (its host shuts down): look after that.
        await Task.Delay(Settle, ct).ConfigureAwait(false);
        var alive = ProcessControl.IsAlive(state.Node(node).Pid, state.Node(node).StartTime);
        var problem = await EnsureAllUpAsync(ct).ConfigureAwait(false);
        return new InjectedFault(node, alive ? problem : Join($"{node} stopped when its disk filled ({Why(state.Node(node).LogFile)})", problem));
    }

    private async Task<InjectedFault> CorruptAsync(string kind, Random random, TimeSpan hold, Action injected, CancellationToken ct)
    {
        var node = Pick(random, Running());
        var data = ClusterState.Load(manager.Directory).Node(node).DataDirectory;
        // What the fault damages is kept aside first: a node that cannot start on the damaged data is
        // recorded as the fault's problem, then repaired from the copy (as an operator would restore
        // a disk), so one fault does not leave the rest of the run without that node.
        var backup = Path.Combine(manager.Directory, "lab-backup", node);
        if (Directory.Exists(backup)) Directory.Delete(backup, recursive: true);
        Directory.CreateDirectory(backup);
        manager.Kill(node);
        injected();
        string what;
        Action? restore = null;
        if (kind == "wipe")
        {
            var moved = new List<(string From, string To)>();
            foreach (var entry in Directory.EnumerateFileSystemEntries(data).Where(e => Path.GetFileName(e) is not ("node.log" or "lab-filler")).ToList())
            {
                var to = Path.Combine(backup, Path.GetFileName(entry));
                if (Directory.Exists(entry)) CopyDirectory(entry, to); else File.Copy(entry, to);
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);
                moved.Add((entry, to));
            }
            restore = () =>
            {
                foreach (var entry in Directory.EnumerateFileSystemEntries(data).Where(e => Path.GetFileName(e) != "node.log").ToList())
                    if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);
                foreach (var (from, to) in moved)
                    if (Directory.Exists(to)) CopyDirectory(to, from); else File.Copy(to, from);
            };
            what = $"{node}: data folder wiped";
        }
        else
        {
            var file = PickFile(data, random);
            if (file is null) what = $"{node}: no file to damage";
            else
            {
                var copy = Path.Combine(backup, "file");
                File.Copy(file, copy);
                restore = () => File.Copy(copy, file, overwrite: true);
                var length = new FileInfo(file).Length;
                if (kind == "bitflip" && length > 0)
                {
                    var offset = random.NextInt64(length);
                    var bit = random.Next(8);
                    await using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
                    stream.Position = offset;
                    var b = stream.ReadByte();
                    stream.Position = offset;
                    stream.WriteByte((byte)(b ^ (1 << bit)));
                    what = $"{node}: bit {bit} of byte {offset} of {Path.GetRelativePath(data, file)} flipped";
                }
                else
                {
                    var keep = length <= 1 ? 0 : random.NextInt64(length);
                    await using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite)) stream.SetLength(keep);
                    what = $"{node}: {Path.GetRelativePath(data, file)} truncated from {length} to {keep} bytes";
                }
            }
        }
        await Task.Delay(hold, ct).ConfigureAwait(false);
        var problem = await RestartAsync(node, ct).ConfigureAwait(false);
        if (problem is not null && restore is not null)
        {
            restore();
            problem += (await RestartAsync(node, ct).ConfigureAwait(false)) is { } again
                ? $"; restored the undamaged data and it still did not come back: {again}"
                : "; restored the undamaged data, then it came back";
        }
        Directory.Delete(backup, recursive: true);
        return new InjectedFault(what, problem, restore is null ? null : node);
    }

    /// <summary>How long a <c>loss</c> waits, beyond --dead-after, for the node to be declared dead and
    /// every group to be in place without it (and, once it is back as new, in place again).</summary>
    private static readonly TimeSpan LossMargin = TimeSpan.FromSeconds(90);

    /// <summary>
    /// A node lost for good: kill -9, its data folder deleted (node.log kept), not restarted. The
    /// cluster must declare it dead after --dead-after and give every group it held a new replica
    /// by itself; then the lab brings it back as new (its process on the empty folder, an ADD with
    /// rebalance committed through a running node) and waits until every group is in place again.
    /// Never a cut vertex of the graph: losing one would cut the nodes behind it off for good too.
    /// </summary>
    private async Task<InjectedFault> LossAsync(Random random, Action injected, CancellationToken ct)
    {
        var candidates = Running().Where(n => !SplitsGraph(n)).ToList();
        if (candidates.Count == 0) return new InjectedFault("none", "skipped: every running node is a cut vertex of the graph (its loss would cut others off for good)");
        var node = Pick(random, candidates);
        var data = ClusterState.Load(manager.Directory).Node(node).DataDirectory;
        var bound = (deadAfter ?? TimeSpan.FromMinutes(5)) + LossMargin;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        manager.Kill(node);
        injected();
        foreach (var entry in Directory.EnumerateFileSystemEntries(data).Where(e => Path.GetFileName(e) is not "node.log").ToList())
            if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);

        // The cluster alone: declared dead, then every group in place without it.
        double? dead = null, replaced = null;
        MembershipReport view;
        while (true)
        {
            view = await ViewAsync(ct).ConfigureAwait(false);
            var at = clock.Elapsed.TotalSeconds;
            if (dead is null && view.Nodes.FirstOrDefault(n => n.Id == node)?.State == "dead") dead = at;
            if (dead is not null && view.Groups.Count > 0 && view.Groups.All(g => g.InPlace && !g.Voters.Contains(node) && !g.Learners.Contains(node)))
            {
                replaced = at;
                break;
            }
            if (clock.Elapsed > bound) break;
            await Task.Delay(TimeSpan.FromSeconds(0.5), ct).ConfigureAwait(false);
        }
        string? problem = null;
        if (replaced is null)
            problem = dead is null
                ? $"{node} not declared dead within {bound.TotalSeconds:F0} s of the kill"
                : string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{node} declared dead {dead:F1} s after the kill, but groups not in place without it within {bound.TotalSeconds:F0} s: {Shorten(string.Join("; ", view.Moving))}");

        // Back as new: its process on the empty folder, then the ADD (rebalance onto it).
        var back = System.Diagnostics.Stopwatch.StartNew();
        problem = Join(problem, await RestartAsync(node, ct, member: true).ConfigureAwait(false));
        problem = Join(problem, await AddAsync(node, ct).ConfigureAwait(false));
        var (whole, still) = await WaitInPlaceAsync([node], LossMargin, ct).ConfigureAwait(false);
        problem = Join(problem, still);
        var target = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{node}: kill to dead {(dead is { } d ? $"{d:F1} s" : "never")}, kill to in place without it {(replaced is { } r ? $"{r:F1} s" : "never")}; back as new, {(whole ? $"in place again {back.Elapsed.TotalSeconds:F1} s later" : $"not in place again within {LossMargin.TotalSeconds:F0} s")}");
        return new InjectedFault(target, problem);
    }

    /// <summary>
    /// Nodes the metadata leader declared dead that are running again (a kill, pause or cut that
    /// lasted longer than a short --dead-after): the lab adds each back as new, as an operator
    /// would, and waits until every group is in place. What it did (or null), and any problem.
    /// </summary>
    public async Task<(string? Note, string? Problem)> AddBackDeadAsync(CancellationToken ct)
    {
        var view = await ViewAsync(ct).ConfigureAwait(false);
        var running = ClusterState.Load(manager.Directory).Nodes.Where(n => ProcessControl.IsAlive(n.Pid, n.StartTime)).Select(n => n.Id).ToHashSet();
        var dead = view.Nodes.Where(n => n.State == "dead" && running.Contains(n.Id)).Select(n => n.Id).Order(StringComparer.Ordinal).ToList();
        if (dead.Count == 0) return (null, null);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string? problem = null;
        foreach (var node in dead) problem = Join(problem, await AddAsync(node, ct).ConfigureAwait(false));
        var (whole, still) = await WaitInPlaceAsync(dead, LossMargin, ct).ConfigureAwait(false);
        var note = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{string.Join(",", dead)} declared dead (--dead-after), added back as new{(whole ? $", every group in place {clock.Elapsed.TotalSeconds:F1} s later" : "")}");
        return (note, Join(problem, still));
    }

    /// <summary>Commits ADD (with rebalance) of <paramref name="node"/> through any running node; the problem, or null.</summary>
    private async Task<string?> AddAsync(string node, CancellationToken ct)
    {
        var request = new MembershipChangeRequest { Action = MembershipChangeRequest.Types.Action.Add, Node = node, Rebalance = true };
        string? last = null;
        for (var round = 0; round < 5; round++)
        {
            foreach (var via in Running().Where(n => n != node))
            {
                try
                {
                    await new Protocol.V1.Stream.StreamClient(clients.Channel(topology.Node(via).Address)).ChangeMembershipAsync(request,
                        deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct).ConfigureAwait(false);
                    return null;
                }
                catch (Grpc.Core.RpcException e) when (!ct.IsCancellationRequested)
                {
                    last = $"{via}: {e.Status.StatusCode} {e.Status.Detail}";
                }
            }
            await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
        }
        return $"add {node} was not committed ({Shorten(last ?? "no node running")})";
    }

    /// <summary>Waits until every group is in place and <paramref name="nodes"/> are up in the catalog
    /// (adding again one declared dead once more); whether it got there, and if not, what was still moving.</summary>
    private async Task<(bool Whole, string? Problem)> WaitInPlaceAsync(IReadOnlyList<string> nodes, TimeSpan bound, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var readded = 0;
        while (true)
        {
            var view = await ViewAsync(ct).ConfigureAwait(false);
            var down = nodes.Where(id => view.Nodes.FirstOrDefault(n => n.Id == id)?.State is not "up").ToList();
            if (down.Count == 0 && view.Groups.Count > 0 && view.Groups.All(g => g.InPlace))
                return (true, readded == 0 ? null : $"{string.Join(",", nodes)} declared dead again after the add, added {readded} more time{(readded == 1 ? "" : "s")}");
            if (clock.Elapsed > bound)
                return (false, $"not every group in place {bound.TotalSeconds:F0} s after adding {string.Join(",", nodes)} back: "
                    + Shorten((down.Count > 0 ? $"{string.Join(",", down)} not up; " : "") + string.Join("; ", view.Moving)));
            foreach (var id in down.Where(id => view.Nodes.FirstOrDefault(n => n.Id == id)?.State == "dead"))
            {
                readded++;
                await AddAsync(id, ct).ConfigureAwait(false);
            }
            await Task.Delay(TimeSpan.FromSeconds(0.5), ct).ConfigureAwait(false);
        }
    }

    private async Task<MembershipReport> ViewAsync(CancellationToken ct) =>
        MembershipView.Build(await ChaosRunner.DescribeAllAsync(topology, clients, ct, TimeSpan.FromSeconds(3)).ConfigureAwait(false));

    /// <summary>Whether the graph without <paramref name="node"/> falls apart.</summary>
    internal static bool SplitsGraph(ClusterTopology topology, string node)
    {
        var rest = topology.Subgraph(n => n != node);
        if (rest.Nodes.Count <= 1) return false;
        var reached = new HashSet<string> { rest.Nodes[0].Id };
        var queue = new Queue<string>(reached);
        while (queue.TryDequeue(out var at))
            foreach (var next in rest.NeighboursOf(at))
                if (reached.Add(next)) queue.Enqueue(next);
        return reached.Count < rest.Nodes.Count;
    }

    private bool SplitsGraph(string node) => SplitsGraph(topology, node);

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        foreach (var dir in Directory.GetDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    /// <summary>A sealed segment (not a partition's newest) when there is one, else a hard state file.</summary>
    private static string? PickFile(string data, Random random)
    {
        var partitions = Path.Combine(data, "partitions");
        if (!Directory.Exists(partitions)) return null;
        var sealedSegments = Directory.GetDirectories(partitions).Order(StringComparer.Ordinal)
            .SelectMany(d => Directory.GetFiles(d, "*.seg").Order(StringComparer.Ordinal).SkipLast(1)).ToList();
        if (sealedSegments.Count > 0) return Pick(random, sealedSegments);
        var hardStates = Directory.GetDirectories(partitions).Order(StringComparer.Ordinal).Select(d => Path.Combine(d, "hardstate")).Where(File.Exists).ToList();
        return hardStates.Count > 0 ? Pick(random, hardStates) : null;
    }

    /// <summary>Restarts a node (<paramref name="member"/>: a node lost for good, started on its empty folder
    /// to be added back as new); the problem when it does not come back.</summary>
    private async Task<string?> RestartAsync(string node, CancellationToken ct, bool member = false)
    {
        try
        {
            if (member) await manager.StartMemberAsync(node, null, RestartTimeout, ct).ConfigureAwait(false);
            else await manager.RestartAsync(node, RestartTimeout, ct).ConfigureAwait(false);
            return null;
        }
        catch (CliException e)
        {
            var log = ClusterState.Load(manager.Directory).Node(node).LogFile;
            return e.Message.Contains("exited during start-up", StringComparison.Ordinal)
                ? $"{node} did not come back: exited at start-up ({Why(log)})"
                : $"{node} did not come back: {Shorten(e.Message.Split('\n')[0])}";
        }
    }

    /// <summary>Restarts every node that is not running (a fault may have killed one); the problems, or null.</summary>
    public async Task<string?> EnsureAllUpAsync(CancellationToken ct)
    {
        // A node the fault made stop needs a moment to exit; without this wait its death would be
        // noticed, and blamed, after the next fault.
        await Task.Delay(Settle, ct).ConfigureAwait(false);
        string? problems = null;
        foreach (var node in ClusterState.Load(manager.Directory).Nodes)
            if (!ProcessControl.IsAlive(node.Pid, node.StartTime))
                problems = Join(problems, $"{node.Id} had exited ({Why(node.LogFile)})" + (await RestartAsync(node.Id, ct).ConfigureAwait(false) is { } p ? "; " + p : "; restarted"));
        return problems;
    }

    private async Task SetLinkAsync(string a, string b, SetLinkFaultRequest request, CancellationToken ct)
    {
        await SetOneAsync(a, b, request, ct).ConfigureAwait(false);
        await SetOneAsync(b, a, request, ct).ConfigureAwait(false);
    }

    private async Task SetOneAsync(string node, string neighbour, SetLinkFaultRequest request, CancellationToken ct)
    {
        var r = request.Clone();
        r.Neighbour = neighbour;
        // A node that is down has no link to fault; the fault lapses with its process.
        try { await clients.Admin(topology.Node(node).Address).SetLinkFaultAsync(r, deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: ct).ConfigureAwait(false); }
        catch (Grpc.Core.RpcException) { }
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static string? Join(string? a, string? b) => a is null ? b : b is null ? a : a + "; " + b;

    /// <summary>Why a node stopped, from its log: the last exception's type and message, shortened.</summary>
    internal static string Why(string logFile)
    {
        var tail = ClusterManager.Tail(logFile, 300).Split('\n');
        var line = tail.LastOrDefault(l => l.Contains("Exception: ", StringComparison.Ordinal));
        if (line is null) return "no exception in its log";
        var start = line.LastIndexOf(' ', line.IndexOf("Exception: ", StringComparison.Ordinal)) + 1;
        var text = line[start..];
        var at = text.IndexOf("   at ", StringComparison.Ordinal);
        return Shorten(at > 0 ? text[..at] : text);
    }

    private static string Shorten(string text) => text.Length <= 240 ? text.Trim() : text[..237].Trim() + "...";

}

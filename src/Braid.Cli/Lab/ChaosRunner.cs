using System.Diagnostics;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Cli.Hosts;
using Braid.Core.Topology;
using Braid.Lab;
using Braid.Lab.Report;
using Braid.Protocol.V1;

namespace Braid.Cli.Lab;

/// <summary>Settings of one chaos run.</summary>
internal sealed record ChaosSettings(
    string Topology,
    HostMode Hosts,
    IReadOnlyList<string> Faults,
    double DurationSeconds,
    int Seed,
    string OutDirectory,
    string ClusterDirectory,
    WorkloadSettings Workload,
    (double Min, double Max) FaultSeconds,
    (double Min, double Max) GapSeconds,
    int Partitions,
    int Replicas,
    string CommandLine,
    bool AllowMajorityDataLoss = false,
    string? DeadAfter = null);

/// <summary>
/// One Jepsen-style experiment on real processes: starts the cluster on namespace hosts, runs the
/// workload, injects the planned faults one after another, heals, lets the clients finish, reads
/// every partition back, checks the history and writes the report. The cluster and its network
/// are always taken down at the end, also on failure or Ctrl+C.
/// </summary>
internal sealed class ChaosRunner(ChaosSettings settings, TextWriter output)
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan QuietTail = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(90);

    public async Task<(LabRun Run, LabReportFiles Files)> RunAsync(CancellationToken ct)
    {
        var plan = FaultPlan.Make(settings.Faults, settings.DurationSeconds, settings.Seed, settings.FaultSeconds, settings.GapSeconds);
        output.WriteLine($"chaos: seed {settings.Seed}, {plan.Count} faults planned over {settings.DurationSeconds:F0} s ({string.Join(", ", plan.GroupBy(f => f.Class).Select(g => $"{g.Count()} {g.Key}"))})");
        if (plan.Any(f => FaultBudget.DataClasses.Contains(f.Class)))
            output.WriteLine(settings.AllowMajorityDataLoss
                ? "chaos: fault budget OFF (--allow-majority-data-loss): data-destroying faults may hit a majority of a partition's replicas, beyond the fault model"
                : "chaos: fault budget on: bitflip, truncate, wipe and loss wait while any replica is recovering, loss also until every group is in place (skipped if their slot ends first)");
        if (settings.DeadAfter is not null)
            output.WriteLine($"chaos: nodes run with --dead-after {settings.DeadAfter}: a node without a route that long is declared dead and replaced; the lab adds back every declared-dead node that runs again after each fault");
        Directory.CreateDirectory(settings.OutDirectory);
        var needsDisk = settings.Faults.Any(FaultPlan.DiskClasses.Contains);
        using var manager = new ClusterManager(settings.ClusterDirectory, TextWriter.Null);
        // A folder left by an earlier run: take its cluster down first (ours, by its state file).
        if (ClusterState.TryLoad(settings.ClusterDirectory) is not null) manager.Down();
        foreach (var entry in Directory.Exists(settings.ClusterDirectory) ? Directory.GetDirectories(settings.ClusterDirectory) : [])
            Directory.Delete(entry, recursive: true);
        var clock = Stopwatch.StartNew();
        var state = await manager.UpAsync(settings.Topology, null, allowFaultInjection: true, TimeSpan.FromSeconds(90), ct,
            settings.Partitions, settings.Replicas, retainBytes: 0, segmentBytes: 256 << 10, settings.Hosts, needsDisk ? 256 : 0, deadAfter: settings.DeadAfter).ConfigureAwait(false);
        try
        {
            output.WriteLine($"chaos: cluster up in {clock.Elapsed.TotalSeconds:F1} s on {NetworkLayout.ModeName(settings.Hosts)} hosts" +
                (state.Network is null ? "" : $" ({string.Join(", ", state.Network.Hosts.Select(h => $"{h.Name} {h.Address}: {string.Join(",", h.Nodes)}"))})"));
            return await ExperimentAsync(manager, state, plan, ct).ConfigureAwait(false);
        }
        finally
        {
            manager.Down();
            output.WriteLine("chaos: cluster and its network removed");
        }
    }

    private async Task<(LabRun Run, LabReportFiles Files)> ExperimentAsync(ClusterManager manager, ClusterState state, List<PlannedFault> plan, CancellationToken ct)
    {
        var topology = TopologyFiles.Load(state.TopologyPath);
        var addresses = topology.Nodes.Select(n => n.Address).ToList();
        var clock = Stopwatch.StartNew();
        using var clients = new NodeClients(Security.ClientTlsOptions.ForCluster(manager.Directory));
        var workload = new LabWorkload(addresses, settings.Workload, settings.Seed, clock, clients.Tls);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = workload.RunAsync(Drain, stop.Token, ct);
        var injector = new FaultInjector(manager, topology, state.Network, clients,
            () => workload.ClientNodes.Select(a => topology.Nodes.First(n => n.Address == a).Id).ToList(),
            settings.DeadAfter is { } dead ? Commands.StreamCommands.ParseDuration(dead) : null);
        var windows = new List<FaultWindow>();
        var notes = new List<string>();
        var heldBack = new List<string>();
        // Nodes whose data a fault destroyed (or seen recovering), until they show every replica caught up.
        var damaged = new Dictionary<string, string>(StringComparer.Ordinal);
        using var reporter = new Timer(_ => Progress(workload, clock, windows), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        try
        {
            await Task.Delay(WarmUp, ct).ConfigureAwait(false);
            var phaseStart = clock.Elapsed.TotalSeconds;
            foreach (var fault in plan)
            {
                var wait = phaseStart + fault.StartSeconds - clock.Elapsed.TotalSeconds;
                if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait), ct).ConfigureAwait(false);
                if (running.IsFaulted) break;
                var asked = clock.Elapsed.TotalSeconds;
                if (!settings.AllowMajorityDataLoss && FaultBudget.DataClasses.Contains(fault.Class)
                    && await HoldBackAsync(fault, phaseStart + fault.StartSeconds + fault.DurationSeconds, topology, clients, damaged, clock, ct).ConfigureAwait(false) is { } why)
                {
                    var line = string.Create(CultureInfo.InvariantCulture,
                        $"held back at {clock.Elapsed.TotalSeconds:F1} s: {fault.Class} (planned at {phaseStart + fault.StartSeconds:F1} s for {fault.DurationSeconds:F1} s): {why} (fault budget; --allow-majority-data-loss injects it anyway)");
                    heldBack.Add(line);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"chaos: {clock.Elapsed.TotalSeconds,7:F1} s  {fault.Class,-16} HELD BACK: {why}"));
                    continue;
                }
                if (clock.Elapsed.TotalSeconds - asked > 1.5)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"chaos: {clock.Elapsed.TotalSeconds,7:F1} s  {fault.Class,-16} waited {clock.Elapsed.TotalSeconds - asked:F1} s for a recovering replica (fault budget)"));
                var started = double.NaN;
                var outcome = await injector.RunAsync(fault, () => started = clock.Elapsed.TotalSeconds, ct).ConfigureAwait(false);
                var healedMembership = false;
                if (settings.DeadAfter is not null && await injector.AddBackDeadAsync(ct).ConfigureAwait(false) is { Note: { } addedBack } readd)
                {
                    healedMembership = true;
                    outcome = outcome with { Target = $"{outcome.Target} ({addedBack})", Problem = Join(outcome.Problem, readd.Problem) };
                }
                var ended = clock.Elapsed.TotalSeconds;
                // A loss (and adding back a node declared dead) lasts as long as the groups take to move:
                // the rest of the schedule waits for it, so the quiet gap after it stays.
                var overrun = ended - (phaseStart + fault.StartSeconds + fault.DurationSeconds);
                if ((fault.Class == "loss" || healedMembership) && overrun > 0) phaseStart += overrun;
                if (outcome.DamagedNode is { } hit)
                    damaged[hit] = string.Create(CultureInfo.InvariantCulture, $"{fault.Class} at {(double.IsNaN(started) ? ended : started):F1} s");
                var window = new FaultWindow(fault.Class, outcome.Target, double.IsNaN(started) ? ended : started, ended, outcome.Problem);
                lock (windows) windows.Add(window);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"chaos: {window.StartSeconds,7:F1} s  {fault.Class,-16} {outcome.Target}  ({window.EndSeconds - window.StartSeconds:F1} s){(outcome.Problem is null ? "" : "  PROBLEM: " + outcome.Problem)}"));
            }
            if (await injector.EnsureAllUpAsync(ct).ConfigureAwait(false) is { } late) notes.Add("after the last fault: " + late);
            if (settings.DeadAfter is not null)
            {
                // A declaration may still have been on its way when the last fault healed.
                await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
                var (addedBack, problem) = await injector.AddBackDeadAsync(ct).ConfigureAwait(false);
                if (addedBack is not null) notes.Add("after the last fault: " + addedBack + (problem is null ? "" : "; " + problem));
            }
            await Task.Delay(QuietTail, ct).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
        var duration = clock.Elapsed.TotalSeconds;
        notes.AddRange(heldBack);
        var dataPlanned = plan.Count(f => FaultBudget.DataClasses.Contains(f.Class));
        output.WriteLine(settings.AllowMajorityDataLoss
            ? $"chaos: {windows.Count} faults injected; fault budget off (--allow-majority-data-loss): {dataPlanned} data-destroying faults planned, none held back"
            : $"chaos: {windows.Count} faults injected; fault budget: {heldBack.Count} of {dataPlanned} data-destroying faults held back (see the held-back lines above)");
        output.WriteLine($"chaos: faults over at {duration:F1} s; letting producers finish what they sent (up to {Drain.TotalSeconds:F0} s)");
        try { await running.ConfigureAwait(false); }
        catch (Exception e) when (e is Braid.Client.BraidException or Grpc.Core.RpcException) { notes.Add("workload ended with an error: " + e.Message); }
        var (appends, queries, acks) = workload.Snapshot();
        output.WriteLine($"chaos: reading every partition back from its replicas");
        var (stored, readNotes, readViolations) = await FinalReadAsync(topology, clients, workload.Partitions, settings.Workload.BatchRecords, ct).ConfigureAwait(false);
        notes.AddRange(readNotes);
        var check = HistoryChecker.Check(new History(appends, queries, stored));
        if (readViolations.Count > 0) check = check with { Violations = [.. readViolations, .. check.Violations] };
        output.WriteLine(check.Ok
            ? $"chaos: checker: OK ({appends.Count(a => a.Result == AppendResult.Ok)} acknowledged appends stored exactly once, {check.QueriesChecked} queries returned exactly their snapshots)"
            : $"chaos: checker: {check.Violations.Count} violations (lost {check.Lost}, duplicated {check.Duplicated}, phantom {check.Phantom}); first: {check.Violations[0]}");
        foreach (var node in ClusterState.Load(manager.Directory).Nodes)
            if (!ProcessControl.IsAlive(node.Pid, node.StartTime)) notes.Add($"node {node.Id} was not running at the end: {ClusterManager.Tail(node.LogFile, 1)}");
        var run = new LabRun(
            $"braid chaos: {topology.Name} on {NetworkLayout.ModeName(settings.Hosts)} hosts",
            Settings(state, plan),
            duration,
            acks,
            windows,
            check,
            [.. workload.Counts(), new("data-destroying faults held back (fault budget)", settings.AllowMajorityDataLoss ? "budget off" : heldBack.Count.ToString(CultureInfo.InvariantCulture))],
            GraphNotes(topology, settings.Partitions, settings.Replicas),
            notes);
        // The run's measurements, so that its report can be rebuilt later without running it again.
        File.WriteAllText(Path.Combine(settings.OutDirectory, "run.json"), LabRunJson.Serialize(run));
        var files = WriteReport(run, settings.OutDirectory);
        output.WriteLine($"chaos: report written to {Path.Combine(settings.OutDirectory, "report.md")}");
        return (run, files);
    }

    /// <summary>
    /// The fault budget (<see cref="FaultBudget"/>): asks every node which replicas are recovering,
    /// every second until <paramref name="until"/> (seconds on <paramref name="clock"/>); null once the
    /// data-destroying fault may go ahead, else why it is held back.
    /// </summary>
    private static async Task<string?> HoldBackAsync(PlannedFault fault, double until, ClusterTopology topology, NodeClients clients,
        Dictionary<string, string> damaged, Stopwatch clock, CancellationToken ct)
    {
        while (true)
        {
            var replies = await DescribeAllAsync(topology, clients, ct).ConfigureAwait(false);
            foreach (var node in damaged.Keys.ToList())
                if (FaultBudget.HasRecovered(node, replies.GetValueOrDefault(node))) damaged.Remove(node);
            foreach (var node in FaultBudget.Damaged(replies))
                damaged.TryAdd(node, string.Create(CultureInfo.InvariantCulture, $"seen recovering at {clock.Elapsed.TotalSeconds:F1} s"));
            var decision = FaultBudget.Decide(fault, replies, damaged);
            if (!decision.Hold) return null;
            if (decision.Permanent || clock.Elapsed.TotalSeconds + 1 > until) return decision.Reason;
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Every node's Describe, in parallel, null for a node that does not answer within a second.</summary>
    internal static async Task<Dictionary<string, DescribeReply?>> DescribeAllAsync(ClusterTopology topology, NodeClients clients, CancellationToken ct, TimeSpan? deadline = null)
    {
        var wait = deadline ?? TimeSpan.FromSeconds(1);
        // Channels first, one by one (NodeClients is not thread-safe), then the calls at once.
        var stubs = topology.Nodes.Select(n => (n.Id, Stub: new Protocol.V1.Stream.StreamClient(clients.Channel(n.Address)))).ToList();
        var replies = await Task.WhenAll(stubs.Select(async s =>
        {
            try
            {
                return (s.Id, Reply: (DescribeReply?)await s.Stub.DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.Add(wait), cancellationToken: ct).ConfigureAwait(false));
            }
            catch (Grpc.Core.RpcException) when (!ct.IsCancellationRequested)
            {
                return (s.Id, Reply: (DescribeReply?)null);
            }
        })).ConfigureAwait(false);
        return replies.ToDictionary(r => r.Id, r => r.Reply, StringComparer.Ordinal);
    }

    /// <summary>Writes report.md and its charts into <paramref name="directory"/>.</summary>
    internal static LabReportFiles WriteReport(LabRun run, string directory)
    {
        Directory.CreateDirectory(directory);
        var files = LabReport.Build(run);
        File.WriteAllText(Path.Combine(directory, "report.md"), files.Markdown);
        foreach (var chart in files.Charts) File.WriteAllText(Path.Combine(directory, chart.FileName), chart.Svg);
        return files;
    }

    private static string? Join(string? a, string? b) => a is null ? b : b is null ? a : a + "; " + b;

    private void Progress(LabWorkload workload, Stopwatch clock, List<FaultWindow> windows)
    {
        int faults;
        lock (windows) faults = windows.Count;
        var acked = workload.AckedRecords;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"chaos: {clock.Elapsed.TotalSeconds,7:F1} s  acked {acked,10} records ({acked / Math.Max(1, clock.Elapsed.TotalSeconds),7:F0}/s)  faults done {faults}"));
    }

    /// <summary>
    /// Every partition's stored batches, from the replica that has applied the most; also checks that
    /// every other replica's batches are a prefix of those (replicas never disagree on what is stored).
    /// </summary>
    private static async Task<(List<StoredBatch> Stored, List<string> Notes, List<string> Violations)> FinalReadAsync(ClusterTopology topology, NodeClients clients, int partitions, int batchRecords, CancellationToken ct)
    {
        var stored = new List<StoredBatch>();
        var notes = new List<string>();
        var violations = new List<string>();
        // Followers catch up within moments of the load ending: give them a few seconds to agree.
        await Task.Delay(TimeSpan.FromSeconds(3), ct).ConfigureAwait(false);
        for (uint p = 0; p < partitions; p++)
        {
            var replies = new List<(string Node, PartitionRecordsReply Reply)>();
            foreach (var node in topology.Nodes)
            {
                try
                {
                    var reply = await clients.Admin(node.Address).PartitionRecordsAsync(new PartitionRecordsRequest { Partition = p, WithContent = true },
                        deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: ct).ConfigureAwait(false);
                    if (reply.HasReplica) replies.Add((node.Id, reply));
                }
                catch (Grpc.Core.RpcException e)
                {
                    notes.Add($"final read of partition {p} at {node.Id} failed: {e.Status.StatusCode} {e.Status.Detail}");
                }
            }
            if (replies.Count == 0)
            {
                violations.Add($"partition {p}: no replica answered the final read");
                continue;
            }
            var best = replies.MaxBy(r => r.Reply.AppliedIndex);
            for (var i = 0; i < best.Reply.Producers.Count; i++)
            {
                var producer = best.Reply.Producers[i];
                var sequence = best.Reply.Sequences[i];
                var batch = (long)(sequence - 1) * partitions + p;
                // The records the lab sent under this key (a batch that is not what was sent fails the content check).
                var records = producer is >= 1 and <= 255 ? RecordIdentities(producer, batch, batchRecords) : [];
                stored.Add(new StoredBatch(p, best.Reply.Indexes[i], producer, sequence, best.Reply.ContentHashes[i], records));
            }
            foreach (var (node, reply) in replies.Where(r => r.Node != best.Node))
            {
                var n = Math.Min(reply.Producers.Count, best.Reply.Producers.Count);
                for (var i = 0; i < n; i++)
                    if (reply.Indexes[i] != best.Reply.Indexes[i] || reply.ContentHashes[i] != best.Reply.ContentHashes[i])
                    {
                        violations.Add($"partition {p}: replica {node} stores a different batch at position {i} (index {reply.Indexes[i]}) than {best.Node} (index {best.Reply.Indexes[i]})");
                        break;
                    }
                if (reply.AppliedIndex < best.Reply.AppliedIndex)
                    notes.Add($"partition {p}: replica {node} had applied {reply.AppliedIndex} of {best.Reply.AppliedIndex} at the final read");
            }
        }
        return (stored, notes, violations);
    }

    private static ulong[] RecordIdentities(ulong producer, long batch, int count)
    {
        var result = new ulong[count];
        for (var i = 0; i < count; i++) result[i] = LabRecords.Identity(producer, batch, i);
        return result;
    }

    private List<KeyValuePair<string, string>> Settings(ClusterState state, List<PlannedFault> plan) =>
    [
        new("command", settings.CommandLine),
        new("topology", $"{Path.GetFileNameWithoutExtension(settings.Topology)}, {settings.Partitions} partitions, {settings.Replicas} replicas"),
        new("hosts", state.Network is null ? "loopback" : $"{NetworkLayout.ModeName(settings.Hosts)}: " + string.Join("; ", state.Network.Hosts.Select(h => $"{h.Name} {h.Address} ({string.Join(",", h.Nodes)})"))),
        new("seed", settings.Seed.ToString(CultureInfo.InvariantCulture)),
        new("fault phase", string.Create(CultureInfo.InvariantCulture, $"{settings.DurationSeconds:F0} s, {plan.Count} faults of {settings.FaultSeconds.Min:F0}-{settings.FaultSeconds.Max:F0} s with {settings.GapSeconds.Min:F0}-{settings.GapSeconds.Max:F0} s between")),
        new("fault classes", string.Join(", ", settings.Faults)),
        new("fault budget", settings.AllowMajorityDataLoss
            ? "off (--allow-majority-data-loss): data-destroying faults go ahead even while a replica recovers, beyond the fault model"
            : "bitflip, truncate, wipe and loss wait while any replica is recovering and are skipped if their slot ends first (at most one damaged replica per partition); loss also waits until every group is in place"),
        new("dead after", settings.DeadAfter is null ? "the nodes' default (5m)" : $"{settings.DeadAfter} (a loss is declared dead after it; nodes declared dead by other faults are added back as new)"),
        new("workload", string.Create(CultureInfo.InvariantCulture, $"{settings.Workload.Producers} producers x {settings.Workload.BatchesPerSecond:0.#} batches/s x {settings.Workload.BatchRecords} records, each crashing and resuming about every {settings.Workload.ProducerRestartSeconds:F0} s; {settings.Workload.Queries} query workers, pages of 200, resumed at another node after 30% of pages")),
        new("date", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)),
    ];

    /// <summary>Cut vertices of the graph and what losing each cuts off.</summary>
    internal static List<string> GraphNotes(ClusterTopology topology, int partitions, int replicas)
    {
        var notes = new List<string>();
        var table = Braid.Core.Placement.PlacementPlanner.Plan(topology, partitions, replicas);
        foreach (var v in topology.NodeIds)
        {
            var rest = topology.NodeIds.Where(n => n != v).ToList();
            var components = new List<List<string>>();
            var seen = new HashSet<string>();
            foreach (var start in rest)
            {
                if (!seen.Add(start)) continue;
                var component = new List<string> { start };
                var queue = new Queue<string>([start]);
                while (queue.Count > 0)
                    foreach (var next in topology.NeighboursOf(queue.Dequeue()))
                        if (next != v && seen.Add(next)) { component.Add(next); queue.Enqueue(next); }
                components.Add(component);
            }
            if (components.Count <= 1) continue;
            var writable = table.WritableAfterFailure(v).Count;
            var smallest = components.MinBy(c => c.Count)!;
            var stranded = smallest.Sum(table.ReplicasOn);
            notes.Add($"{v} is a cut vertex: while it is down or cut off, {string.Join(" and ", components.Select(c => "{" + string.Join(",", c.Order(StringComparer.Ordinal)) + "}"))} cannot reach each other (the overlay routes only over its edges). "
                + $"The placement keeps {writable}/{table.Partitions.Count} partitions writable then, but the {stranded} replicas on {{{string.Join(",", smallest.Order(StringComparer.Ordinal))}}} fall behind until {v} is back, "
                + $"and one more failure on the large side costs every partition that counted on them (see the faults on {v} below).");
        }
        if (notes.Count == 0) notes.Add($"{topology.Name} has no cut vertex: any single node can fail without splitting the overlay.");
        return notes;
    }
}

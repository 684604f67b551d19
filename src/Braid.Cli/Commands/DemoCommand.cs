using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Braid.Cli.Bench;
using Braid.Cli.Cluster;
using Braid.Cli.Data;
using Braid.Cli.Load;
using Braid.Client;
using Braid.Data;
using Braid.Core.Placement;
using Braid.Protocol.V1;

namespace Braid.Cli.Commands;

/// <summary>
/// The README's first command: a local mini2 cluster, the full air-quality data set generated and
/// loaded at R=3 while a partition leader is killed with SIGKILL and another node is frozen with
/// SIGSTOP, a query across the failure, the node restarted, and a check that every record is
/// stored exactly once. Everything it starts, it stops.
/// </summary>
internal static class DemoCommand
{
    private const int Partitions = 12;

    public static Command Create()
    {
        var port = new Option<int>("--base-port") { Description = "First port of the demo cluster", DefaultValueFactory = _ => 7101 };
        var dir = new Option<string>("--dir") { Description = "Scratch folder (deleted and recreated)", DefaultValueFactory = _ => Path.Combine(".braid", "demo") };
        var records = new Option<long?>("--records") { Description = "Generate fewer records than the full 1,167,525 (same mix)" };
        var seed = new Option<int>("--seed") { Description = "Generator seed", DefaultValueFactory = _ => 1 };
        var file = new Option<int>("--file-mb") { Description = "Size of the file put through a kill -9 in the second act (0 skips the second act)", DefaultValueFactory = _ => 100 };
        var data = new Option<string?>("--data") { Description = "Your own copy of the fire data (day folders of hourly AirNow files, a folder of .csv files, or one file) instead of generated data; exactly-once is checked against the records read from it" };
        var command = new Command("demo", "Start mini2, load the air-quality data set through a leader kill and a frozen node, query across the failure, check exactly-once; then binary payloads followed live by braid tail and a 100 MB file, each through a kill -9, checked byte for byte; stop")
        {
            port, dir, records, seed, data, file,
        };
        command.SetAction((p, ct) => CommandRunner.RunAsync(() =>
        {
            if (p.GetValue(data) is { } d && p.GetValue(records) is not null) throw new CliException("--records applies to generated data; with --data every record of the files is loaded");
            if (p.GetValue(data) is { } folder && !Directory.Exists(folder) && !File.Exists(folder)) throw new CliException($"no data folder or file at '{folder}'");
            return RunAsync(p.GetValue(dir)!, p.GetValue(port), p.GetValue(records), p.GetValue(seed), p.GetValue(data), Math.Max(0, p.GetValue(file)), Console.Out, ct);
        }));
        return command;
    }

    private static async Task<int> RunAsync(string directory, int basePort, long? recordLimit, int seed, string? userData, int fileMegabytes, TextWriter output, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        output.WriteLine($"== starting the mini2 cluster (A-F, edges AB BC BD AE EF ED), one process per node, {Partitions} partitions x 3 replicas");
        await using var cluster = await BenchCluster.StartAsync("mini2", directory, basePort, output, ct, Partitions).ConfigureAwait(false);
        var question = RecordFilter.Create(new DateTime(2020, 9, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2020, 9, 7, 0, 0, 0, DateTimeKind.Utc), [AirParameter.Pm25], 100, 500);
        var dataDirectory = userData ?? Path.Combine(directory, "data");
        var expectedAnswer = 0L;
        var clock = Stopwatch.StartNew();
        var generated = new RecordTally();
        WriteSummary written;
        if (userData is null)
        {
            written = AirQualityFiles.Write(dataDirectory, AirQualityGenerator.Generate(seed, recordLimit).Select(f =>
            {
                foreach (var r in f.Records)
                {
                    if (question.Matches(r)) expectedAnswer++;
                    generated.Add(r);
                }
                return f;
            }));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== generated {written.Records:N0} records in {written.Files} hourly files ({written.Bytes / 1e6:F0} MB) in {clock.Elapsed.TotalSeconds:F1} s: {Counts(written.Counts)}"));
        }
        else
        {
            // The user's files are the reference: every record read from them must be stored once.
            var read = new LoadReport();
            var counts = AirParameters.All.ToDictionary(p => p, _ => 0L);
            foreach (var r in AirQualityFiles.Records(userData, read))
            {
                if (question.Matches(r)) expectedAnswer++;
                generated.Add(r);
                counts[r.Parameter]++;
            }
            written = new WriteSummary(read.Files, 0, counts);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== read {written.Records:N0} records from {read.Files} files in {userData} in {clock.Elapsed.TotalSeconds:F1} s: {Counts(written.Counts)}"));
            if (read.Malformed > 0) output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {read.Malformed:N0} malformed lines are skipped (not loaded, not expected back)"));
            if (written.Records == 0) throw new CliException($"no air-quality records in {userData}");
        }

        using var client = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = cluster.State.Nodes.Select(n => n.Address).ToList(), Tls = cluster.Tls }, ct).ConfigureAwait(false);
        var faults = new FaultPlan(cluster, client, written.Records, output);
        output.WriteLine("== loading at R=3 (acknowledged only once fsynced on a majority); a leader will be killed and another node frozen mid-load");
        var report = new LoadReport();
        var checkpoint = new LoadCheckpoint(1, Path.GetFullPath(dataDirectory), 1000, 0);
        // On its own thread: the loader parses and queues batches synchronously until the windows fill.
        var loading = Task.Run(() => LoadCommand.LoadAsync(client, checkpoint, null, dataDirectory, report, output, ct), ct);
        var injecting = faults.RunAsync(loading, ct);
        var result = await loading.ConfigureAwait(false);
        await injecting.ConfigureAwait(false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   loaded {result.Records:N0} records in {result.Elapsed.TotalSeconds:F1} s ({result.RecordsPerSecond:F0} records/s)"));

        output.WriteLine($"== query across the failure ({faults.Killed ?? "no node"} still down): PM2.5 with AQI 100..500, 2020-09-01 to 2020-09-07");
        var answer = await CountQueryAsync(client, output, ct).ConfigureAwait(false);
        output.WriteLine($"   {answer:N0} records (expected {expectedAnswer:N0} from the generator)");
        if (faults.Killed is { } killed)
        {
            output.WriteLine($"== restarting {killed}");
            await cluster.Manager.RestartAsync(killed, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        }
        output.WriteLine("== checking every record: the cluster's records, read back, against the generator's, one by one");
        var stored = new RecordTally();
        await foreach (var record in client.QueryAsync(new QueryFilter(), ct).ConfigureAwait(false)) stored.Add(record);
        var (lost, duplicated, phantom) = generated.Compare(stored);
        foreach (var (parameter, expected) in written.Counts.OrderBy(kv => kv.Key))
        {
            var have = stored.CountOf(parameter);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {parameter.Name(),-6} {(userData is null ? "generated" : "in files")} {expected,9:N0}  stored {have,9:N0}  {(have == expected ? "ok" : "MISMATCH")}"));
        }
        var ok = lost == 0 && duplicated == 0 && phantom == 0 && answer == expectedAnswer && result.Records == written.Records;
        DemoPayloads.Outcome? payloads = null;
        if (fileMegabytes > 0) payloads = await new DemoPayloads(cluster, client, directory, output).RunAsync(fileMegabytes, ct).ConfigureAwait(false);
        PrintSummary(output, written.Records, result, faults, (lost, duplicated, phantom), answer == expectedAnswer, total.Elapsed, userData is null ? "generated" : "in the files", payloads);
        ok &= payloads?.Ok ?? true;
        output.WriteLine("== stopping the cluster");
        return ok ? 0 : 1;
    }

    private static async Task<long> CountQueryAsync(BraidClient client, TextWriter output, CancellationToken ct)
    {
        var filter = new QueryFilter { From = "2020-09-01", To = "2020-09-07", AqiMin = 100, AqiMax = 500 };
        filter.Parameters.Add("PM2.5");
        long count = 0;
        await foreach (var record in client.QueryAsync(filter, ct).ConfigureAwait(false))
        {
            if (count++ < 3) output.WriteLine("   " + AirQualityCsv.Format(record));
        }
        return count;
    }

    private static void PrintSummary(TextWriter output, long generated, LoadResult result, FaultPlan faults, (long Lost, long Duplicated, long Phantom) check, bool queryOk, TimeSpan elapsed, string source,
        DemoPayloads.Outcome? payloads)
    {
        output.WriteLine("== summary");
        void Row(string name, string value) => output.WriteLine($"   {name,-34} {value}");
        Row($"records {source}", generated.ToString("N0", CultureInfo.InvariantCulture));
        Row("records acknowledged", result.Records.ToString("N0", CultureInfo.InvariantCulture));
        Row("load throughput", string.Create(CultureInfo.InvariantCulture, $"{result.RecordsPerSecond:N0} records/s"));
        Row("faults", faults.Description);
        Row("retries (batches resent)", result.Retries.ToString(CultureInfo.InvariantCulture));
        Row("duplicates answered (not stored)", result.Duplicates.ToString(CultureInfo.InvariantCulture));
        Row("failovers seen by the client", result.Failovers.ToString(CultureInfo.InvariantCulture));
        Row("longest time without progress", string.Create(CultureInfo.InvariantCulture, $"{result.LongestStall.TotalSeconds:F1} s"));
        Row("query across the failure", queryOk ? "exact" : "WRONG");
        Row("lost", check.Lost.ToString(CultureInfo.InvariantCulture));
        Row("duplicated", check.Duplicated.ToString(CultureInfo.InvariantCulture));
        Row($"phantom (stored, not {source})", check.Phantom.ToString(CultureInfo.InvariantCulture));
        if (payloads is { } act2)
        {
            Row("act 2 faults", act2.Faults.Length > 0 ? act2.Faults : "-");
            Row("binary records acknowledged", act2.Records.ToString(CultureInfo.InvariantCulture));
            Row("seen live by braid tail --follow", string.Create(CultureInfo.InvariantCulture, $"{act2.Tailed} ({act2.TailDuplicates} twice, {act2.Mismatched} differing)"));
            Row("file put and got back", string.Create(CultureInfo.InvariantCulture, $"{act2.FileBytes / 1e6:F0} MB, {(act2.FileExact ? "identical" : "DIFFERENT")} (put {act2.PutMBps:F0} MB/s, get {act2.GetMBps:F0} MB/s)"));
        }
        Row("demo time", string.Create(CultureInfo.InvariantCulture, $"{elapsed.TotalSeconds:F0} s"));
    }

    private static string Counts(IReadOnlyDictionary<AirParameter, long> counts) =>
        string.Join(", ", counts.OrderBy(kv => kv.Key).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key.Name()} {kv.Value:N0}")));

    /// <summary>Kills the leader of partition 0 at 30% of the load and freezes, at 55% for 4 s, a
    /// node whose loss together with the first keeps every partition a connected majority.</summary>
    private sealed class FaultPlan(BenchCluster cluster, BraidClient client, long total, TextWriter output)
    {
        public string? Killed { get; private set; }
        public uint KilledPartition { get; private set; }
        public string? Paused { get; private set; }
        public string Description => $"kill -9 {Killed ?? "-"} (leader of partition {KilledPartition}), SIGSTOP {Paused ?? "-"} for 4 s";

        public async Task RunAsync(Task loading, CancellationToken ct)
        {
            await WaitForAsync(0.30, loading, ct).ConfigureAwait(false);
            if (loading.IsCompleted) return;
            // A leader whose loss still leaves a node that can be frozen without any partition
            // losing its connected majority (on mini2, killing B or E leaves no such node).
            var leaders = await LeadersAsync(ct).ConfigureAwait(false);
            foreach (var (partition, leader) in leaders.OrderBy(kv => kv.Key))
            {
                if (!pauseVictims.ContainsKey(leader)) continue;
                (Killed, KilledPartition) = (leader, partition);
                break;
            }
            if (Killed is null) return;
            cluster.Manager.Kill(Killed);
            output.WriteLine($"   !! killed {Killed} (leader of partition {KilledPartition}) with SIGKILL");
            await WaitForAsync(0.55, loading, ct).ConfigureAwait(false);
            if (loading.IsCompleted) return;
            Paused = pauseVictims[Killed];
            cluster.Manager.Pause(Paused);
            output.WriteLine($"   !! froze {Paused} with SIGSTOP");
            await Task.Delay(TimeSpan.FromSeconds(4), ct).ConfigureAwait(false);
            cluster.Manager.Resume(Paused);
            output.WriteLine($"   !! resumed {Paused} with SIGCONT");
        }

        private async Task WaitForAsync(double fraction, Task loading, CancellationToken ct)
        {
            while (!loading.IsCompleted && client.Stats.AckedRecords < total * fraction) await Task.Delay(50, ct).ConfigureAwait(false);
        }

        /// <summary>Partition leaders as the nodes see themselves (one Describe per node, in parallel).</summary>
        private async Task<Dictionary<uint, string>> LeadersAsync(CancellationToken ct)
        {
            var replies = await Task.WhenAll(cluster.State.Nodes.Select(async node =>
            {
                try
                {
                    return await client.Stream(node.Address).DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct).ConfigureAwait(false);
                }
                catch (Grpc.Core.RpcException)
                {
                    return null;
                }
            })).ConfigureAwait(false);
            var leaders = new Dictionary<uint, string>();
            foreach (var reply in replies.OfType<DescribeReply>())
                foreach (var p in reply.Partitions.Where(p => p.LocalRole == "Leader"))
                    leaders[p.Partition] = reply.NodeId;
            return leaders;
        }

        /// <summary>For each node that may be killed, a node that may then be frozen too, computed once before the load.</summary>
        private readonly Dictionary<string, string> pauseVictims = PauseVictims();

        private static Dictionary<string, string> PauseVictims()
        {
            var topology = TopologyFiles.Load("mini2");
            var placement = PlacementPlanner.Plan(topology, Partitions, 3);
            var victims = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var killed in topology.NodeIds)
            {
                var paused = topology.NodeIds.Where(id => id != killed).FirstOrDefault(id => placement.Partitions.All(p => ConnectedMajority(topology, p.Replicas, [killed, id])));
                if (paused is not null) victims[killed] = paused;
            }
            return victims;
        }

        private static bool ConnectedMajority(Core.Topology.ClusterTopology topology, IReadOnlyList<string> replicas, HashSet<string> down)
        {
            foreach (var start in replicas.Where(r => !down.Contains(r)))
            {
                var seen = new HashSet<string> { start };
                var queue = new Queue<string>([start]);
                while (queue.TryDequeue(out var at))
                    foreach (var next in topology.NeighboursOf(at))
                        if (!down.Contains(next) && seen.Add(next)) queue.Enqueue(next);
                if (replicas.Count(seen.Contains) >= replicas.Count / 2 + 1) return true;
            }
            return false;
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Cli.Membership;
using Braid.Client;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Cli.Bench;

/// <summary>
/// Re-replication after a node is lost for good (issue 12): for each data size, a fresh cluster
/// (mini2 by default: 12 partitions, R=3, --dead-after) is loaded through the client's ingest
/// path; then one node is killed with SIGKILL and its data folder deleted (node.log kept). Figures:
/// the time from the kill to the node declared dead, the time from the kill to every group back in
/// place at 3 voters without it, what the node held (records of its groups, bytes of its replicas
/// on its disk), and the rate (bytes held over the time from declared dead to all in place). With
/// a steady-ingest run, a second producer ingests before the kill (the baseline records/s) and on
/// through the re-replication (records/s from declared dead to all in place). Every run ends with
/// the count: the stored total must equal every record loaded and acknowledged.
/// </summary>
internal static class RereplicateBench
{
    private const int Partitions = 12;
    private const int Replicas = 3;
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    /// <param name="Sizes">Records loaded before the kill, one fresh cluster each.</param>
    /// <param name="IngestRecords">Records loaded before the steady-ingest run (0: no such run).</param>
    /// <param name="IngestSeconds">Seconds of steady ingest before the kill (the baseline).</param>
    /// <param name="IngestRate">Records/s of the steady ingest (0: as fast as the client's window allows).</param>
    public sealed record Settings(string Topology, IReadOnlyList<long> Sizes, string DeadAfter, string Node, int BatchRecords,
        long IngestRecords, int IngestSeconds, int IngestRate, TimeSpan Timeout, string Directory, int BasePort);

    public static async Task<Json.RereplicateBenchReport> RunAsync(Settings s, TextWriter output, CancellationToken ct)
    {
        var deadAfter = Commands.StreamCommands.ParseDuration(s.DeadAfter);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"re-replication on {s.Topology}: {Partitions} partitions, R={Replicas}, --dead-after {s.DeadAfter}; node {s.Node} killed (SIGKILL) and its data deleted{(s.Sizes.Count > 0 ? $" after loading {string.Join(", ", s.Sizes)} records (a fresh cluster each)" : "")}{(s.IngestRecords > 0 ? $"{(s.Sizes.Count > 0 ? "; then" : " after")} {s.IngestRecords} records and a steady ingest through the loss" : "")}"));
        var runs = new List<Json.RereplicateRunReport>();
        foreach (var size in s.Sizes)
            runs.Add((await OnceAsync(s, size, steady: false, output, ct).ConfigureAwait(false)).Run);
        Json.RereplicateIngestReport? ingest = null;
        if (s.IngestRecords > 0)
        {
            (var run, ingest) = await OnceAsync(s, s.IngestRecords, steady: true, output, ct).ConfigureAwait(false);
            runs.Add(run);
        }

        output.WriteLine();
        output.WriteLine("  records  steady  groups  records held  MB held   MB new  dead after  in place after   moving     MB/s  MB new/s  records/s  count");
        foreach (var r in runs)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Records,9}  {(r.SteadyIngest ? "yes" : "no"),-6} {r.GroupsHeld,7} {r.RecordsHeld,13} {r.BytesHeld / 1048576.0,8:F1} {r.BytesNewReplicas / 1048576.0,8:F1} {Fmt(r.DeclaredDeadSeconds, "F2"),9} s {Fmt(r.InPlaceSeconds, "F2"),13} s {Fmt(r.MovingSeconds, "F2"),6} s {Fmt(r.MegabytesPerSecond, "F1"),8} {Fmt(r.NewReplicasMegabytesPerSecond, "F1"),9} {Fmt(r.RecordsPerSecond, "F0"),10}  {(r.CountsOk ? "ok" : "MISMATCH")}"));
        if (ingest is not null)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"steady ingest: {ingest.BeforeRecordsPerSecond:F0} records/s over {ingest.BeforeSeconds:F1} s before the kill, {Fmt(ingest.DuringRecordsPerSecond, "F0")} records/s from declared dead to all in place ({ingest.DuringSeconds:F1} s): {Fmt(ingest.Ratio, "F2")}x; {ingest.KillToDeadRecordsPerSecond:F0} records/s from the kill to declared dead"));
        var ok = runs.All(r => r.CountsOk && r.InPlace);
        output.WriteLine(ok ? "every run back in place; counts exact" : "FAILED: " + string.Join("; ", runs.Where(r => !(r.CountsOk && r.InPlace)).Select(r => $"{r.Records} records: {(r.InPlace ? "" : "not in place ")}{(r.CountsOk ? "" : $"stored {r.RecordsStored} of {r.RecordsExpected}")}")));
        return new Json.RereplicateBenchReport(s.Topology, Partitions, Replicas, s.Node, deadAfter.TotalSeconds, s.BatchRecords, runs, ingest, ok);
    }

    private static string Fmt(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static async Task<(Json.RereplicateRunReport Run, Json.RereplicateIngestReport? Ingest)> OnceAsync(Settings s, long size, bool steady, TextWriter output, CancellationToken ct)
    {
        output.WriteLine($"-- {size} records{(steady ? ", steady ingest through the loss" : "")}");
        var (batches, bytes) = Batches(size, s.BatchRecords);
        var loaded = batches.Sum(b => (long)b.Records);
        await using var cluster = await BenchCluster.StartAsync(s.Topology, s.Directory, s.BasePort, TextWriter.Null, ct, partitions: Partitions, deadAfter: s.DeadAfter).ConfigureAwait(false);
        if (!cluster.State.Nodes.Any(n => n.Id == s.Node)) throw new CliException($"{s.Topology} has no node {s.Node}");
        var seeds = cluster.State.Nodes.Select(n => n.Address).ToList();
        var liveSeeds = cluster.State.Nodes.Where(n => n.Id != s.Node).Select(n => n.Address).ToList();
        await BenchLoad.WaitForLeadersAsync(seeds, cluster.Tls, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        var load = await BenchLoad.IngestAsync(seeds, batches, bytes, new BraidClientOptions { Seeds = [] }.InflightBatchesPerPartition, cluster.Tls, TextWriter.Null, ct).ConfigureAwait(false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  loaded {load.Records} records ({bytes / 1048576.0:F1} MB encoded) in {load.Elapsed.TotalSeconds:F1} s ({load.RecordsPerSecond:F0} records/s)"));

        // Before the kill: every group in place and the node's replicas caught up with their leaders,
        // so what it held is every record of its groups. Records per partition: the ingest session
        // sends batch b to partition b mod partitions (every batch was acknowledged).
        var before = await WaitCaughtUpAsync(cluster, s.Node, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
        var groupsHeld = before.Groups;
        var perPartition = new long[Partitions];
        for (var b = 0; b < batches.Count; b++) perPartition[IngestSession.KeyOf(b, Partitions).Partition] += batches[b].Records;

        // The second producer: steady ingest for the baseline, on through the loss.
        using var stopIngest = new CancellationTokenSource();
        var samples = new List<(long At, long Acked)>();
        BraidClient? steadyClient = null;
        Task<long>? steadyTask = null;
        Task? sampler = null;
        long kill;
        if (steady)
        {
            steadyClient = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, Tls = cluster.Tls }, ct).ConfigureAwait(false);
            var (more, _) = BenchLoad.Encode(2, 200_000, s.BatchRecords);
            var client = steadyClient;
            // Acknowledged records per partition, so that what the node held at the kill counts the steady ingest's too.
            void Acked(long batch) => Interlocked.Add(ref perPartition[IngestSession.KeyOf(batch, Partitions).Partition], more[(int)(batch % more.Count)].Records);
            steadyTask = Task.Run(() => SteadyIngestAsync(client, more, s.IngestRate, Acked, stopIngest.Token, ct), ct);
            sampler = Task.Run(async () =>
            {
                while (!stopIngest.IsCancellationRequested)
                {
                    lock (samples) samples.Add((Stopwatch.GetTimestamp(), client.Stats.AckedRecords));
                    await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
                }
            }, CancellationToken.None);
            await Task.Delay(TimeSpan.FromSeconds(s.IngestSeconds), ct).ConfigureAwait(false);
        }

        try
        {
            kill = Stopwatch.GetTimestamp();
            var victim = cluster.Manager.Kill(s.Node);
            var held = groupsHeld.Where(g => g != "meta").ToDictionary(g => g, g => Interlocked.Read(ref perPartition[int.Parse(g, CultureInfo.InvariantCulture)]));
            var recordsHeld = held.Values.Sum();
            var folders = GroupFolderBytes(victim.DataDirectory);
            var bytesHeld = groupsHeld.Sum(g => folders.GetValueOrDefault(g));
            DeleteData(victim.DataDirectory);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {s.Node} held {groupsHeld.Count} groups ({string.Join(" ", groupsHeld)}): {recordsHeld} records, {bytesHeld / 1048576.0:F1} MB on its disk; killed and its data deleted"));

            // Poll every node's Describe until the node is dead and every group is back at 3 voters without it.
            double? dead = null;
            double? inPlace = null;
            var groupTimes = new Dictionary<string, double>();
            MembershipReport last;
            while (true)
            {
                last = await MembersAsync(cluster, ct).ConfigureAwait(false);
                var at = Stopwatch.GetElapsedTime(kill).TotalSeconds;
                if (dead is null && last.Nodes.FirstOrDefault(n => n.Id == s.Node)?.State == "dead")
                {
                    dead = at;
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {at,6:F2} s  {s.Node} declared dead"));
                }
                foreach (var g in last.Groups.Where(g => groupsHeld.Contains(g.Group) && Moved(g, s.Node) && !groupTimes.ContainsKey(g.Group)))
                {
                    groupTimes[g.Group] = at;
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {at,6:F2} s  group {g.Group} in place: {string.Join(",", g.Voters)}"));
                }
                if (dead is not null && last.Groups.Count > 0 && last.Groups.All(g => Moved(g, s.Node)))
                {
                    inPlace = at;
                    break;
                }
                if (at > s.Timeout.TotalSeconds)
                {
                    output.WriteLine($"  not back in place {s.Timeout.TotalSeconds:F0} s after the kill: {(dead is null ? $"{s.Node} not declared dead; " : "")}{string.Join("; ", last.Moving)}");
                    break;
                }
                await Task.Delay(Poll, ct).ConfigureAwait(false);
            }
            var newBytes = 0L;
            var groupReports = new List<Json.RereplicateGroupReport>();
            foreach (var name in groupsHeld)
            {
                // The replicas the group gained: its voters now that were not before the kill.
                var g = last.Groups.FirstOrDefault(x => x.Group == name);
                var fresh = g is null ? [] : g.Voters.Where(v => !before.Voters.GetValueOrDefault(name, []).Contains(v)).ToList();
                long freshBytes = 0;
                foreach (var id in fresh)
                    if (cluster.State.Nodes.FirstOrDefault(n => n.Id == id) is { } node)
                        freshBytes += GroupFolderBytes(node.DataDirectory).GetValueOrDefault(name);
                newBytes += freshBytes;
                groupReports.Add(new Json.RereplicateGroupReport(name, fresh, name == "meta" ? 0 : held.GetValueOrDefault(name), folders.GetValueOrDefault(name), freshBytes,
                    groupTimes.TryGetValue(name, out var t) ? Math.Round(t, 3) : null));
            }
            var moving = inPlace is { } ip && dead is { } d ? ip - d : (double?)null;
            double? mbps = moving is > 0 ? bytesHeld / 1048576.0 / moving.Value : null;
            double? rps = moving is > 0 ? recordsHeld / moving.Value : null;
            double? newMbps = moving is > 0 ? newBytes / 1048576.0 / moving.Value : null;
            output.WriteLine(inPlace is null ? "  NOT back in place" : string.Create(CultureInfo.InvariantCulture,
                $"  declared dead {dead:F2} s, every group in place at 3 voters without {s.Node} {inPlace:F2} s after the kill: {moving:F2} s of moving, {Fmt(mbps, "F1")} MB/s of what it held, {Fmt(rps, "F0")} records/s; the new replicas now hold {newBytes / 1048576.0:F1} MB ({Fmt(newMbps, "F1")} MB/s)"));

            Json.RereplicateIngestReport? ingestReport = null;
            long steadySent = 0;
            if (steady)
            {
                if (inPlace is not null) await Task.Delay(1000, ct).ConfigureAwait(false); // a little of after, for the record
                await stopIngest.CancelAsync().ConfigureAwait(false);
                steadySent = await steadyTask!.ConfigureAwait(false);
                await sampler!.ConfigureAwait(false);
                var acked = steadyClient!.Stats.AckedRecords;
                long AckedAt(long at)
                {
                    lock (samples)
                    {
                        var before = samples.LastOrDefault(x => x.At <= at);
                        return before.At == 0 ? 0 : before.Acked;
                    }
                }
                long At(double secondsAfterKill) => kill + (long)(secondsAfterKill * Stopwatch.Frequency);
                var baseStart = At(-s.IngestSeconds);
                var beforeRate = (AckedAt(kill) - AckedAt(baseStart)) / (double)s.IngestSeconds;
                double? duringRate = moving is > 0 ? (AckedAt(At(inPlace!.Value)) - AckedAt(At(dead!.Value))) / moving.Value : null;
                var toDead = dead ?? Stopwatch.GetElapsedTime(kill).TotalSeconds;
                var killToDeadRate = (AckedAt(At(toDead)) - AckedAt(kill)) / Math.Max(1e-9, toDead);
                ingestReport = new Json.RereplicateIngestReport(s.IngestRate, s.IngestSeconds, Math.Round(beforeRate, 1), Math.Round(killToDeadRate, 1),
                    moving is null ? 0 : Math.Round(moving.Value, 3), duringRate is { } dr ? Math.Round(dr, 1) : null,
                    duringRate is { } r2 && beforeRate > 0 ? Math.Round(r2 / beforeRate, 3) : null, steadySent, acked,
                    steadyClient.Stats.Retries, steadyClient.Stats.Failovers);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  steady ingest: {beforeRate:F0} records/s before the kill, {killToDeadRate:F0} from the kill to declared dead, {Fmt(duringRate, "F0")} while moving; sent {steadySent}, acknowledged {acked}"));
            }

            var expected = loaded + steadySent;
            using var reader = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = liveSeeds, Tls = cluster.Tls }, ct).ConfigureAwait(false);
            var stored = (long)(await reader.AggregateAsync(new QueryFilter(), ct).ConfigureAwait(false)).Records;
            var countsOk = stored == expected && (steadyClient is null || steadyClient.Stats.AckedRecords == steadySent);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  count: loaded and acknowledged {expected}, stored {stored}: {(countsOk ? "ok" : "MISMATCH")}"));
            return (new Json.RereplicateRunReport(loaded, bytes, Math.Round(load.Elapsed.TotalSeconds, 3), Math.Round(load.RecordsPerSecond, 1), steady,
                groupsHeld.Count, recordsHeld, bytesHeld, newBytes,
                dead is { } dd ? Math.Round(dd, 3) : null, inPlace is { } ii ? Math.Round(ii, 3) : null, moving is { } mm ? Math.Round(mm, 3) : null,
                mbps is { } m1 ? Math.Round(m1, 2) : null, newMbps is { } m2 ? Math.Round(m2, 2) : null, rps is { } r1 ? Math.Round(r1, 1) : null, inPlace is not null,
                groupReports, expected, stored, countsOk), ingestReport);
        }
        finally
        {
            if (!stopIngest.IsCancellationRequested) await stopIngest.CancelAsync().ConfigureAwait(false);
            if (steadyTask is not null) try { await steadyTask.ConfigureAwait(false); } catch (Exception) when (ct.IsCancellationRequested || steadyTask.IsFaulted) { }
            if (sampler is not null) await sampler.ConfigureAwait(false);
            steadyClient?.Dispose();
        }
    }

    /// <summary>The generated data set in batches of <paramref name="batchRecords"/>; above its
    /// 1,167,525 records its full batches again (the same payloads, new sequence numbers), until <paramref name="size"/>.</summary>
    private static (List<(byte[] Payload, int Records)> Batches, long PayloadBytes) Batches(long size, int batchRecords)
    {
        var (encoded, bytes) = BenchLoad.Encode(1, Math.Min(size, Braid.Data.AirQualityGenerator.FullRecordCount), batchRecords);
        if (size <= Braid.Data.AirQualityGenerator.FullRecordCount) return (encoded, bytes);
        var cycle = encoded.Where(b => b.Records == batchRecords).ToList();
        if (cycle.Count == 0) cycle = encoded;
        var batches = new List<(byte[] Payload, int Records)>();
        long records = 0;
        bytes = 0;
        for (var i = 0; records < size; i++)
        {
            var batch = cycle[i % cycle.Count];
            batches.Add(batch);
            records += batch.Records;
            bytes += batch.Payload.Length;
        }
        return (batches, bytes);
    }

    /// <summary>The group is where it should be: in place, 3 voters, none of them the lost node.</summary>
    private static bool Moved(MemberGroup g, string node) => g.InPlace && g.Voters.Count == Replicas && !g.Voters.Contains(node);

    /// <summary>Before the kill: the groups the node holds, each group's voters.</summary>
    private sealed record Holdings(List<string> Groups, Dictionary<string, List<string>> Voters);

    /// <summary>Sends batches one after another (cycling through <paramref name="batches"/>) through
    /// producer 2 until <paramref name="stop"/>, then waits for every acknowledgement; returns the records sent.</summary>
    private static async Task<long> SteadyIngestAsync(BraidClient client, List<(byte[] Payload, int Records)> batches, int recordsPerSecond, Action<long> acked,
        CancellationToken stop, CancellationToken ct)
    {
        long sent = 0;
        var clock = Stopwatch.StartNew();
        await using var session = new IngestSession(client, producer: 2, ct: ct, onAcked: acked);
        for (var b = 0; !stop.IsCancellationRequested; b++)
        {
            var batch = batches[b % batches.Count];
            if (recordsPerSecond > 0)
            {
                var due = TimeSpan.FromSeconds(sent / (double)recordsPerSecond);
                if (clock.Elapsed < due)
                {
                    try { await Task.Delay(due - clock.Elapsed, stop).ConfigureAwait(false); }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
                }
            }
            await session.SendAsync(b, batch.Payload, batch.Records, ct).ConfigureAwait(false);
            sent += batch.Records;
        }
        await session.CompleteAsync(ct).ConfigureAwait(false);
        return sent;
    }

    /// <summary>Waits until every group is in place and each of <paramref name="node"/>'s replicas has
    /// applied its leader's commit index.</summary>
    private static async Task<Holdings> WaitCaughtUpAsync(BenchCluster cluster, string node, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var answers = await DescribeAllAsync(cluster, ct).ConfigureAwait(false);
            var view = MembershipView.Build(answers);
            var mine = answers.GetValueOrDefault(node);
            var ready = mine is not null && view.Groups.Count > 0 && view.GroupsInPlace == view.Groups.Count;
            var groups = view.Groups.Where(g => g.Target.Contains(node)).Select(g => g.Group).ToList();
            foreach (var name in groups)
            {
                var leader = Local(answers, view.Groups.Single(g => g.Group == name).Leader, name);
                var own = Local(answers, node, name);
                if (leader is null || own is null || own.AppliedIndex < leader.CommitIndex) ready = false;
            }
            if (ready) return new Holdings(groups, view.Groups.ToDictionary(g => g.Group, g => g.Voters.ToList()));
            if (clock.Elapsed > timeout) throw new CliException($"{node}'s replicas not caught up {timeout.TotalSeconds:F0} s after the load");
            await Task.Delay(Poll, ct).ConfigureAwait(false);
        }
    }

    /// <summary>A node's own description of its replica of a group ("meta" or a default-stream partition), or null.</summary>
    private static PartitionDescription? Local(Dictionary<string, DescribeReply?> answers, string? node, string group)
    {
        if (node is null || answers.GetValueOrDefault(node) is not { } reply) return null;
        if (group == "meta") return reply.Metadata is { LocalRole.Length: > 0 } m ? m : null;
        var p = uint.Parse(group, CultureInfo.InvariantCulture);
        return reply.Streams.FirstOrDefault(st => st.Id == 0)?.Partitions.FirstOrDefault(x => x.Partition == p) is { LocalRole.Length: > 0 } d ? d : null;
    }

    private static async Task<MembershipReport> MembersAsync(BenchCluster cluster, CancellationToken ct) =>
        MembershipView.Build(await DescribeAllAsync(cluster, ct).ConfigureAwait(false));

    /// <summary>Every node's Describe (null when it did not answer within 3 s).</summary>
    private static async Task<Dictionary<string, DescribeReply?>> DescribeAllAsync(BenchCluster cluster, CancellationToken ct)
    {
        var answers = await Task.WhenAll(cluster.State.Nodes.Select(async n =>
        {
            try
            {
                var reply = await new Protocol.V1.Stream.StreamClient(cluster.Clients.Channel(n.Address))
                    .DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: ct).ResponseAsync.ConfigureAwait(false);
                return (n.Id, Reply: (DescribeReply?)reply);
            }
            catch (RpcException)
            {
                return (n.Id, Reply: (DescribeReply?)null);
            }
        })).ConfigureAwait(false);
        return answers.ToDictionary(a => a.Id, a => a.Reply);
    }

    /// <summary>Bytes of each group's folder under a node's data folder, by group name ("meta", "0".."11").</summary>
    private static Dictionary<string, long> GroupFolderBytes(string dataDirectory)
    {
        var result = new Dictionary<string, long>();
        var root = Path.Combine(dataDirectory, "partitions");
        if (!Directory.Exists(root)) return result;
        foreach (var folder in Directory.EnumerateDirectories(root))
        {
            var name = Path.GetFileName(folder);
            var group = name == "meta" ? "meta" : int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p.ToString(CultureInfo.InvariantCulture) : null;
            if (group is null) continue;
            try
            {
                result[group] = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            }
            catch (IOException)
            {
                // A file went while we counted (a segment compacted): count again.
                result[group] = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => File.Exists(f) ? new FileInfo(f).Length : 0);
            }
        }
        return result;
    }

    /// <summary>Everything in a node's data folder but its node.log: the node is lost for good.</summary>
    private static void DeleteData(string dataDirectory)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(dataDirectory).Where(e => Path.GetFileName(e) != "node.log").ToList())
            if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);
    }
}

using System.Globalization;
using Braid.Bench.Nats;

namespace Braid.Cli.Bench;

/// <summary>
/// <c>braid bench compare</c> (issue 14, item 7): the same workloads against a fresh three-node
/// Braid cluster (mesh3, R=3) and a fresh three-server NATS JetStream cluster (one stream, R=3,
/// file storage), alternating which goes first, in one invocation; prints each run, the medians
/// and the ratio Braid / NATS per row, and what an acknowledgement means on each side.
/// </summary>
internal static class CompareBench
{
    public sealed record Settings(string Directory, int BasePort, int Rounds, long? Records, int Seed, IReadOnlyList<string> Rows,
        int SingleRecords, int RecordBytes, int Partitions, int InflightPerPartition, int? NatsInflight, bool Tls, bool Install, int Passes = 1, int? WarmupMessages = null,
        int ProducerInflight = DefaultProducerInflight, int ProducerPartitions = DefaultProducerPartitions, int WarmupPasses = 0)
    {
        /// <summary>NATS gets as many unacknowledged messages in flight as Braid's client allows in all partitions together.</summary>
        public int NatsWindow => NatsInflight ?? Partitions * InflightPerPartition;

        /// <summary>Unacknowledged records in flight in a producer row, on both systems alike.</summary>
        public int WindowOf(CompareRow row) => row.ThroughProducer ? ProducerInflight : NatsWindow;
    }

    /// <summary>Records produced and not yet acknowledged at a time in the producer row, on each system
    /// (the figure `braid bench produce` uses): a producer's caller does not wait for each record.</summary>
    public const int DefaultProducerInflight = 1000;

    /// <summary>Partitions of the producer row's raw stream: one led by each node of mesh3, as
    /// NATS's side is one stream (one Raft group) led by one server.</summary>
    public const int DefaultProducerPartitions = 3;

    /// <summary>The raw stream the producer row writes.</summary>
    private const string ProducerStream = "bench";

    public const string Topology = "mesh3";
    private const string StreamName = "BENCH";
    private const string Subject = "bench.records";
    private const double Target = 1.0;

    /// <summary>Runs every row on both systems, <see cref="Settings.Rounds"/> times; prints each run and the summary, and returns the figures.</summary>
    public static async Task<Json.CompareBenchReport> RunAsync(Settings s, TextWriter output, CancellationToken ct)
    {
        // Ctrl-C and SIGTERM cancel ct (Program.cs), so every cluster, NATS servers included, is
        // taken down on the way out.
        try
        {
            return await CompareAsync(s, output, ct).ConfigureAwait(false);
        }
        catch (NatsBenchException) when (ct.IsCancellationRequested)
        {
            // Ctrl-C reaches the servers too (same process group): their exit is not the problem.
            throw new OperationCanceledException(ct);
        }
        catch (NatsBenchException e)
        {
            throw new Cluster.CliException("bench compare: " + e.Message);
        }
    }

    private static async Task<Json.CompareBenchReport> CompareAsync(Settings s, TextWriter output, CancellationToken ct)
    {
        var binary = await NatsServerBinary.FindOrInstallAsync(s.Install, output, ct).ConfigureAwait(false);
        var version = await NatsServerBinary.VersionAsync(binary, ct).ConfigureAwait(false);
        var rows = s.Rows.Select(r => BuildRow(s, r)).ToList();
        output.WriteLine($"braid bench compare: {s.Rounds} round(s), each row on a fresh cluster per system per round, alternating which system goes first");
        output.WriteLine($"  braid: {Topology} (3 nodes), {s.Partitions} partitions, R=3, {(s.Tls ? "mutual TLS" : "plaintext (--insecure)")}, " +
                         $"one IngestSession, window {s.InflightPerPartition} batches per partition ({s.Partitions * s.InflightPerPartition} in all)");
        output.WriteLine($"  nats:  {version}, 3 servers on loopback, one stream, R=3, file storage, plaintext, no Nats-Msg-Id dedup; " +
                         $"{s.NatsWindow} async publishes in flight on one connection to the stream leader's server");
        if (rows.Any(r => r.ThroughProducer))
        {
            output.WriteLine($"  one at a time: {s.ProducerInflight} records in flight on each system, each call awaiting its own acknowledgement; braid: BraidProducer.ProduceAsync into a raw stream of " +
                             $"{s.ProducerPartitions} partitions, R=3 (the client batches what waits, linger {new Braid.Client.ProducerOptions().Linger.TotalMilliseconds:F0} ms, as Kafka's producer does); nats: one js.PublishAsync per record (one message each)");
        }
        foreach (var line in CompareReport.DurabilityLines(version)) output.WriteLine(line);
        foreach (var row in rows)
        {
            var w = row.Workload;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  row \"{w.Name}\": {w.Records:N0} records in {w.Messages.Count:N0} messages, {w.PayloadBytes / 1048576.0:F1} MB; first {w.WarmupMessages:N0} messages untimed (warm-up)"));
        }

        var report = new CompareReport();
        var runs = new List<Json.CompareRunReport>();
        var ok = true;
        for (var round = 1; round <= s.Rounds; round++)
        {
            foreach (var row in rows)
            {
                // Alternate which system goes first, so a machine that drifts over the run favours neither.
                var systems = round % 2 == 1 ? new[] { CompareReport.Braid, CompareReport.Nats } : [CompareReport.Nats, CompareReport.Braid];
                foreach (var system in systems)
                {
                    var (figures, verified, note) = system == CompareReport.Braid
                        ? await RunBraidAsync(s, row, ct).ConfigureAwait(false)
                        : await RunNatsAsync(s, binary, row.Workload, s.WindowOf(row), ct).ConfigureAwait(false);
                    ok &= verified;
                    report.Add(row.Workload.Name, system, figures.RecordsPerSecond);
                    runs.Add(new Json.CompareRunReport(round, row.Workload.Name, system, figures.Records, figures.Messages, figures.PayloadBytes,
                        Math.Round(figures.Elapsed.TotalSeconds, 3), Math.Round(figures.RecordsPerSecond, 1), Math.Round(figures.MegabytesPerSecond, 2), verified));
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {round}/{s.Rounds}  {row.Workload.Name,-32} {system,-5} {figures.RecordsPerSecond,10:N0} rec/s {figures.MegabytesPerSecond,7:F1} MB/s  {figures.Elapsed.TotalSeconds,6:F2} s  {note}"));
                }
            }
        }
        output.WriteLine("summary (medians of records acknowledged per second):");
        foreach (var line in report.SummaryLines(Target)) output.WriteLine(line);
        output.WriteLine(ok ? "counts: every run stored exactly what was sent" : "counts: MISMATCH (see above)");
        return Report(s, version, rows.Select(r => r.Workload).ToList(), report, runs, ok);
    }

    /// <summary>The figures as data, for --json: each row's runs per system, medians and ratio (null when there is none), and every run.</summary>
    internal static Json.CompareBenchReport Report(Settings s, string natsVersion, IReadOnlyList<CompareWorkload> rows, CompareReport report,
        IReadOnlyList<Json.CompareRunReport> runs, bool ok)
    {
        var rowReports = rows.Select(w =>
        {
            var braid = report.Runs(w.Name, CompareReport.Braid).Select(v => Math.Round(v, 1)).ToList();
            var nats = report.Runs(w.Name, CompareReport.Nats).Select(v => Math.Round(v, 1)).ToList();
            var ratio = report.Ratio(w.Name);
            return new Json.CompareRowReport(w.Name, w.Records, w.Messages.Count, w.PayloadBytes, w.WarmupMessages, braid, nats,
                Math.Round(CompareReport.Median(braid), 1), Math.Round(CompareReport.Median(nats), 1), double.IsFinite(ratio) ? Math.Round(ratio, 3) : null);
        }).ToList();
        return new Json.CompareBenchReport(Topology, s.Rounds, s.Partitions, s.InflightPerPartition, s.NatsWindow, s.ProducerInflight, s.ProducerPartitions, s.Tls, s.Passes, s.WarmupPasses, natsVersion,
            rowReports, runs, Target, ok);
    }

    /// <summary>The row's messages sent <see cref="Settings.WarmupPasses"/> times untimed, then
    /// <see cref="Settings.Passes"/> times timed (the steady state rather than the warm-up of fresh
    /// processes: Braid's JIT compiles for the first seconds of a run, nats-server is compiled
    /// ahead), or with the warm-up given in messages.</summary>
    internal static CompareRow BuildRow(Settings s, string row)
    {
        var one = BuildOnePass(s, row);
        var sends = Math.Max(1, s.Passes) + Math.Max(0, s.WarmupPasses);
        if (sends <= 1 && s.WarmupMessages is null) return one;
        var messages = Enumerable.Repeat(one.Workload.Messages, sends).SelectMany(m => m).ToList();
        var warmup = Math.Clamp(s.WarmupMessages ?? (s.WarmupPasses > 0 ? s.WarmupPasses * one.Workload.Messages.Count : CompareWorkload.DefaultWarmup(messages.Count)),
            0, messages.Count - 1);
        var counts = one.ExpectedCounts.ToDictionary(kv => kv.Key, kv => kv.Value * sends);
        var name = s.Passes > 1 ? $"{one.Workload.Name} x{s.Passes}" : one.Workload.Name;
        return new CompareRow(new CompareWorkload(name, messages, warmup), counts, one.ThroughProducer);
    }

    private static CompareRow BuildOnePass(Settings s, string row) =>
        row is "single" or "unbatched"
            ? CompareWorkloads.SingleRecords(s.Seed, s.SingleRecords, s.RecordBytes, throughProducer: row == "single")
            : int.TryParse(row, NumberStyles.None, CultureInfo.InvariantCulture, out var batch) && batch is >= 1 and <= 20_000
                ? CompareWorkloads.DataSet(s.Seed, s.Records, batch)
                : throw new Cluster.CliException($"--rows: '{row}' is neither 'single', 'unbatched' nor a number of records per batch (1-20000)");

    /// <summary>One run of a row on a fresh Braid cluster: pre-built batches through an
    /// <c>IngestSession</c>, or the producer row through <see cref="Braid.Client.BraidProducer"/>.</summary>
    private static async Task<(RunFigures Figures, bool Ok, string Note)> RunBraidAsync(Settings s, CompareRow row, CancellationToken ct)
    {
        await using var cluster = await BenchCluster.StartAsync(Topology, Path.Combine(s.Directory, "braid"), s.BasePort, TextWriter.Null, ct,
            partitions: s.Partitions, insecure: !s.Tls).ConfigureAwait(false);
        var seeds = cluster.State.Nodes.Select(n => n.Address).ToList();
        await BenchLoad.WaitForLeadersAsync(seeds, cluster.Tls, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        return row.ThroughProducer
            ? await RunBraidProducerAsync(s, seeds, cluster.Tls, row.Workload, ct).ConfigureAwait(false)
            : await RunBraidIngestAsync(s, seeds, cluster.Tls, row, ct).ConfigureAwait(false);
    }

    private static async Task<(RunFigures Figures, bool Ok, string Note)> RunBraidIngestAsync(Settings s, List<string> seeds, Braid.Client.Security.ClientTls? tls,
        CompareRow row, CancellationToken ct)
    {
        var w = row.Workload;
        var figures = await BenchLoad.IngestAsync(seeds, w.Messages, w.PayloadBytes, s.InflightPerPartition, tls, TextWriter.Null, ct, w.WarmupMessages).ConfigureAwait(false);
        var counts = new StringWriter(CultureInfo.InvariantCulture);
        var ok = await BenchLoad.VerifyCountsAsync(seeds, tls, row.ExpectedCounts, counts, ct).ConfigureAwait(false);
        var note = string.Create(CultureInfo.InvariantCulture, $"retries {figures.Retries}, duplicates {figures.Duplicates}; counts {(ok ? "ok" : "MISMATCH\n" + counts)}");
        return (new RunFigures(figures.Records, figures.Batches, figures.PayloadBytes, figures.Elapsed), ok, note);
    }

    /// <summary>
    /// The producer row on Braid: every message is one record's value, produced through
    /// <see cref="Braid.Client.BraidProducer"/> into a raw stream (key empty: round robin over the
    /// partitions), <see cref="Settings.ProducerInflight"/> unacknowledged at a time; then the
    /// stream is read back and must hold each value exactly as often as it was sent.
    /// </summary>
    private static async Task<(RunFigures Figures, bool Ok, string Note)> RunBraidProducerAsync(Settings s, List<string> seeds, Braid.Client.Security.ClientTls? tls,
        CompareWorkload w, CancellationToken ct)
    {
        using var client = await Braid.Client.BraidClient.ConnectAsync(new Braid.Client.BraidClientOptions { Seeds = seeds, Tls = tls }, ct).ConfigureAwait(false);
        await client.CreateStreamAsync(ProducerStream, "raw", (uint)s.ProducerPartitions, 3, 0, ct).ConfigureAwait(false);
        TimeSpan elapsed;
        await using (var producer = await Braid.Client.BraidProducer.CreateAsync(client, ProducerStream, new Braid.Client.ProducerOptions(), ct).ConfigureAwait(false))
        {
            await ProduceAsync(producer, w.Messages, 0, w.WarmupMessages, s.ProducerInflight, ct).ConfigureAwait(false);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await ProduceAsync(producer, w.Messages, w.WarmupMessages, w.Messages.Count, s.ProducerInflight, ct).ConfigureAwait(false);
            elapsed = clock.Elapsed;
        }
        var (stored, differing) = await ReadBackAsync(client, w.Messages, ct).ConfigureAwait(false);
        var ok = stored == w.Messages.Count && differing == 0;
        var figures = new RunFigures(w.TimedRecords, w.Messages.Count - w.WarmupMessages, w.TimedBytes, elapsed);
        return (figures, ok, string.Create(CultureInfo.InvariantCulture,
            $"stream holds {stored:N0} records: {(ok ? "ok, each value as often as sent" : $"MISMATCH (sent {w.Messages.Count:N0}, {differing:N0} values lost, duplicated or changed)")}"));
    }

    /// <summary>Produces messages [<paramref name="from"/>, <paramref name="to"/>) one call each, at most
    /// <paramref name="window"/> unacknowledged; throws the first failure.</summary>
    private static async Task ProduceAsync(Braid.Client.BraidProducer producer, List<(byte[] Payload, int Records)> messages, int from, int to, int window, CancellationToken ct)
    {
        using var slots = new SemaphoreSlim(window);
        var calls = new List<Task>(Math.Max(0, to - from));
        for (var i = from; i < to; i++)
        {
            await slots.WaitAsync(ct).ConfigureAwait(false);
            var call = producer.ProduceAsync(ReadOnlyMemory<byte>.Empty, messages[i].Payload, null, ct);
            _ = call.ContinueWith(static (_, state) => ((SemaphoreSlim)state!).Release(), slots, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            calls.Add(call);
        }
        await Task.WhenAll(calls).ConfigureAwait(false);
    }

    /// <summary>Reads the producer row's stream back: records stored, and how many values are not
    /// there exactly as often as they were sent (lost, duplicated or changed).</summary>
    private static async Task<(long Stored, long Differing)> ReadBackAsync(Braid.Client.BraidClient client, List<(byte[] Payload, int Records)> messages, CancellationToken ct)
    {
        var expected = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (payload, _) in messages)
        {
            var key = Convert.ToBase64String(payload);
            expected[key] = expected.GetValueOrDefault(key) + 1;
        }
        long stored = 0;
        await foreach (var chunk in client.ReadRawAsync(ProducerStream, ct: ct).ConfigureAwait(false))
            foreach (var record in chunk.Records)
            {
                stored++;
                var key = record.Value.ToBase64();
                expected[key] = expected.GetValueOrDefault(key) - 1;
            }
        return (stored, expected.Values.Sum(v => (long)Math.Abs(v)));
    }

    private static async Task<(RunFigures Figures, bool Ok, string Note)> RunNatsAsync(Settings s, string binary, CompareWorkload w, int window, CancellationToken ct)
    {
        await using var cluster = await NatsCluster.StartAsync(binary, Path.Combine(s.Directory, "nats"), ct).ConfigureAwait(false);
        var leaderUrl = await cluster.CreateStreamAsync(StreamName, Subject, replicas: 3, ct).ConfigureAwait(false);
        var figures = await NatsPublisher.PublishAsync(leaderUrl, Subject, w, window, ct).ConfigureAwait(false);
        var (messages, _) = await cluster.StreamStateAsync(StreamName, ct).ConfigureAwait(false);
        var ok = messages == (ulong)w.Messages.Count;
        return (figures, ok, string.Create(CultureInfo.InvariantCulture, $"stream holds {messages:N0} messages: {(ok ? "ok" : $"MISMATCH (sent {w.Messages.Count:N0})")}"));
    }
}

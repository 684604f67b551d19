using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Braid.Bench.Nats;
using Braid.Cli.Bench;
using Braid.Cli.Commands;
using Braid.Cli.Json;

namespace Braid.Cli.Tests.Bench;

/// <summary>
/// <c>--json</c> on every benchmark (docs/json.md): the cheap ones (bench log, bench fuzz) are run
/// for real through the braid executable with tiny parameters, their stdout parsed as one document
/// and their progress found on stderr; the ones that need a cluster or nats-server have their
/// report records serialized, so their field names are pinned.
/// </summary>
public sealed class BenchJsonTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "braid-bench-json-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    private static JsonElement Parse<T>(T report) => JsonDocument.Parse(CliJson.Serialize(report)).RootElement.Clone();

    private static string[] Keys(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();

    private sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    /// <summary>Runs the braid executable built next to the tests, with a timeout.</summary>
    private static async Task<Result> BraidAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "braid.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"braid {string.Join(' ', args)} did not finish within 2 minutes; stderr:\n{await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    public static TheoryData<string> JsonCommands()
    {
        var names = new TheoryData<string>();
        foreach (var c in BenchCommand.Create().Subcommands) names.Add("bench " + c.Name);
        foreach (var name in new[] { "sim", "status", "placement", "count", "stats", "put", "get" }) names.Add(name);
        return names;
    }

    private static Command Find(string name) => name.Split(' ') switch
    {
        ["bench", var sub] => BenchCommand.Create().Subcommands.Single(c => c.Name == sub),
        ["sim"] => SimCommand.Create(),
        ["status"] => StatusCommand.Create(),
        ["placement"] => PlacementCommand.Create(),
        ["count"] => QueryCommands.Count(),
        ["stats"] => QueryCommands.Stats(),
        ["put"] => FileCommands.Put(),
        ["get"] => FileCommands.Get(),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(JsonCommands))]
    public void Every_benchmark_and_report_command_takes_json(string command) =>
        Assert.Contains(Find(command).Options, o => o.Name == "--json");

    [Fact]
    public void Every_benchmark_is_listed()
    {
        Assert.Equal(["catchup", "compare", "failover", "files", "fuzz", "idle", "ingest", "log", "produce", "query", "rereplicate", "reroute", "rolling", "subscribe"],
            BenchCommand.Create().Subcommands.Select(c => c.Name).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Bench_log_json_prints_one_document_on_stdout_and_its_progress_on_stderr()
    {
        var run = await BraidAsync("bench", "log", "--json", "--batch-bytes", "16384", "--total-mib", "1", "--appenders", "4", "--dir", directory);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("log bench: 64 batches of 16384 B (1 MiB) per run", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("targets: log with 1 appender", run.Stderr, StringComparison.Ordinal);
        var root = JsonDocument.Parse(run.Stdout).RootElement; // throws unless stdout is exactly one document
        Assert.Equal(["benchmark", "batch_bytes", "batches", "bytes_per_run", "appenders", "runs", "target_single_appender_ratio", "target_group_commit_ratio"], Keys(root));
        Assert.Equal("log", root.GetProperty("benchmark").GetString());
        Assert.Equal(16384, root.GetProperty("batch_bytes").GetInt32());
        Assert.Equal(64, root.GetProperty("batches").GetInt32());
        Assert.Equal(1L << 20, root.GetProperty("bytes_per_run").GetInt64());
        Assert.Equal(4, root.GetProperty("appenders").GetInt32());
        var runs = root.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(["plain", "single_appender", "group_commit"], runs.Select(r => r.GetProperty("run").GetString()));
        Assert.Equal(["run", "description", "bytes", "fsyncs", "elapsed_seconds", "megabytes_per_second", "fsyncs_per_second", "batches_per_fsync", "ratio_to_plain"], Keys(runs[0]));
        Assert.All(runs, r =>
        {
            Assert.Equal(1L << 20, r.GetProperty("bytes").GetInt64());
            Assert.True(r.GetProperty("elapsed_seconds").GetDouble() > 0);
            Assert.True(r.GetProperty("megabytes_per_second").GetDouble() > 0);
            Assert.True(r.GetProperty("fsyncs").GetInt64() >= 1);
        });
        Assert.Equal(64, runs[0].GetProperty("fsyncs").GetInt64());
        Assert.Equal(1.0, runs[0].GetProperty("batches_per_fsync").GetDouble());
        Assert.Equal(1.0, runs[0].GetProperty("ratio_to_plain").GetDouble());
        Assert.Equal("log, 4 appenders, group commit", runs[2].GetProperty("description").GetString());
        Assert.Equal(0.8, root.GetProperty("target_single_appender_ratio").GetDouble());
    }

    [Fact]
    public async Task Bench_fuzz_json_counts_every_case_once()
    {
        var run = await BraidAsync("bench", "fuzz", "--json", "--target", "csv", "--cases", "400", "--seed", "3", "--out", directory);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("fuzz: no failures", run.Stderr, StringComparison.Ordinal);
        var root = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(["benchmark", "seed", "mode", "cases_per_target", "only_case", "targets", "failures"], Keys(root));
        Assert.Equal("fuzz", root.GetProperty("benchmark").GetString());
        Assert.Equal(3, root.GetProperty("seed").GetInt32());
        Assert.Equal("both", root.GetProperty("mode").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("only_case").ValueKind);
        Assert.Equal(0, root.GetProperty("failures").GetInt64());
        var target = Assert.Single(root.GetProperty("targets").EnumerateArray());
        Assert.Equal(["target", "description", "cases", "elapsed_seconds", "cases_per_second", "seeds", "mutated", "random", "accepted", "accepted_mutated",
            "accepted_random", "tail_cuts", "refused", "stopped_early", "failure_count", "failures"], Keys(target));
        Assert.Equal("csv", target.GetProperty("target").GetString());
        Assert.Equal(400, target.GetProperty("cases").GetInt64());
        Assert.Equal(300, target.GetProperty("mutated").GetInt64()); // mode both: 3 mutated to 1 random
        Assert.Equal(100, target.GetProperty("random").GetInt64());
        Assert.Equal(JsonValueKind.Null, target.GetProperty("tail_cuts").ValueKind);
        var refused = target.GetProperty("refused").EnumerateArray().ToList();
        Assert.All(refused, r => Assert.Equal(["reason", "count"], Keys(r)));
        Assert.Equal(target.GetProperty("accepted_mutated").GetInt64() + target.GetProperty("accepted_random").GetInt64(), target.GetProperty("accepted").GetInt64());
        Assert.Equal(400, target.GetProperty("accepted").GetInt64() + refused.Sum(r => r.GetProperty("count").GetInt64()) + target.GetProperty("failure_count").GetInt64());
        Assert.Equal(JsonValueKind.Null, target.GetProperty("stopped_early").ValueKind);
    }

    [Fact]
    public async Task Bench_fuzz_without_json_prints_text_on_stdout()
    {
        var run = await BraidAsync("bench", "fuzz", "--target", "csv", "--cases", "50", "--out", directory);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith("fuzz: seed 1, mode both, 50 cases per target", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("fuzz: no failures", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\"benchmark\"", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Produce_and_subscribe_documents_pin_their_field_names()
    {
        Assert.Equal(["benchmark", "records", "value_bytes", "calls_in_flight", "seconds", "records_per_second", "ack_p50_ms", "ack_p99_ms"],
            Keys(Parse(new ProduceBenchReport(100_000, 150, 1000, 2.5, 40_000, 3.1, 9.8))));
        Assert.Equal(["benchmark", "target_records_per_second", "achieved_records_per_second", "seconds", "batches", "batches_not_delivered", "delivery_p50_ms",
            "delivery_p99_ms", "delivered_before_ack_percent"], Keys(Parse(new SubscribeBenchReport(10_000, 9_990, 10, 500, 0, 1.2, 4.5, 30))));
    }

    [Fact]
    public void Query_document_pins_its_field_names()
    {
        var root = Parse(new QueryBenchReport("mesh3", 12, 20_000, 5, 1_167_525, 4.2,
            [new QueryRunReport("match all, every record to the client", 1_167_525, 1_167_525, 0.9, 1_297_250, 1_297_250, 0.85, 1.1)],
            [new NodeResourceReport("A", 120.5, 3.5)], 120.5, 1_000_000, 300, true));
        Assert.Equal(["benchmark", "topology", "partitions", "chunk_records", "repeat", "records_loaded", "load_seconds", "queries", "nodes", "worst_peak_rss_mb",
            "target_scanned_per_second", "target_rss_mb", "counts_ok"], Keys(root));
        Assert.Equal("query", root.GetProperty("benchmark").GetString());
        Assert.Equal(["query", "scanned", "returned", "seconds", "scanned_per_second", "returned_per_second", "fastest_seconds", "slowest_seconds"], Keys(root.GetProperty("queries")[0]));
        Assert.Equal(["node", "peak_rss_mb", "cpu_seconds"], Keys(root.GetProperty("nodes")[0]));
    }

    [Fact]
    public void Catchup_document_pins_its_field_names()
    {
        var root = Parse(new CatchUpBenchReport("mesh3", 256, 16,
        [
            new CatchUpRunReport("log", 0, "B", 256L << 20, 12.5, 900, 2500, 7000, 0, 256L << 20),
            new CatchUpRunReport("snapshot", 16L << 20, "C", 256L << 20, 12.1, 880, 400, 7000, 1, 20L << 20),
        ]));
        Assert.Equal(["benchmark", "topology", "mib", "retain_mib", "runs"], Keys(root));
        Assert.Equal("catchup", root.GetProperty("benchmark").GetString());
        Assert.Equal(["mode", "retain_bytes", "follower", "written_bytes", "write_seconds", "serving_ms", "caught_up_ms", "applied_index", "snapshots_installed", "log_bytes"],
            Keys(root.GetProperty("runs")[0]));
        Assert.Equal(1ul, root.GetProperty("runs")[1].GetProperty("snapshots_installed").GetUInt64());
    }

    [Fact]
    public void Compare_document_has_each_rows_medians_and_a_null_ratio_when_a_system_has_no_run()
    {
        var report = new CompareReport();
        foreach (var v in new[] { 300.0, 100.0, 200.0 }) report.Add("data set, 64 rec/batch", CompareReport.Braid, v);
        foreach (var v in new[] { 180.0, 220.0 }) report.Add("data set, 64 rec/batch", CompareReport.Nats, v);
        report.Add("single records", CompareReport.Braid, 50);
        var rows = new List<CompareWorkload>
        {
            CompareWorkloads.DataSet(seed: 1, records: 1_000, batchRecords: 64).Workload,
            new("single records", CompareWorkloads.SingleRecords(seed: 1, count: 10, recordBytes: 150, throughProducer: true).Workload.Messages, 0),
        };
        var settings = new CompareBench.Settings("/tmp/x", 7750, 3, 1_000, 1, ["64", "single"], 10, 150, 12, 8, null, false, false);
        var run = new CompareRunReport(1, rows[0].Name, CompareReport.Braid, 1_000, 16, 40_000, 0.5, 2000, 0.08, true);
        var root = Parse(CompareBench.Report(settings, "nats-server v2.9.10", rows, report, [run], ok: true));
        Assert.Equal(["benchmark", "topology", "rounds", "partitions", "inflight_per_partition", "nats_inflight", "producer_inflight", "producer_partitions", "tls", "passes", "warmup_passes", "nats_version", "rows", "runs",
            "target_ratio", "ok"], Keys(root));
        Assert.Equal("compare", root.GetProperty("benchmark").GetString());
        Assert.Equal(96, root.GetProperty("nats_inflight").GetInt32()); // Braid's whole window: 12 partitions x 8
        Assert.Equal(CompareBench.DefaultProducerInflight, root.GetProperty("producer_inflight").GetInt32());
        var first = root.GetProperty("rows")[0];
        Assert.Equal(["row", "records", "messages", "payload_bytes", "warmup_messages", "braid_records_per_second", "nats_records_per_second", "braid_median",
            "nats_median", "ratio"], Keys(first));
        Assert.Equal(1_000, first.GetProperty("records").GetInt64());
        Assert.Equal(16, first.GetProperty("messages").GetInt32());
        Assert.Equal([300.0, 100.0, 200.0], first.GetProperty("braid_records_per_second").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(200.0, first.GetProperty("braid_median").GetDouble());
        Assert.Equal(200.0, first.GetProperty("nats_median").GetDouble());
        Assert.Equal(1.0, first.GetProperty("ratio").GetDouble());
        var single = root.GetProperty("rows")[1];
        Assert.Equal(0, single.GetProperty("nats_records_per_second").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, single.GetProperty("ratio").ValueKind);
        Assert.Equal(["round", "row", "system", "records", "messages", "payload_bytes", "elapsed_seconds", "records_per_second", "megabytes_per_second", "verified"],
            Keys(root.GetProperty("runs")[0]));
        Assert.Equal("braid", root.GetProperty("runs")[0].GetProperty("system").GetString());
    }

    [Fact]
    public void Rolling_document_pins_its_field_names()
    {
        var root = Parse(new RollingBenchReport("mini2", 12, 100, 200, 6, 6, 31.5, 180.2, 4.25, 12, 6000, 200, 3, 12,
            [new RollingGapReport(180.2, 4.25)], [new RollingStepReport("A", true, 0, 0.4, 1.1, 1.6)], 600_000, 600_000, true));
        Assert.Equal(["benchmark", "topology", "partitions", "batch_records", "batches_per_second", "nodes_restarted", "graceful", "restart_seconds", "longest_gap_ms",
            "longest_gap_at_seconds", "p99_gap_ms", "acknowledgements", "target_longest_gap_ms", "retries", "failovers", "longest_gaps", "steps", "records_sent",
            "records_stored", "exactly_once"], Keys(root));
        Assert.Equal("rolling", root.GetProperty("benchmark").GetString());
        Assert.Equal(["ms", "ending_seconds"], Keys(root.GetProperty("longest_gaps")[0]));
        Assert.Equal(["node", "graceful", "sigterm_seconds", "exited_seconds", "serving_seconds", "caught_up_seconds"], Keys(root.GetProperty("steps")[0]));
    }

    [Fact]
    public void Bench_rereplicate_takes_its_options()
    {
        var command = BenchCommand.Create().Subcommands.Single(c => c.Name == "rereplicate");
        foreach (var name in new[] { "--json", "--topology", "--records", "--dead-after", "--node", "--ingest-records", "--ingest-seconds", "--ingest-rate", "--timeout", "--base-port", "--dir" })
            Assert.Contains(command.Options, o => o.Name == name);
        var parsed = command.Parse(["--json"]);
        Assert.Empty(parsed.Errors);
        Assert.Equal("100000,300000,1000000", parsed.GetValue<string>("--records"));
        Assert.Equal("5s", parsed.GetValue<string>("--dead-after"));
        Assert.Equal("D", parsed.GetValue<string>("--node"));
        Assert.Equal(9400, parsed.GetValue<int>("--base-port"));
    }

    [Fact]
    public void Rereplicate_document_pins_its_field_names()
    {
        var run = new RereplicateRunReport(1_000_000, 60_000_000, 9.5, 105_263.2, false, 8, 650_000, 40_000_000, 40_100_000, 5.4, 9.9, 4.5, 8.48, 8.5, 144_444.4, true,
            [new RereplicateGroupReport("3", ["E"], 83_000, 5_000_000, 5_010_000, 8.1)], 1_000_000, 1_000_000, true);
        var root = Parse(new RereplicateBenchReport("mini2", 12, 3, "D", 5, 1000, [run],
            new RereplicateIngestReport(0, 10, 90_000, 40_000, 4.5, 60_000, 0.667, 1_500_000, 1_500_000, 3, 2), true));
        Assert.Equal(["benchmark", "topology", "partitions", "replicas", "node", "dead_after_seconds", "batch_records", "runs", "ingest", "ok"], Keys(root));
        Assert.Equal("rereplicate", root.GetProperty("benchmark").GetString());
        var r = root.GetProperty("runs")[0];
        Assert.Equal(["records", "payload_bytes", "load_seconds", "load_records_per_second", "steady_ingest", "groups_held", "records_held", "bytes_held", "bytes_new_replicas",
            "declared_dead_seconds", "in_place_seconds", "moving_seconds", "megabytes_per_second", "new_replicas_megabytes_per_second", "records_per_second", "in_place", "groups", "records_expected",
            "records_stored", "counts_ok"], Keys(r));
        Assert.Equal(["group", "new_replicas", "records", "bytes_held", "bytes_new_replicas", "in_place_seconds"], Keys(r.GetProperty("groups")[0]));
        Assert.Equal(["paced_records_per_second", "before_seconds", "before_records_per_second", "kill_to_dead_records_per_second", "during_seconds",
            "during_records_per_second", "ratio", "records_sent", "records_acked", "retries", "failovers"], Keys(root.GetProperty("ingest")));
        Assert.Equal("E", r.GetProperty("groups")[0].GetProperty("new_replicas")[0].GetString());

        // A run that never came back in place: its times are null, not left out; no steady run: ingest null.
        var stuck = Parse(new RereplicateBenchReport("mini2", 12, 3, "D", 5, 1000,
            [run with { InPlaceSeconds = null, MovingSeconds = null, MegabytesPerSecond = null, NewReplicasMegabytesPerSecond = null, RecordsPerSecond = null, InPlace = false }], null, false));
        Assert.Equal(JsonValueKind.Null, stuck.GetProperty("ingest").ValueKind);
        Assert.Equal(JsonValueKind.Null, stuck.GetProperty("runs")[0].GetProperty("megabytes_per_second").ValueKind);
        Assert.False(stuck.GetProperty("ok").GetBoolean());
    }
}

using System.Text.Json;
using Braid.Cli.Commands;
using Braid.Cli.Json;
using Braid.Cli.Status;
using Braid.Core.Placement;
using Braid.Protocol.V1;
using Braid.Simulation;

namespace Braid.Cli.Tests.Status;

/// <summary>The --json documents: field names are an interface (docs/json.md), so they are pinned here, in order.</summary>
public sealed class JsonReportTests
{
    private static JsonElement Parse<T>(T report) => JsonDocument.Parse(CliJson.Serialize(report)).RootElement.Clone();

    private static string[] Keys(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();

    private static ClusterStatusReport SampleStatus()
    {
        StatusTarget[] targets = [new("A", "127.0.0.1:1"), new("B", "127.0.0.1:2")];
        var leader = new PartitionDescription { Partition = 0, LocalRole = "Leader", Term = 3, CommitIndex = 9, AppliedIndex = 9, Leader = "A", Replicas = { "A", "B" } };
        var answers = new Dictionary<string, NodeAnswer>
        {
            ["A"] = new(StatusBuilderTests.Status("A", 7, ("B", false, double.PositiveInfinity)), StatusBuilderTests.Describe("A", leader), null),
            ["B"] = new(null, null, "no answer within 2 s"),
        };
        return StatusBuilder.Build("seeds 127.0.0.1:1", new DateTimeOffset(2025, 5, 6, 7, 8, 9, TimeSpan.Zero), targets, answers);
    }

    [Fact]
    public void Status_document_has_stable_snake_case_fields_and_writes_unknown_values_as_null()
    {
        var root = Parse(SampleStatus());
        Assert.Equal(["source", "taken_at", "healthy", "nodes", "partitions", "alarms"], Keys(root));
        Assert.Equal("2025-05-06T07:08:09+00:00", root.GetProperty("taken_at").GetString());
        Assert.False(root.GetProperty("healthy").GetBoolean());

        var nodes = root.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(["id", "address", "site", "state", "error", "incarnation", "uptime_ms", "pid", "version", "process", "links", "routes", "unreachable"], Keys(nodes[0]));
        Assert.Equal(7ul, nodes[0].GetProperty("incarnation").GetUInt64());
        Assert.Equal("unreachable", nodes[1].GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, nodes[1].GetProperty("incarnation").ValueKind);
        Assert.Equal(JsonValueKind.Null, nodes[1].GetProperty("uptime_ms").ValueKind);
        Assert.Equal(JsonValueKind.Array, nodes[1].GetProperty("links").ValueKind);

        var link = nodes[0].GetProperty("links")[0];
        Assert.Equal(["neighbour", "alive", "connected", "phi", "fault"], Keys(link));
        Assert.Equal(JsonValueKind.Null, link.GetProperty("phi").ValueKind); // infinity is not a JSON number

        var partition = root.GetProperty("partitions")[0];
        Assert.Equal(["partition", "leader", "leader_answered", "term", "commit_index", "max_lag", "replicas"], Keys(partition));
        Assert.Equal("A", partition.GetProperty("leader").GetString());
        var replicas = partition.GetProperty("replicas").EnumerateArray().ToList();
        Assert.Equal(["node", "answered", "role", "term", "commit_index", "applied_index", "lag", "record_count", "no_space_alarm", "recovering"], Keys(replicas[0]));
        Assert.Equal(0ul, replicas[0].GetProperty("lag").GetUInt64());
        Assert.Equal(JsonValueKind.Null, replicas[1].GetProperty("lag").ValueKind);

        var alarm = root.GetProperty("alarms")[0];
        Assert.Equal(["kind", "node", "partition", "detail"], Keys(alarm));
        Assert.Equal("unreachable", alarm.GetProperty("kind").GetString());
    }

    [Fact]
    public void Status_text_shows_every_node_partition_and_alarm()
    {
        var text = StatusText.Render(SampleStatus());
        Assert.Contains("1/2 nodes up, 1/1 partitions with a leader, 1 alarm", text);
        Assert.Contains("A:L:9  B:?", text);
        Assert.Contains("unreachable  node B: no answer within 2 s", text);
        Assert.Contains("B dead; no route to B", text);
    }

    [Theory]
    [InlineData(999L, "1.0s")]
    [InlineData(125_000L, "2m05s")]
    [InlineData(3_723_000L, "1h02m")]
    [InlineData(90_000_000L, "1d01h")]
    public void Uptime_reads_at_a_glance(long ms, string expected) => Assert.Equal(expected, StatusText.Uptime(ms));

    [Fact]
    public void Placement_document_matches_the_text_report()
    {
        var table = PlacementPlanner.Plan(TopologyFiles.Load("mini2"), 12, 3);
        var root = Parse(PlacementCommand.Report(table));
        Assert.Equal(["topology", "replica_count", "quorum", "partitions", "nodes", "site_splits"], Keys(root));
        Assert.Equal(2, root.GetProperty("quorum").GetInt32());
        var partitions = root.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(12, partitions.Count);
        Assert.Equal(["partition", "replicas", "preferred_leader", "sites"], Keys(partitions[0]));
        Assert.All(partitions, p => Assert.Equal(3, p.GetProperty("replicas").GetArrayLength()));
        var nodes = root.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(["A", "B", "C", "D", "E", "F"], nodes.Select(n => n.GetProperty("node").GetString()));
        Assert.Equal(["node", "site", "replicas", "preferred_leaders", "writable_if_down", "unwritable_if_down"], Keys(nodes[0]));
        Assert.Equal(36, nodes.Sum(n => n.GetProperty("replicas").GetInt32()));
        var text = PlacementCommand.Render(table);
        foreach (var n in nodes)
        {
            Assert.Contains($"{n.GetProperty("node").GetString()} down: writable {n.GetProperty("writable_if_down").GetInt32()}/12", text);
            Assert.Equal(12, n.GetProperty("writable_if_down").GetInt32() + n.GetProperty("unwritable_if_down").GetArrayLength());
        }
        Assert.Equal(["one", "other", "writable", "unwritable"], Keys(root.GetProperty("site_splits")[0]));
    }

    [Fact]
    public void Count_and_stats_documents_have_null_aqi_figures_for_rows_without_aqi()
    {
        Assert.Equal("""{"records":42,"partial":false,"missing_partitions":[]}""", JsonSerializer.Serialize(JsonDocument.Parse(CliJson.Serialize(QueryCommands.ToCountReport(new AggregateReply { Records = 42 }))).RootElement));
        var reply = new AggregateReply { Records = 30 };
        reply.ByParameter.Add(new AggregateRow { Key = "PM2.5", Count = 20, AqiCount = 20, AqiMin = 3, AqiMax = 151, AqiMean = 40.5 });
        reply.ByParameter.Add(new AggregateRow { Key = "CO", Count = 10, AqiCount = 0 });
        var root = Parse(QueryCommands.ToReport(reply, byDay: false));
        Assert.Equal(["records", "by_parameter", "by_day", "partial", "missing_partitions"], Keys(root));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("by_day").ValueKind);
        var rows = root.GetProperty("by_parameter").EnumerateArray().ToList();
        Assert.Equal(["key", "count", "aqi_count", "aqi_min", "aqi_max", "aqi_mean"], Keys(rows[0]));
        Assert.Equal(151, rows[0].GetProperty("aqi_max").GetInt32());
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("aqi_min").ValueKind);
        Assert.Equal(0, Parse(QueryCommands.ToReport(reply, byDay: true)).GetProperty("by_day").GetArrayLength());
    }

    [Fact]
    public void Count_and_stats_documents_of_a_partial_result_name_the_missing_partitions()
    {
        var reply = new AggregateReply { Records = 7, MissingPartitions = { 1, 4 } };
        Assert.Equal("""{"records":7,"partial":true,"missing_partitions":[1,4]}""", JsonSerializer.Serialize(JsonDocument.Parse(CliJson.Serialize(QueryCommands.ToCountReport(reply))).RootElement));
        var stats = Parse(QueryCommands.ToReport(reply, byDay: false));
        Assert.True(stats.GetProperty("partial").GetBoolean());
        Assert.Equal([1u, 4u], stats.GetProperty("missing_partitions").EnumerateArray().Select(e => e.GetUInt32()).ToList());
        Assert.Equal("PARTIAL: partition(s) 1, 4 of stream 'airquality' have no quorum and are missing; 7 records", QueryCommands.PartialLine(reply.MissingPartitions, "airquality", "7 records"));
    }

    [Fact]
    public void Sim_document_lists_each_failed_seed_with_its_replay_command()
    {
        var failed = new SimResult(7, ["election safety: two leaders in term 3"], 10, 1, 100, 12.5, 0, "");
        var summary = new SimSummary(3, [failed], 300, 4, 5000, 40, TimeSpan.FromSeconds(2), Compactions: 2, SnapshotsInstalled: 1, Queries: new SimQueryCounts(5, 1, 30),
            Membership: new SimMembershipCounts(12, 9, 2));
        var root = Parse(SimCommand.Report("mini2", 5, 7, new SimOptions { Membership = true }, summary, seed => $"braid sim --seeds {seed} --trace"));
        Assert.Equal(["topology", "first_seed", "last_seed", "seeds", "partitions", "replicas", "faults", "queries", "retain_bytes", "failed", "failures",
            "acked", "retries", "messages", "compactions", "snapshots_installed", "queries_completed", "query_pages", "queries_trimmed",
            "simulated_seconds", "wall_seconds", "simulated_seconds_per_wall_second", "membership", "disk_faults", "membership_steps",
            "configurations_committed", "nodes_declared_dead"], Keys(root));
        Assert.True(root.GetProperty("membership").GetBoolean());
        Assert.Equal(9, root.GetProperty("configurations_committed").GetInt64());
        Assert.Equal(2, root.GetProperty("nodes_declared_dead").GetInt64());
        Assert.Equal(1, root.GetProperty("failed").GetInt32());
        var failure = root.GetProperty("failures")[0];
        Assert.Equal(7, failure.GetProperty("seed").GetInt32());
        Assert.Equal("braid sim --seeds 7 --trace", failure.GetProperty("replay").GetString());
        Assert.Equal(20.0, root.GetProperty("simulated_seconds_per_wall_second").GetDouble());
    }

    [Fact]
    public void Bench_documents_name_their_benchmark_first()
    {
        var failover = Parse(new FailoverBenchReport("mesh3", "kill", [new FailoverTrialReport(1, "A", 93.4)], 93.4, 93.4, 93.4, 93.4, 200, 3));
        Assert.Equal(["benchmark", "topology", "fault", "trials", "median_ms", "p90_ms", "worst_ms", "best_ms", "target_median_ms", "writer_retries"], Keys(failover));
        Assert.Equal("failover", failover.GetProperty("benchmark").GetString());
        Assert.Equal(["trial", "leader", "ms"], Keys(failover.GetProperty("trials")[0]));

        var run = new IngestRunReport(true, 1000, 1, 5000, 0.5, 2000, 0.01, 0, 0, 0, [new NodeResourceReport("A", 80.5, 1.25)], 80.5, true);
        var ingest = Parse(new IngestBenchReport("mesh3", "loopback", 1000, 8, 1, 0, 1000, 1, 5000, 300_000, [run], null, true));
        Assert.Equal(["benchmark", "topology", "hosts", "batch_records", "inflight_per_partition", "passes", "warmup_batches", "data_records", "data_batches", "data_bytes",
            "target_records_per_second", "runs", "comparison", "ok"], Keys(ingest));
        Assert.Equal(["tls", "records", "batches", "payload_bytes", "elapsed_seconds", "records_per_second", "megabytes_per_second", "retries", "duplicates", "failovers",
            "nodes", "worst_peak_rss_mb", "counts_ok"], Keys(ingest.GetProperty("runs")[0]));
        Assert.Equal(["node", "peak_rss_mb", "cpu_seconds"], Keys(ingest.GetProperty("runs")[0].GetProperty("nodes")[0]));
        Assert.Equal(JsonValueKind.Null, ingest.GetProperty("comparison").ValueKind);

        Assert.Equal("reroute", Parse(new RerouteBenchReport("kill", [1, 2], 1, 2, 1, 2, 1000)).GetProperty("benchmark").GetString());
        Assert.Equal("idle", Parse(new IdleBenchReport("mini2", 20, 15, [new IdleNodeReport("A", 1.5, 60, 40)], 1.5, 60, 2, 80)).GetProperty("benchmark").GetString());
    }

    [Fact]
    public void File_documents_pin_their_field_names()
    {
        var put = Parse(new FileTransferReport("put", "files", "a.bin", "00000000000000ff", 1, 10, 1, new string('0', 64), 0, false, 0, 1, 0.1, 0.2));
        Assert.Equal(["command", "stream", "name", "object_id", "partition", "size", "chunks", "sha256", "chunks_already_stored", "already_complete",
            "bytes_resumed", "passes", "check_seconds", "transfer_seconds"], Keys(put));
        var bench = Parse(new FilesBenchReport("mesh3", 1 << 30, 1033, 1, 0.8, 19, 7, 53, 56, 144, 1, 345, true));
        Assert.Equal(["benchmark", "topology", "size_bytes", "chunks", "partition", "hash_seconds", "put_seconds", "get_seconds", "put_megabytes_per_second",
            "send_megabytes_per_second", "get_megabytes_per_second", "client_retries", "client_peak_rss_mb", "verified"], Keys(bench));
        Assert.Equal("files", bench.GetProperty("benchmark").GetString());
    }

    [Theory]
    [InlineData("files a.bin", null)]
    [InlineData("files ./dir/a.bin --name photos/a.bin --json", "photos/a.bin")]
    public void Put_takes_a_stream_a_file_and_an_optional_name(string args, string? name)
    {
        var parse = FileCommands.Put().Parse(args);
        Assert.Empty(parse.Errors);
        Assert.Equal(name, parse.GetValue<string?>("--name"));
    }

    [Fact]
    public void Get_needs_a_stream_a_name_and_a_destination()
    {
        Assert.Empty(FileCommands.Get().Parse("files photos/a.bin out.bin").Errors);
        Assert.NotEmpty(FileCommands.Get().Parse("files photos/a.bin").Errors);
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("--watch", StatusCommand.DefaultWatchSeconds)]
    [InlineData("-w 5", 5.0)]
    [InlineData("--watch 0.5 --json", 0.5)]
    public void Watch_takes_an_optional_number_of_seconds(string args, double? expected)
    {
        var parse = StatusCommand.Create().Parse(args);
        Assert.Empty(parse.Errors);
        Assert.Equal(expected, parse.GetValue<double?>("--watch"));
    }

    [Fact]
    public void Watch_refuses_a_period_that_is_not_a_number_of_seconds() =>
        Assert.NotEmpty(StatusCommand.Create().Parse("--watch 0").Errors);
}

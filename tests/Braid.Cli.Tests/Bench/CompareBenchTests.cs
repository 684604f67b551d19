using Braid.Bench.Nats;
using Braid.Cli.Bench;
using Braid.Cli.Commands;
using Braid.Data;

namespace Braid.Cli.Tests.Bench;

/// <summary>The pieces of <c>braid bench compare</c> that need no nats-server: the cluster's
/// configuration files, the workloads both systems get, and the report.</summary>
public sealed class CompareBenchTests
{
    private static readonly NatsServerPorts[] Servers = [new(4301, 6301), new(4302, 6302), new(4303, 6303)];

    [Fact]
    public void EachServerListensOnLoopbackAndRoutesToTheOtherTwo()
    {
        var text = NatsClusterConfig.Render(1, Servers, "/tmp/bench \"x\"/nats");
        Assert.Contains("server_name: \"n2\"", text, StringComparison.Ordinal);
        Assert.Contains("listen: \"127.0.0.1:4302\"", text, StringComparison.Ordinal);
        Assert.Contains("listen: \"127.0.0.1:6302\"", text, StringComparison.Ordinal);
        Assert.Contains("\"nats-route://127.0.0.1:6301\"", text, StringComparison.Ordinal);
        Assert.Contains("\"nats-route://127.0.0.1:6303\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("nats-route://127.0.0.1:6302", text, StringComparison.Ordinal);
        Assert.Contains("store_dir: \"/tmp/bench \\\"x\\\"/nats/n2\"", text, StringComparison.Ordinal);
        Assert.Contains("log_file: \"/tmp/bench \\\"x\\\"/nats/n2.log\"", text, StringComparison.Ordinal);
        Assert.Contains($"name: \"{NatsClusterConfig.ClusterName}\"", text, StringComparison.Ordinal);
        Assert.Equal("nats://127.0.0.1:4303", NatsClusterConfig.ClientUrl(Servers[2]));
    }

    [Fact]
    public void ConfigurationRefusesFewerThanThreeServersAndBadPorts()
    {
        Assert.Throws<ArgumentException>(() => NatsClusterConfig.Render(0, Servers[..2], "/tmp/x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => NatsClusterConfig.Render(3, Servers, "/tmp/x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => NatsClusterConfig.Render(0, [new(0, 1), new(2, 3), new(4, 5)], "/tmp/x"));
        Assert.Throws<ArgumentException>(() => NatsClusterConfig.Render(0, Servers, "/tmp/a\nb"));
    }

    [Fact]
    public void AWarmupPassSendsTheRowOnceUntimedBeforeTheTimedPass()
    {
        var settings = new CompareBench.Settings("/tmp/x", 7750, 1, 2_000, 1, ["64"], 10, 150, 12, 8, null, false, false, WarmupPasses: 1);
        var one = CompareWorkloads.DataSet(seed: 1, records: 2_000, batchRecords: 64);
        var row = CompareBench.BuildRow(settings, "64");
        Assert.Equal(2 * one.Workload.Messages.Count, row.Workload.Messages.Count);
        Assert.Equal(one.Workload.Messages.Count, row.Workload.WarmupMessages);
        Assert.Equal(2_000, row.Workload.TimedRecords);
        Assert.Equal(one.Workload.Name, row.Workload.Name);
        foreach (var (parameter, count) in one.ExpectedCounts) Assert.Equal(2 * count, row.ExpectedCounts[parameter]);
        var cold = CompareBench.BuildRow(settings with { WarmupPasses = 0 }, "64");
        Assert.Equal(one.Workload.Messages.Count, cold.Workload.Messages.Count);
        Assert.Equal(CompareWorkload.DefaultWarmup(one.Workload.Messages.Count), cold.Workload.WarmupMessages);
    }

    [Fact]
    public void SingleRecordMessagesAreExactlyTheAskedSizeAndDecodeToOneReading()
    {
        var row = CompareWorkloads.SingleRecords(seed: 1, count: 400, recordBytes: 150, throughProducer: true);
        Assert.True(row.ThroughProducer);
        Assert.False(CompareWorkloads.SingleRecords(seed: 1, count: 4, recordBytes: 150, throughProducer: false).ThroughProducer);
        Assert.Equal(400, row.Workload.Messages.Count);
        Assert.Equal(400, row.Workload.Records);
        Assert.Equal(400, row.ExpectedCounts.Values.Sum());
        Assert.Equal(20, row.Workload.WarmupMessages);
        var byParameter = new Dictionary<AirParameter, long>();
        foreach (var (payload, records) in row.Workload.Messages)
        {
            Assert.Equal(150, payload.Length);
            Assert.Equal(1, records);
            var decoded = Assert.Single(RecordBatchCodec.Decode(payload));
            byParameter[decoded.Parameter] = byParameter.GetValueOrDefault(decoded.Parameter) + 1;
        }
        foreach (var (parameter, count) in row.ExpectedCounts.Where(kv => kv.Value > 0))
            Assert.Equal(count, byParameter.GetValueOrDefault(parameter));
    }

    [Fact]
    public void EncodeExactlyCutsALongSiteNameAndRefusesAnImpossibleSize()
    {
        var reading = AirQualityGenerator.Generate(1, 1).SelectMany(f => f.Records).First();
        var longName = reading with { SiteName = new string('s', 300) };
        var payload = CompareWorkloads.EncodeExactly(longName, 150);
        Assert.Equal(150, payload.Length);
        Assert.Equal(reading.Concentration, Assert.Single(RecordBatchCodec.Decode(payload)).Concentration);
        Assert.Throws<ArgumentOutOfRangeException>(() => CompareWorkloads.EncodeExactly(reading, 10));
    }

    [Fact]
    public void DataSetRowsSplitTheDataSetIntoBatchesOfTheAskedSize()
    {
        var row = CompareWorkloads.DataSet(seed: 1, records: 5_000, batchRecords: 64);
        Assert.Equal(5_000, row.Workload.Records);
        Assert.Equal((5_000 + 63) / 64, row.Workload.Messages.Count);
        Assert.All(row.Workload.Messages.SkipLast(1), m => Assert.Equal(64, m.Records));
        Assert.All(row.Workload.Messages, m => Assert.Equal(m.Records, RecordBatchCodec.Count(m.Payload)));
        Assert.Equal(CompareWorkload.DefaultWarmup(row.Workload.Messages.Count), row.Workload.WarmupMessages);
        Assert.Equal(5_000 - 3 * 64, row.Workload.TimedRecords);
        Assert.Equal("data set, 64 rec/batch", row.Workload.Name);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(1_168, 58)]
    [InlineData(1_000_000, 2_000)]
    public void WarmUpIsFivePercentBounded(int messages, int warmup) => Assert.Equal(warmup, CompareWorkload.DefaultWarmup(messages));

    [Fact]
    public void ReportComparesMediansPerRowAndSaysWhetherTheTargetIsMet()
    {
        var report = new CompareReport();
        foreach (var v in new[] { 300.0, 100.0, 200.0 }) report.Add("batches", CompareReport.Braid, v);
        foreach (var v in new[] { 180.0, 220.0 }) report.Add("batches", CompareReport.Nats, v);
        report.Add("single", CompareReport.Braid, 50);
        report.Add("single", CompareReport.Nats, 100);
        report.Add("braid only", CompareReport.Braid, 1);
        Assert.Equal(1.0, report.Ratio("batches"), 9);
        Assert.Equal(0.5, report.Ratio("single"), 9);
        Assert.True(double.IsNaN(report.Ratio("braid only")));

        var lines = report.SummaryLines(1.0);
        Assert.Contains("braid/nats", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("batches", StringComparison.Ordinal) && l.Contains("1.00x", StringComparison.Ordinal) && l.EndsWith("  met", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("single", StringComparison.Ordinal) && l.Contains("0.50x", StringComparison.Ordinal) && l.EndsWith("NOT met", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("braid only", StringComparison.Ordinal) && l.EndsWith("no figure", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("batches: braid runs 300 100 200; nats runs 180 220", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => report.Add("x", "kafka", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => report.Add("x", CompareReport.Nats, double.NaN));
    }

    [Fact]
    public void MedianAndRatioFormatting()
    {
        Assert.Equal(0, CompareReport.Median([]));
        Assert.Equal(2, CompareReport.Median([3, 1, 2]));
        Assert.Equal(2.5, CompareReport.Median([4, 1, 3, 2]));
        Assert.Equal("1.07x", CompareReport.FormatRatio(1.0712));
        Assert.Equal("n/a", CompareReport.FormatRatio(double.NaN));
        Assert.Equal("inf", CompareReport.FormatRatio(double.PositiveInfinity));
    }

    [Fact]
    public void DurabilityStatementSaysWhoFsyncsBeforeAcknowledging()
    {
        var text = string.Join("\n", CompareReport.DurabilityLines("nats-server v2.9.10"));
        Assert.Contains("fsynced on a majority", text, StringComparison.Ordinal);
        Assert.Contains("no fsync", text, StringComparison.Ordinal);
        Assert.Contains("nats-server v2.9.10", text, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchCommandOffersCompare()
    {
        var compare = Assert.Single(BenchCommand.Create().Subcommands, c => c.Name == "compare");
        Assert.Contains(compare.Options, o => o.Name == "--rows");
        Assert.Contains(compare.Options, o => o.Name == "--nats-inflight");
    }
}

using System.Globalization;
using Braid.Cli.Cluster;

namespace Braid.Cli.Bench;

/// <summary>CPU and memory of each node of an idle cluster (heartbeats and route refreshes only), from /proc.</summary>
internal static class IdleBench
{
    private const double TargetCpuPercent = 2;
    private const double TargetRssMb = 80;

    public static async Task<Json.IdleBenchReport> RunAsync(string topology, int seconds, int warmupSeconds, string directory, int basePort, TextWriter output, CancellationToken ct)
    {
        await using var cluster = await BenchCluster.StartAsync(topology, directory, basePort, TextWriter.Null, ct).ConfigureAwait(false);
        // Let start-up work settle: first connections, and tiered JIT recompiling the hot paths.
        await Task.Delay(TimeSpan.FromSeconds(warmupSeconds), ct).ConfigureAwait(false);
        var before = cluster.State.Nodes.ToDictionary(n => n.Id, n => ProcessControl.CpuTicks(n.Pid) ?? 0);
        var started = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(seconds), ct).ConfigureAwait(false);
        var elapsed = (DateTime.UtcNow - started).TotalSeconds;
        const double ticksPerSecond = 100; // USER_HZ on Linux
        output.WriteLine($"idle {topology} cluster, sampled over {elapsed:F0} s after {warmupSeconds} s of warm-up");
        output.WriteLine($"{"node",-5} {"cpu % of a core",16} {"rss MB",8} {"pss MB",8}");
        double cpuMax = 0, rssMax = 0;
        var nodes = new List<Json.IdleNodeReport>();
        foreach (var node in cluster.State.Nodes)
        {
            var cpu = ((ProcessControl.CpuTicks(node.Pid) ?? 0) - before[node.Id]) / ticksPerSecond / elapsed * 100;
            var rss = (ProcessControl.RssBytes(node.Pid) ?? 0) / 1048576.0;
            var pss = (ProcessControl.PssBytes(node.Pid) ?? 0) / 1048576.0;
            cpuMax = Math.Max(cpuMax, cpu);
            rssMax = Math.Max(rssMax, rss);
            nodes.Add(new Json.IdleNodeReport(node.Id, Math.Round(cpu, 3), Math.Round(rss, 1), Math.Round(pss, 1)));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{node.Id,-5} {cpu,16:F2} {rss,8:F1} {pss,8:F1}"));
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst node: cpu {cpuMax:F2}% of a core, rss {rssMax:F1} MB (targets: < {TargetCpuPercent:F0}%, < {TargetRssMb:F0} MB)"));
        return new Json.IdleBenchReport(topology, Math.Round(elapsed, 1), warmupSeconds, nodes, Math.Round(cpuMax, 3), Math.Round(rssMax, 1), TargetCpuPercent, TargetRssMb);
    }
}

using System.Globalization;
using Braid.Cli.Cluster;

namespace Braid.Cli.Bench;

/// <summary>CPU and memory of each node of an idle cluster (heartbeats and route refreshes only), from /proc.</summary>
internal static class IdleBench
{
    public static async Task<int> RunAsync(string topology, int seconds, int warmupSeconds, string directory, int basePort, TextWriter output, CancellationToken ct)
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
        foreach (var node in cluster.State.Nodes)
        {
            var cpu = ((ProcessControl.CpuTicks(node.Pid) ?? 0) - before[node.Id]) / ticksPerSecond / elapsed * 100;
            var rss = (ProcessControl.RssBytes(node.Pid) ?? 0) / 1048576.0;
            var pss = (ProcessControl.PssBytes(node.Pid) ?? 0) / 1048576.0;
            cpuMax = Math.Max(cpuMax, cpu);
            rssMax = Math.Max(rssMax, rss);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{node.Id,-5} {cpu,16:F2} {rss,8:F1} {pss,8:F1}"));
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst node: cpu {cpuMax:F2}% of a core, rss {rssMax:F1} MB (targets: < 2%, < 80 MB)"));
        return 0;
    }
}

using System.Xml.Linq;
using Braid.Cli.Hosts;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// The fault lab on real network namespaces (CI runs as root; .ci/run installs nftables). Each test
/// takes its cluster down in a finally block and then checks that nothing of it is left.
/// </summary>
public sealed class LabTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "braid-lab-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task Short_chaos_run_on_namespace_hosts_keeps_every_acknowledged_record_exactly_once()
    {
        RequireRoot();
        var output = Path.Combine(root, "out");
        var cluster = Path.Combine(root, "cluster");
        try
        {
            var result = await BraidProcess.RunAsync(TimeSpan.FromMinutes(5), "chaos", "--topology", "mini2", "--hosts", "netns",
                "--faults", "kill,partition,pause", "--duration", "40", "--seed", "7", "--fault-seconds", "3-5", "--gap-seconds", "2-3",
                "--producers", "2", "--rate", "15", "--queries", "1", "--producer-restart", "15", "--out", output, "--dir", cluster);
            // Exit 4 is the checker finding a lost, duplicated or phantom record (or a query violation).
            Assert.True(result.ExitCode == 0, result.ToString());
            var report = File.ReadAllText(Path.Combine(output, "report.md"));
            Assert.Contains("checker: OK", result.Stdout);
            foreach (var fault in new[] { "kill", "partition", "pause" })
                Assert.Contains($"| {fault} |", report);
            var charts = Directory.GetFiles(output, "*.svg");
            Assert.NotEmpty(charts);
            foreach (var chart in charts) Assert.Equal("svg", XDocument.Load(chart).Root!.Name.LocalName);
            Assert.Contains("nftables", report); // the host partition really dropped packets between namespaces
            // The saved run rebuilds the same report without a cluster.
            var rebuilt = await BraidProcess.RunAsync(TimeSpan.FromMinutes(1), "chaos", "report", "--run", Path.Combine(output, "run.json"), "--out", Path.Combine(root, "again"));
            Assert.True(rebuilt.ExitCode == 0, rebuilt.ToString());
            Assert.Equal(report, File.ReadAllText(Path.Combine(root, "again", "report.md")));
        }
        finally
        {
            await BraidProcess.RunAsync(TimeSpan.FromMinutes(1), "cluster", "down", "--dir", cluster);
        }
        Assert.Empty(Netns.Leftovers(NetworkLayout.TagFor(cluster)));
    }

    [Fact]
    public async Task Down_leaves_no_namespace_veth_bridge_table_mount_or_process()
    {
        RequireRoot();
        var cluster = Path.Combine(root, "cluster");
        var tag = NetworkLayout.TagFor(cluster);
        List<Braid.Cli.Cluster.NodeProcess> nodes = [];
        try
        {
            var up = await BraidProcess.RunAsync(TimeSpan.FromMinutes(2), "cluster", "up", "--hosts", "netns-per-node", "--dir", cluster, "--data-tmpfs-mb", "64");
            Assert.True(up.ExitCode == 0, up.ToString());
            var leftovers = Netns.Leftovers(tag);
            Assert.Equal(6, leftovers.Count(l => l.StartsWith("namespace ", StringComparison.Ordinal)));
            Assert.Contains(leftovers, l => l.StartsWith("bridge ", StringComparison.Ordinal));
            Assert.Contains(leftovers, l => l.StartsWith("nftables table ", StringComparison.Ordinal));
            nodes = Braid.Cli.Cluster.ClusterState.Load(cluster).Nodes;
            Assert.Equal(6, nodes.Count);
            Assert.Equal(6, File.ReadLines("/proc/mounts").Count(l => l.Contains(cluster, StringComparison.Ordinal)));
            // Every node answers status (a loaded machine may need a second try for the first TLS handshake).
            var status = await BraidProcess.RunAsync(TimeSpan.FromMinutes(1), "cluster", "status", "--dir", cluster);
            for (var attempt = 0; attempt < 5 && status.ExitCode != 0; attempt++)
            {
                await Task.Delay(1000);
                status = await BraidProcess.RunAsync(TimeSpan.FromMinutes(1), "cluster", "status", "--dir", cluster);
            }
            Assert.True(status.ExitCode == 0, status.ToString());
            Assert.Contains("198.1", status.Stdout);
        }
        finally
        {
            var down = await BraidProcess.RunAsync(TimeSpan.FromMinutes(1), "cluster", "down", "--dir", cluster);
            Assert.True(down.ExitCode == 0, down.ToString());
        }
        Assert.Empty(Netns.Leftovers(tag));
        Assert.DoesNotContain(File.ReadLines("/proc/mounts"), l => l.Contains(cluster, StringComparison.Ordinal));
        // Gone or a zombie waiting for its reaper: the process itself no longer runs.
        Assert.All(nodes, n => Assert.False(Braid.Cli.Cluster.ProcessControl.IsAlive(n.Pid, n.StartTime), $"node process {n.Pid} still runs"));
    }

    [Fact]
    public async Task An_up_that_fails_half_way_removes_what_it_made()
    {
        RequireRoot();
        var cluster = Path.Combine(root, "cluster");
        try
        {
            // Nodes cannot be ready within 10 ms: up fails after it made the network and started processes.
            var up = await BraidProcess.RunAsync(TimeSpan.FromMinutes(2), "cluster", "up", "--hosts", "netns", "--dir", cluster, "--timeout", "0.01");
            Assert.NotEqual(0, up.ExitCode);
            Assert.Contains("not ready", up.Stderr);
        }
        finally
        {
            await BraidProcess.RunAsync(TimeSpan.FromMinutes(1), "cluster", "down", "--dir", cluster);
        }
        Assert.Empty(Netns.Leftovers(NetworkLayout.TagFor(cluster)));
        Assert.False(File.Exists(Path.Combine(cluster, "cluster.json")));
    }

    private static void RequireRoot() =>
        Assert.True(Environment.UserName == "root", "the lab tests need root (network namespaces); CI runs as root");

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); }
        catch (IOException) { }
    }
}

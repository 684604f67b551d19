using System.Net;
using System.Net.Sockets;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Braid.EndToEnd.Tests;

/// <summary>Real `braid` processes wired as overlay graphs; faults by real signals.</summary>
public sealed class OverlayClusterTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 180_000)]
    public async Task Mini2_reroutes_around_a_killed_node_and_converges_back_after_restart()
    {
        await using var cluster = await LocalCluster.UpAsync("mini2", 6);
        // Right after start-up the nodes are busy electing partition leaders; a probe may need a retry.
        await cluster.EventuallyAsync(r => r.ExitCode == 0 && r.Stdout.StartsWith("A -> B -> D", StringComparison.Ordinal), Soon, "ping", "--from", "A", "--to", "D");

        var kill = await cluster.RunAsync("cluster", "kill", "B");
        Assert.True(kill.ExitCode == 0, kill.ToString());
        var rerouted = await cluster.EventuallyAsync(r => r.ExitCode == 0 && r.Stdout.StartsWith("A -> E -> D", StringComparison.Ordinal), Soon, "ping", "--from", "A", "--to", "D");
        Assert.Contains("back D -> E -> A", rerouted.Stdout);
        var cut = await cluster.EventuallyAsync(r => r.ExitCode == 1, Soon, "ping", "--from", "A", "--to", "C");
        Assert.Contains("C is unreachable from A", cut.Stderr);

        var restart = await cluster.RunAsync("cluster", "restart", "B");
        Assert.True(restart.ExitCode == 0, restart.ToString());
        await cluster.EventuallyAsync(r => r.ExitCode == 0 && r.Stdout.StartsWith("A -> B -> D", StringComparison.Ordinal), Soon, "ping", "--from", "A", "--to", "D");
        var status = await cluster.EventuallyAsync(r => r.ExitCode == 0, Soon, "cluster", "status");
        Assert.Contains("C>B D>B E>E F>E", status.Stdout); // A's table is the original one again

        var pids = cluster.RecordedPids();
        var down = await cluster.RunAsync("cluster", "down");
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Contains("stopped 6 of 6", down.Stdout);
        Assert.Empty(BraidProcess.ProcessesMentioning(cluster.Directory));
        Assert.All(pids, pid => Assert.False(File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains(cluster.Directory, StringComparison.Ordinal)));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_link_fault_reroutes_health_answers_and_paused_nodes_are_detected()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3, faults: true);
        using (var channel = cluster.Channel($"127.0.0.1:{cluster.BasePort}"))
        {
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

            // Server reflection (what grpcurl uses) lists Braid's services.
            using var reflection = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(5));
            await reflection.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
            await reflection.RequestStream.CompleteAsync();
            Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));
            var services = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
            Assert.Contains("braid.v1.Admin", services);
            Assert.Contains("braid.v1.Stream", services);
            Assert.Contains("grpc.health.v1.Health", services);
        }
        var fault = await cluster.RunAsync("fault", "--node", "A", "--link", "B", "--drop");
        Assert.True(fault.ExitCode == 0, fault.ToString());
        await cluster.EventuallyAsync(r => r.ExitCode == 0 && r.Stdout.StartsWith("A -> C -> B", StringComparison.Ordinal), Soon, "ping", "--from", "A", "--to", "B");
        await cluster.RunAsync("fault", "--node", "A", "--link", "B", "--clear");
        await cluster.EventuallyAsync(r => r.ExitCode == 0 && r.Stdout.StartsWith("A -> B ", StringComparison.Ordinal), Soon, "ping", "--from", "A", "--to", "B");

        // SIGSTOP keeps the TCP connections open: only the phi detector can notice.
        Assert.Equal(0, (await cluster.RunAsync("cluster", "pause", "C")).ExitCode);
        var paused = await cluster.EventuallyAsync(r => r.ExitCode == 1 && r.Stderr.Contains("C is unreachable from A", StringComparison.Ordinal), Soon,
            "ping", "--from", "A", "--to", "C", "--timeout", "0.5");
        Assert.Contains("no path over live links", paused.Stderr);
        Assert.Equal(0, (await cluster.RunAsync("cluster", "resume", "C")).ExitCode);
        await cluster.EventuallyAsync(r => r.ExitCode == 0 && r.Stdout.StartsWith("A -> C ", StringComparison.Ordinal), Soon, "ping", "--from", "A", "--to", "C");
    }

    [Fact(Timeout = 120_000)]
    public async Task Fault_injection_is_refused_unless_enabled()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3);
        var fault = await cluster.RunAsync("fault", "--node", "A", "--link", "B", "--drop");
        Assert.NotEqual(0, fault.ExitCode);
        Assert.Contains("--allow-fault-injection", fault.Stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_up_that_fails_half_way_leaves_no_process_behind()
    {
        var basePort = BraidProcess.FreePortBlock(6);
        var dir = Path.Combine(Path.GetTempPath(), "braid-e2e-fail-" + Guid.NewGuid().ToString("N")[..8]);
        var blocker = new TcpListener(IPAddress.Loopback, basePort + 3); // node D's port is taken
        blocker.Start();
        try
        {
            var up = await BraidProcess.RunAsync(TimeSpan.FromSeconds(90), "cluster", "up", "--dir", dir, "--base-port", basePort.ToString(), "--timeout", "20");
            Assert.NotEqual(0, up.ExitCode);
            Assert.Contains("node D", up.Stderr);
            Assert.Empty(BraidProcess.ProcessesMentioning(dir));
            Assert.False(File.Exists(Path.Combine(dir, "cluster.json")));
        }
        finally
        {
            blocker.Stop();
            foreach (var pid in BraidProcess.ProcessesMentioning(dir)) System.Diagnostics.Process.GetProcessById(pid).Kill();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Bad_topologies_and_unknown_commands_get_clear_errors()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, """{ "nodes": [ { "id": "A", "host": "127.0.0.1", "port": 1 } ], "edges": [ ["A", "Q"] ] }""");
        var bad = await BraidProcess.RunAsync(TimeSpan.FromSeconds(30), "cluster", "up", "--topology", file, "--dir", file + ".d");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("unknown node 'Q'", bad.Stderr);
        var help = await BraidProcess.RunAsync(TimeSpan.FromSeconds(30), "cluster", "up", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--base-port", help.Stdout);
        File.Delete(file);
    }
}

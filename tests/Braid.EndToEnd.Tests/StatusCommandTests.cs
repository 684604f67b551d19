using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Braid.Cli.Cluster;

namespace Braid.EndToEnd.Tests;

/// <summary>`braid status` against real node processes: found through one seed, and still answering,
/// promptly, when a node is dead or frozen.</summary>
public sealed class StatusCommandTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(20);

    private static JsonElement Json(CommandResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    private static bool EveryPartitionLed(JsonElement status) =>
        status.GetProperty("partitions").GetArrayLength() > 0 &&
        status.GetProperty("partitions").EnumerateArray().All(p => p.GetProperty("leader").ValueKind == JsonValueKind.String);

    /// <summary>Every node answered and every partition's leader answered as leader: start-up elections are over.</summary>
    private static bool Settled(CommandResult result)
    {
        if (result.ExitCode != 0) return false;
        using var doc = JsonDocument.Parse(result.Stdout);
        var status = doc.RootElement;
        return EveryPartitionLed(status)
            && status.GetProperty("nodes").EnumerateArray().All(n => n.GetProperty("state").GetString() == "up")
            && status.GetProperty("partitions").EnumerateArray().All(p => p.GetProperty("leader_answered").GetBoolean()
                && p.GetProperty("replicas").EnumerateArray().All(r => r.GetProperty("answered").GetBoolean()));
    }

    private static JsonElement Node(JsonElement status, string id) =>
        status.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("id").GetString() == id);

    [Fact(Timeout = 180_000)]
    public async Task Status_json_from_one_seed_lists_every_node_and_every_partition_with_its_leader()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3, false, "--partitions", "6");
        var seed = cluster.Addresses()[1];
        // Right after start-up some partitions may still be electing.
        var result = await cluster.EventuallyAsync(Settled, Soon, "status", "--json", "--seeds", seed);
        var status = Json(result);

        Assert.Equal("seeds " + seed, status.GetProperty("source").GetString());
        var nodes = status.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(["A", "B", "C"], nodes.Select(n => n.GetProperty("id").GetString()));
        Assert.Equal(cluster.Addresses(), nodes.Select(n => n.GetProperty("address").GetString()));
        Assert.All(nodes, n =>
        {
            Assert.Equal("up", n.GetProperty("state").GetString());
            Assert.True(n.GetProperty("incarnation").GetUInt64() > 0);
            Assert.True(n.GetProperty("uptime_ms").GetInt64() > 0);
            Assert.Equal(2, n.GetProperty("links").EnumerateArray().Count(l => l.GetProperty("alive").GetBoolean()));
        });

        var partitions = status.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal([0u, 1u, 2u, 3u, 4u, 5u], partitions.Select(p => p.GetProperty("partition").GetUInt32()));
        foreach (var p in partitions)
        {
            var replicas = p.GetProperty("replicas").EnumerateArray().ToList();
            Assert.Equal(3, replicas.Count);
            Assert.Contains(p.GetProperty("leader").GetString(), replicas.Select(r => r.GetProperty("node").GetString()));
            Assert.True(p.GetProperty("leader_answered").GetBoolean());
            Assert.True(p.GetProperty("term").GetUInt64() > 0);
            Assert.All(replicas, r => Assert.True(r.GetProperty("answered").GetBoolean()));
            Assert.Equal("Leader", replicas.Single(r => r.GetProperty("node").GetString() == p.GetProperty("leader").GetString()).GetProperty("role").GetString());
            Assert.All(replicas, r => Assert.Equal(JsonValueKind.Number, r.GetProperty("lag").ValueKind));
        }
        Assert.Equal(JsonValueKind.Array, status.GetProperty("alarms").ValueKind);

        // The same cluster found through its folder, as text: every node and partition on a line.
        var text = await cluster.RunAsync("status");
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("3/3 nodes up", text.Stdout);
        foreach (var p in partitions) Assert.Contains($"p{p.GetProperty("partition").GetUInt32()} ", text.Stdout);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_frozen_or_dead_node_shows_as_unreachable_and_the_command_still_succeeds_within_its_timeout()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3, false, "--partitions", "3");
        var seeds = string.Join(",", cluster.Addresses()[2], cluster.Addresses()[0]); // C first: it will be down

        Assert.Equal(0, (await cluster.RunAsync("cluster", "pause", "C")).ExitCode);
        var clock = Stopwatch.StartNew();
        var paused = Json(await cluster.RunAsync("status", "--json", "--seeds", seeds, "--timeout", "2"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"status took {clock.Elapsed}");
        Assert.Equal("unreachable", Node(paused, "C").GetProperty("state").GetString());
        Assert.Contains("no answer within 2 s", Node(paused, "C").GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, Node(paused, "C").GetProperty("incarnation").ValueKind);
        Assert.Equal("up", Node(paused, "A").GetProperty("state").GetString());
        Assert.False(paused.GetProperty("healthy").GetBoolean());
        Assert.Contains(paused.GetProperty("alarms").EnumerateArray(),
            a => a.GetProperty("kind").GetString() == "unreachable" && a.GetProperty("node").GetString() == "C");
        Assert.Equal(0, (await cluster.RunAsync("cluster", "resume", "C")).ExitCode);

        Assert.Equal(0, (await cluster.RunAsync("cluster", "kill", "C")).ExitCode);
        // The survivors keep a majority of every partition: each gets a leader on A or B.
        var dead = Json(await cluster.EventuallyAsync(r => r.ExitCode == 0 && EveryPartitionLed(JsonDocument.Parse(r.Stdout).RootElement)
                && JsonDocument.Parse(r.Stdout).RootElement.GetProperty("partitions").EnumerateArray().All(p => p.GetProperty("leader").GetString() != "C"),
            Soon, "status", "--json", "--seeds", seeds, "--timeout", "2"));
        var c = Node(dead, "C");
        Assert.Equal("unreachable", c.GetProperty("state").GetString());
        Assert.Equal(0, c.GetProperty("links").GetArrayLength());
        Assert.Contains(dead.GetProperty("partitions").EnumerateArray().SelectMany(p => p.GetProperty("replicas").EnumerateArray()),
            r => r.GetProperty("node").GetString() == "C" && !r.GetProperty("answered").GetBoolean() && r.GetProperty("lag").ValueKind == JsonValueKind.Null);
        Assert.All(new[] { "A", "B" }, id => Assert.Contains(Node(dead, id).GetProperty("links").EnumerateArray(),
            l => l.GetProperty("neighbour").GetString() == "C" && !l.GetProperty("alive").GetBoolean()));

        // The local view (no --seeds) also knows the process is dead, and the text form says so.
        var text = await cluster.RunAsync("status", "--timeout", "2");
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("2/3 nodes up", text.Stdout);
        Assert.Matches(@"(?m)^C\s+\S+\s+\S+\s+unreachable\s+dead\b", text.Stdout);
    }

    /// <summary>Whether this process ignores SIGINT (bit 1 of SigIgn in /proc/self/status); its children inherit that.</summary>
    private static bool SigIntIgnoredHere()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0;
    }

    [Fact(Timeout = 120_000)]
    public async Task Watch_prints_snapshots_separated_by_a_blank_line_and_ctrl_c_ends_it_with_exit_0()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3, false, "--partitions", "3");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { BraidProcess.Dll, "status", "--json", "--watch", "0.3", "--dir", cluster.Directory }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = new StringBuilder();
        var stderr = process.StandardError.ReadToEndAsync();
        var reader = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int n;
            while ((n = await process.StandardOutput.ReadAsync(buffer)) > 0)
                lock (stdout) stdout.Append(buffer, 0, n);
        });
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (Snapshots(stdout).Count < 3)
            {
                Assert.True(DateTime.UtcNow < deadline, $"fewer than 3 snapshots after 30 s:\n{stdout}\n{(process.HasExited ? await stderr : "")}");
                await Task.Delay(100);
            }
            // SIGINT, as Ctrl-C; but a process started with SIGINT ignored (a shell's background job,
            // nohup: so were these tests in some runs) passes that on to its children, and then
            // the watch never sees it: SIGTERM, which ends the watch the same way, instead.
            Assert.True(ProcessControl.Signal(process.Id, SigIntIgnoredHere() ? ProcessControl.SigTerm : 2));
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(exit.Token);
            }
            catch (OperationCanceledException)
            {
                var state = File.Exists($"/proc/{process.Id}/status") ? File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("State:", StringComparison.Ordinal)) : "gone";
                Assert.Fail($"status --watch still running 30 s after SIGINT ({state}); stdout so far:\n{stdout}");
            }
            await reader.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}; stderr: {await stderr}");
        var snapshots = Snapshots(stdout);
        Assert.True(snapshots.Count >= 3);
        Assert.DoesNotContain('\u001b', stdout.ToString()); // not a terminal: no ANSI
        foreach (var s in snapshots)
        {
            using var doc = JsonDocument.Parse(s);
            Assert.Equal(3, doc.RootElement.GetProperty("nodes").GetArrayLength());
        }
    }

    /// <summary>The complete JSON documents printed so far (each followed by a blank line or the end).</summary>
    private static List<string> Snapshots(StringBuilder output)
    {
        string text;
        lock (output) text = output.ToString();
        var docs = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return docs.Where(d => d.StartsWith('{') && d.EndsWith('}')).ToList();
    }
}

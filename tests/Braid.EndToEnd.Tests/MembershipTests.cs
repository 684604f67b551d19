using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Braid.Core.Topology;
using Xunit.Abstractions;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// Membership end to end (issue 12) on mini2: a node lost for good (kill -9, data deleted) is
/// declared dead after --dead-after and every group it held is brought back to three replicas by
/// the cluster itself; then a second node dies and every partition still takes writes; counts
/// stay exact throughout.
/// </summary>
public sealed class MembershipTests(ITestOutputHelper output)
{
    internal static readonly TimeSpan Within = TimeSpan.FromSeconds(120);

    [Fact(Timeout = 600_000)]
    public async Task A_node_lost_for_good_is_replaced_without_an_operator_and_a_second_loss_still_takes_writes()
    {
        await using var cluster = await LocalCluster.UpAsync("mini2", 6, false, "--dead-after", "5s");
        var records = StreamingTests.Records(300_000);
        using (var client = await StreamingTests.ConnectAsync(cluster))
            await StreamingTests.IngestAsync(client, records, 1000);
        await AssertCountAsync(cluster, 300_000);

        var before = await MembersAsync(cluster);
        Assert.True(before.Groups.All(g => g.InPlace), "every group in place before the loss");
        var held = before.Groups.Count(g => g.Target.Contains("D"));
        Assert.True(held > 0, "D holds replicas");

        var kill = await cluster.RunAsync("cluster", "kill", "D");
        Assert.True(kill.ExitCode == 0, kill.ToString());
        var clock = Stopwatch.StartNew();
        DeleteData(cluster, "D");

        // No operator: the metadata leader declares D dead after 5 s and moves its replicas.
        var after = await EventuallyAsync(cluster, m => m.Nodes.Single(n => n.Id == "D").State == "dead"
            && m.Groups.All(g => g.InPlace && g.Voters.Count == 3 && !g.Voters.Contains("D")), Within);
        output.WriteLine($"D dead and {held} groups back at 3 replicas {clock.Elapsed.TotalSeconds:F1} s after the kill");
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(5), "not declared dead before --dead-after");
        await AssertCountAsync(cluster, 300_000);

        // A second node dies: pick one every group survives (a connected majority of its voters in
        // what is left of the graph), then write to every partition.
        var graph = TopologyLoader.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "topologies", "mini2.json")), "mini2.json");
        var second = new[] { "A", "B", "C", "E", "F" }.First(x => after.Groups.All(g => SurvivesWithout(graph, g.Voters, ["D", x])));
        var kill2 = await cluster.RunAsync("cluster", "kill", second);
        Assert.True(kill2.ExitCode == 0, kill2.ToString());
        output.WriteLine($"second loss: {second}");
        var more = StreamingTests.Records(3_000);
        using (var client = await StreamingTests.ConnectAsync(cluster))
            await StreamingTests.IngestAsync(client, more, 100, producer: 77);
        await AssertCountAsync(cluster, 303_000);
    }

    [Fact(Timeout = 600_000)]
    public async Task A_lost_node_of_the_first_metadata_placement_comes_back_as_new_and_learns_the_catalog_at_once()
    {
        // A holds a replica of the metadata group's first placement: back on an empty disk it
        // reopens that replica, which hears nothing once the group has moved. It must still learn
        // the catalog (the fault lab's loss found one stuck on version 0 for four minutes, its stale
        // targets bouncing a partition's leadership between it and another node).
        await using var cluster = await LocalCluster.UpAsync("mini2", 6, false, "--dead-after", "5s");
        using (var client = await StreamingTests.ConnectAsync(cluster))
            await StreamingTests.IngestAsync(client, StreamingTests.Records(30_000), 1000);
        Assert.Contains("A", (await MembersAsync(cluster)).Groups.Single(g => g.Name == "meta").Target);

        var kill = await cluster.RunAsync("cluster", "kill", "A");
        Assert.True(kill.ExitCode == 0, kill.ToString());
        DeleteData(cluster, "A");
        var moved = await EventuallyAsync(cluster, m => m.Nodes.Single(n => n.Id == "A").State == "dead" && m.Groups.All(g => g.InPlace && !g.Voters.Contains("A")), Within);
        Assert.DoesNotContain("A", moved.Groups.Single(g => g.Name == "meta").Voters);

        var restart = await cluster.RunAsync("cluster", "restart", "A");
        Assert.True(restart.ExitCode == 0, restart.ToString());
        var clock = Stopwatch.StartNew();
        var add = await cluster.RunAsync("cluster", "add", "A", "--timeout", "60", "--seeds", string.Join(",", cluster.Addresses().Where((_, i) => i != cluster.NodeIndex("A"))));
        output.WriteLine(add.Stdout);
        Assert.True(add.ExitCode == 0, add + "\n" + MembershipLog(cluster));
        output.WriteLine($"A back as new, every group in place {clock.Elapsed.TotalSeconds:F1} s after the add began");
        var back = await MembersAsync(cluster);
        Assert.True(back.Groups.All(g => g.InPlace), "every group in place");
        Assert.True(back.Nodes.Single(n => n.Id == "A").Replicas > 0, "A takes replicas again");
        await AssertCountAsync(cluster, 30_000);
    }

    [Fact(Timeout = 600_000)]
    public async Task A_seventh_node_added_with_its_own_edges_takes_replicas_is_replaced_by_an_eighth_which_gives_them_back_when_removed_while_writes_flow()
    {
        await using var cluster = await LocalCluster.UpAsync("mini2", 6);
        var records = StreamingTests.Records(300_000);
        using (var client = await StreamingTests.ConnectAsync(cluster))
            await StreamingTests.IngestAsync(client, records, 1000);

        // Writes flow through both changes: a second producer sends 200 batches meanwhile.
        var more = StreamingTests.Records(20_000);
        using var writer = await StreamingTests.ConnectAsync(cluster);
        var writing = Task.Run(() => StreamingTests.IngestAsync(writer, more, 100, _ => Task.Delay(50), producer: 91));

        // G is not in the topology file: cluster add gives it an address, a certificate, a process;
        // the overlay links C-G and F-G come up without restarting anyone; groups rebalance onto G.
        var add = await cluster.RunAsync("cluster", "add", "G", "--edges", "C,F", "--timeout", "120");
        Assert.True(add.ExitCode == 0, add.ToString());
        output.WriteLine(add.Stdout);
        var grown = await MembersAsync(cluster);
        Assert.True(grown.Groups.All(g => g.InPlace), "every group in place after the add");
        var onG = grown.Groups.Count(g => g.Voters.Contains("G"));
        Assert.True(onG >= 4, $"only {onG} groups on G");
        Assert.Equal(onG, grown.Nodes.Single(n => n.Id == "G").Replicas);
        var again = await cluster.RunAsync("cluster", "add", "G", "--edges", "C,F");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("unchanged", again.Stdout);

        // G replaced by H (new, with an edge to E): every group holding G gets H instead.
        var replace = await cluster.RunAsync("cluster", "replace", "G", "--with", "H", "--edges", "E", "--timeout", "120");
        Assert.True(replace.ExitCode == 0, replace.ToString());
        output.WriteLine(replace.Stdout);
        var replaced = await MembersAsync(cluster);
        Assert.Equal("removed", replaced.Nodes.Single(n => n.Id == "G").State);
        Assert.Equal(onG, replaced.Groups.Count(g => g.Voters.Contains("H")));
        Assert.DoesNotContain(replaced.Groups, g => g.Voters.Contains("G") || g.Learners.Contains("G"));

        // Removing H moves its replicas away first (each group adds its new member, then lets H go).
        var remove = await cluster.RunAsync("cluster", "remove", "H", "--timeout", "120");
        Assert.True(remove.ExitCode == 0, remove.ToString());
        output.WriteLine(remove.Stdout);
        var shrunk = await MembersAsync(cluster);
        Assert.Equal("removed", shrunk.Nodes.Single(n => n.Id == "H").State);
        Assert.True(shrunk.Groups.All(g => g.InPlace && g.Voters.Count == 3 && !g.Voters.Contains("H")), "H holds nothing");

        await writing.WaitAsync(Within);
        await AssertCountAsync(cluster, 320_000);
    }

    /// <summary>The voters of a group, minus the dead, hold a majority of the group that can reach each other.</summary>
    internal static bool SurvivesWithout(ClusterTopology graph, IReadOnlyList<string> voters, string[] dead)
    {
        var live = graph.Subgraph(n => !dead.Contains(n));
        var left = voters.Where(v => !dead.Contains(v)).ToList();
        if (left.Count < voters.Count / 2 + 1) return false;
        var reached = new HashSet<string> { left[0] };
        var queue = new Queue<string>([left[0]]);
        while (queue.TryDequeue(out var at))
            foreach (var next in live.NeighboursOf(at))
                if (reached.Add(next)) queue.Enqueue(next);
        return left.Count(reached.Contains) >= voters.Count / 2 + 1;
    }

    /// <summary>Every node's membership and catalog log lines, for a failure's message.</summary>
    internal static string MembershipLog(LocalCluster cluster) => string.Join("\n",
        new[] { "A", "B", "C", "D", "E", "F" }.Select(n => Path.Combine(cluster.Directory, n, "node.log")).Where(File.Exists).SelectMany(f =>
            File.ReadLines(f).Where(l => l.Contains("membership", StringComparison.Ordinal) || l.Contains("catalog at", StringComparison.Ordinal)).TakeLast(40)
                .Select(l => Path.GetFileName(Path.GetDirectoryName(f)) + " " + l)));

    internal static void DeleteData(LocalCluster cluster, string node)
    {
        var data = Path.Combine(cluster.Directory, node);
        foreach (var entry in Directory.EnumerateFileSystemEntries(data).Where(e => Path.GetFileName(e) != "node.log").ToList())
            if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);
    }

    internal static async Task AssertCountAsync(LocalCluster cluster, long expected)
    {
        var count = await cluster.RunAsync("count", "airquality");
        Assert.True(count.ExitCode == 0, count.ToString());
        Assert.Equal(expected.ToString(CultureInfo.InvariantCulture), count.Stdout.Trim());
    }

    internal sealed record Group(string Name, IReadOnlyList<string> Target, IReadOnlyList<string> Voters, IReadOnlyList<string> Learners, bool InPlace);

    internal sealed record Node(string Id, string State, int Replicas);

    internal sealed record Members(IReadOnlyList<Node> Nodes, IReadOnlyList<Group> Groups);

    internal static async Task<Members> MembersAsync(LocalCluster cluster)
    {
        var result = await cluster.RunAsync("cluster", "members", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        static List<string> Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToList();
        return new Members(
            doc.RootElement.GetProperty("nodes").EnumerateArray().Select(n => new Node(n.GetProperty("id").GetString()!, n.GetProperty("state").GetString()!, n.GetProperty("replicas").GetInt32())).ToList(),
            doc.RootElement.GetProperty("groups").EnumerateArray().Select(g => new Group(g.GetProperty("group").GetString()!, Strings(g.GetProperty("target")),
                Strings(g.GetProperty("voters")), Strings(g.GetProperty("learners")), g.GetProperty("in_place").GetBoolean())).ToList());
    }

    internal static async Task<Members> EventuallyAsync(LocalCluster cluster, Func<Members, bool> done, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        Members last;
        do
        {
            last = await MembersAsync(cluster);
            if (done(last)) return last;
            await Task.Delay(500);
        }
        while (clock.Elapsed < within);
        Assert.Fail($"membership not reached within {within.TotalSeconds} s; last: {string.Join("; ", last.Nodes.Select(n => $"{n.Id} {n.State}"))}; "
            + string.Join("; ", last.Groups.Select(g => $"{g.Name} target {string.Join(",", g.Target)} voters {string.Join(",", g.Voters)} learners {string.Join(",", g.Learners)}")));
        return last;
    }
}

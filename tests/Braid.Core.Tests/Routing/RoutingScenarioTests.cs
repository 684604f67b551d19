using Braid.Protocol.V1;

namespace Braid.Core.Tests.Routing;

/// <summary>Routing on the mini 2 graph (edges AB BC BD AE EF ED), as readable scenarios.</summary>
public sealed class RoutingScenarioTests
{
    private static OverlayHarness Mini2()
    {
        var harness = new OverlayHarness(TestTopologies.Load("mini2"));
        harness.Advance(TimeSpan.FromMilliseconds(500));
        return harness;
    }

    private static string Table(OverlayHarness h, string node) =>
        string.Join(" ", h.RoutesOf(node).OrderBy(r => r.Key).Select(r => $"{r.Key}>{r.Value.NextHop}/{r.Value.Hops}"));

    private static string[] Ping(OverlayHarness h, string from, string to)
    {
        var id = h[from].SendProbe(to);
        Assert.True(id.HasValue, $"{from} has no route to {to}");
        h.Advance(TimeSpan.FromMilliseconds(10));
        var reply = h.Delivered.Single(d => d.Node == from && d.Envelope.BodyCase == Envelope.BodyOneofCase.ProbeReply && d.Envelope.ProbeReply.ProbeId == id);
        return [.. reply.Envelope.ProbeReply.ForwardRoute];
    }

    [Fact]
    public void Converged_tables_are_shortest_paths_with_the_lowest_next_hop_on_ties()
    {
        var h = Mini2();
        Assert.Equal("B>B/1 C>B/2 D>B/2 E>E/1 F>E/2", Table(h, "A"));
        Assert.Equal("A>B/2 B>B/1 D>B/2 E>B/3 F>B/4", Table(h, "C"));
        Assert.Equal("A>B/2 B>B/1 C>B/2 E>E/1 F>E/2", Table(h, "D"));
        Assert.Equal(["A", "B", "D"], Ping(h, "A", "D"));
    }

    [Fact]
    public void With_link_B_D_cut_D_is_reached_from_A_through_E()
    {
        var h = Mini2();
        h.CutLink("B", "D");
        Assert.Equal("E", h.RoutesOf("A")["D"].NextHop);
        Assert.Equal(["A", "E", "D"], Ping(h, "A", "D"));
        Assert.Equal(["C", "B", "A", "E", "D"], Ping(h, "C", "D"));
    }

    [Fact]
    public void With_node_B_down_C_is_unreachable_and_the_rest_reachable_within_a_second()
    {
        var h = Mini2();
        h.CrashSilently("B");
        h.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["B", "C"], h["A"].Unreachable().Order());
        Assert.Equal("D>E/2 E>E/1 F>E/2", Table(h, "A"));
        Assert.Equal(["A", "E", "D"], Ping(h, "A", "D"));
        Assert.Null(h["A"].SendProbe("C"));
        Assert.Equal(["A", "B", "D", "E", "F"], h["C"].Unreachable().Order());
    }

    [Fact]
    public void Every_route_change_is_reported_also_one_learnt_only_from_an_advert()
    {
        // E is not B's neighbour: it learns of B's crash only from A's and D's adverts. A host acts
        // on RoutesChanged (logs, instant failover), so a change it is not told of is invisible.
        var h = Mini2();
        h.CrashSilently("B");
        h.Advance(TimeSpan.FromSeconds(1));
        foreach (var id in new[] { "A", "D", "E", "F" })
            Assert.Equal(OverlayHarness.Describe(h.RoutesOf(id)), h.ReportedRoutes.GetValueOrDefault(id));
        Assert.DoesNotContain("B>", h.ReportedRoutes["E"]);
    }

    [Fact]
    public void After_B_returns_every_table_converges_to_the_original()
    {
        var h = Mini2();
        var original = h.AllRoutes();
        h.CrashSilently("B");
        h.Advance(TimeSpan.FromSeconds(2));
        Assert.NotEqual(Table(h, "A"), string.Join(" ", original["A"].OrderBy(r => r.Key).Select(r => $"{r.Key}>{r.Value.NextHop}/{r.Value.Hops}")));
        h.Restart("B");
        h.Advance(TimeSpan.FromSeconds(1));
        var healed = h.AllRoutes();
        foreach (var node in original.Keys)
            Assert.Equal(original[node].OrderBy(r => r.Key), healed[node].OrderBy(r => r.Key));
        Assert.Equal(["A", "B", "D"], Ping(h, "A", "D"));
    }

    [Fact]
    public void A_healed_link_is_used_again()
    {
        var h = Mini2();
        h.CutLink("A", "B");
        Assert.Equal(["A", "E", "D", "B"], Ping(h, "A", "B"));
        h.HealLink("A", "B");
        Assert.Equal(["A", "B"], Ping(h, "A", "B"));
    }

    [Fact]
    public void Routes_on_the_nine_node_graph_survive_any_single_link_cut_on_the_cycle()
    {
        var h = new OverlayHarness(TestTopologies.Load("mini2-9"));
        h.Advance(TimeSpan.FromMilliseconds(500));
        h.CutLink("A", "B");
        foreach (var target in new[] { "B", "C", "D", "E", "F", "G", "H", "I" })
            Assert.Equal(target, Ping(h, "A", target)[^1]);
    }

    [Fact]
    public void A_second_silent_outage_is_detected_as_fast_as_the_first()
    {
        var h = Mini2();
        var detection = new List<TimeSpan>();
        for (var outage = 0; outage < 3; outage++)
        {
            h.CrashSilently("B");
            var start = h.Now;
            while (h.RoutesOf("A")["D"].NextHop == "B") h.Advance(TimeSpan.FromMilliseconds(10));
            detection.Add(h.Now - start);
            h.Advance(TimeSpan.FromSeconds(3));
            h.Resume("B");
            h.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal("B", h.RoutesOf("A")["D"].NextHop);
        }
        Assert.All(detection, d => Assert.InRange(d.TotalMilliseconds, 100, 1000));
    }
}

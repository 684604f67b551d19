using Braid.Core.Routing;
using Braid.Protocol.V1;

namespace Braid.Core.Tests.Routing;

/// <summary>
/// Issue 11: what a hostile or broken neighbour can put on a link. Every case is one envelope
/// handed to A as if B had sent it; none may throw, and none may change what A believes.
/// </summary>
public sealed class HostileEnvelopeTests
{
    private static OverlayHarness Mini2()
    {
        var harness = new OverlayHarness(TestTopologies.Load("mini2"));
        harness.Advance(TimeSpan.FromMilliseconds(500));
        return harness;
    }

    private static Envelope ProbeReplyWithoutRoute() =>
        new() { Source = "B", Destination = "A", Ttl = 16, ProbeReply = new ProbeReply { ProbeId = 1 } };

    [Fact]
    public void A_probe_reply_with_an_empty_route_is_dropped_without_an_exception()
    {
        var h = Mini2();
        Assert.Null(Record.Exception(() => h.Inject("B", "A", ProbeReplyWithoutRoute())));
        Assert.DoesNotContain(h.Delivered, d => d.Node == "A" && d.Envelope.BodyCase == Envelope.BodyOneofCase.ProbeReply);
        Assert.Equal(1, h["A"].Refused);
    }

    public static TheoryData<string, Envelope> Malformed() => new()
    {
        { "no body", new Envelope { Source = "B", Destination = "A", Ttl = 16 } },
        { "unknown source", new Envelope { Source = "Z", Destination = "A", Ttl = 16, Payload = Google.Protobuf.ByteString.Empty } },
        { "unknown destination", new Envelope { Source = "B", Destination = "", Ttl = 16, Payload = Google.Protobuf.ByteString.Empty } },
        { "ttl 0", new Envelope { Source = "B", Destination = "D", Ttl = 0, Payload = Google.Protobuf.ByteString.Empty } },
        { "ttl above the default", new Envelope { Source = "B", Destination = "D", Ttl = uint.MaxValue, Payload = Google.Protobuf.ByteString.Empty } },
        // F is three hops from B: an envelope of F's reaching A through B has used at least three.
        { "a fresh ttl from a node far away", new Envelope { Source = "F", Destination = "A", Ttl = 16, Payload = Google.Protobuf.ByteString.Empty } },
        { "from A to A", new Envelope { Source = "A", Destination = "A", Ttl = 15, Payload = Google.Protobuf.ByteString.Empty } },
        { "route on a payload", new Envelope { Source = "B", Destination = "A", Ttl = 16, Payload = Google.Protobuf.ByteString.Empty, Route = { "B" } } },
        { "probe without route", new Envelope { Source = "B", Destination = "D", Ttl = 16, Probe = new Probe() } },
        { "probe route off the graph", new Envelope { Source = "C", Destination = "A", Ttl = 14, Probe = new Probe(), Route = { "C", "F", "B" } } },
        { "reply without forward route", new Envelope { Source = "B", Destination = "A", Ttl = 16, ProbeReply = new ProbeReply(), Route = { "B" } } },
        { "reply forward route off the graph", new Envelope { Source = "B", Destination = "A", Ttl = 16,
            ProbeReply = new ProbeReply { ForwardRoute = { "A", "C", "B" } }, Route = { "B" } } },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_envelopes_are_refused_and_dropped(string why, Envelope envelope)
    {
        var h = Mini2();
        var before = h.Delivered.Count;
        Assert.Null(Record.Exception(() => h.Inject("B", "A", envelope)));
        Assert.True(h["A"].Refused == 1, why);
        Assert.Equal(before, h.Delivered.Count);
    }

    [Fact]
    public void A_neighbour_cannot_deliver_to_A_an_envelope_that_claims_to_come_from_A()
    {
        var h = Mini2();
        h.Inject("B", "A", new Envelope { Source = "A", Destination = "A", Ttl = 15, Raft = new RaftBatch() });
        Assert.DoesNotContain(h.Delivered, d => d.Node == "A");
    }

    [Fact]
    public void A_well_formed_forwarded_envelope_is_still_delivered()
    {
        var h = Mini2();
        h.Inject("B", "A", new Envelope { Source = "C", Destination = "A", Ttl = 15, Payload = Google.Protobuf.ByteString.Empty });
        Assert.Contains(h.Delivered, d => d.Node == "A" && d.Envelope.Source == "C");
        Assert.Equal(0, h["A"].Refused);
    }

    [Fact]
    public void Adverts_are_taken_only_as_link_local_flooding_from_the_neighbour_itself()
    {
        var h = Mini2();
        var advert = new LinkStateAdvert { Origin = "C", Incarnation = 10_000, Sequence = 1 };
        // Claims to come from D through B, with a TTL to travel further: not how adverts flood.
        h.Inject("B", "A", new Envelope { Source = "D", Destination = "A", Ttl = 14, LinkState = advert });
        h.Inject("B", "A", new Envelope { Source = "B", Destination = "F", Ttl = 16, LinkState = advert });
        Assert.Equal(2, h["A"].Refused);
        Assert.True(h["A"].Router.Routes.ContainsKey("C"));
    }

    [Fact]
    public void Adverts_listing_non_neighbours_or_absurd_numbers_are_refused()
    {
        var h = Mini2();
        Envelope From(LinkStateAdvert a) => new() { Source = "B", Destination = "A", Ttl = 1, LinkState = a };
        h.Inject("B", "A", From(new LinkStateAdvert { Origin = "C", Incarnation = 200, Sequence = 1, LiveNeighbours = { "F" } }));
        h.Inject("B", "A", From(new LinkStateAdvert { Origin = "C", Incarnation = 200, Sequence = 1, LiveNeighbours = { "B", "B" } }));
        h.Inject("B", "A", From(new LinkStateAdvert { Origin = "C", Incarnation = 200, Sequence = 0 }));
        h.Inject("B", "A", From(new LinkStateAdvert { Origin = "C", Incarnation = 200, Sequence = ulong.MaxValue }));
        h.Inject("B", "A", From(new LinkStateAdvert { Origin = "C", Incarnation = ulong.MaxValue, Sequence = 1 }));
        h.Inject("B", "A", From(new LinkStateAdvert { Origin = "Q", Incarnation = 200, Sequence = 1 }));
        Assert.Equal(6, h["A"].Refused);
        Assert.Empty(h["A"].Unreachable());
    }

    [Fact]
    public void A_forged_advert_with_the_largest_numbers_does_not_make_C_unreachable_even_after_C_restarts()
    {
        var h = Mini2();
        var forged = new LinkStateAdvert { Origin = "C", Incarnation = ulong.MaxValue, Sequence = ulong.MaxValue };
        h.Inject("B", "A", new Envelope { Source = "B", Destination = "A", Ttl = 1, LinkState = forged });
        h.Advance(TimeSpan.FromSeconds(1));
        foreach (var node in TestTopologies.Load("mini2").NodeIds) Assert.Empty(h[node].Unreachable());
        h.Restart("C");
        h.Advance(TimeSpan.FromSeconds(1));
        foreach (var node in TestTopologies.Load("mini2").NodeIds) Assert.Empty(h[node].Unreachable());
    }

    [Fact]
    public void C_fights_back_at_once_against_a_plausible_forged_advert_about_itself()
    {
        var h = Mini2();
        var own = h["C"].Router.Own;
        var forged = new LinkStateAdvert { Origin = "C", Incarnation = own.Incarnation + 1000, Sequence = LinkStateLimits.SequenceMax };
        h.Inject("B", "A", new Envelope { Source = "B", Destination = "A", Ttl = 1, LinkState = forged });
        h.Advance(TimeSpan.FromMilliseconds(100));
        foreach (var node in TestTopologies.Load("mini2").NodeIds) Assert.Empty(h[node].Unreachable());
        // The sequence was at its bound, so C moved to the next incarnation instead of wrapping.
        Assert.Equal((own.Incarnation + 1001, 1UL), (h["C"].Router.Own.Incarnation, h["C"].Router.Own.Sequence));
        Assert.Equal(h["C"].Router.Own.Incarnation, h["A"].Router.Database.Single(a => a.Origin == "C").Incarnation);
        // And C still wins after a restart with a smaller incarnation than the forgery.
        h.Restart("C");
        h.Advance(TimeSpan.FromMilliseconds(100));
        foreach (var node in TestTopologies.Load("mini2").NodeIds) Assert.Empty(h[node].Unreachable());
    }

    [Fact]
    public void A_forgery_given_only_to_a_leaf_reaches_C_through_the_refresh_and_C_wins()
    {
        var h = Mini2();
        var own = h["C"].Router.Own;
        // F's only neighbour is E, the one that handed it the forgery, so F floods it nowhere; C's
        // next refresh (older) reaching F makes F send its newer copy back, and so C hears of it.
        var forged = new LinkStateAdvert { Origin = "C", Incarnation = own.Incarnation + 1000, Sequence = 7 };
        h.Inject("E", "F", new Envelope { Source = "E", Destination = "F", Ttl = 1, LinkState = forged });
        Assert.Contains("C", h["F"].Unreachable());
        h.Advance(Braid.Core.Overlay.OverlayOptions.Default.AdvertRefreshInterval + TimeSpan.FromSeconds(1));
        foreach (var node in TestTopologies.Load("mini2").NodeIds) Assert.Empty(h[node].Unreachable());
        Assert.Equal((own.Incarnation + 1000, 8UL), (h["F"].Router.Stored("C")!.Incarnation, h["F"].Router.Stored("C")!.Sequence));
    }

    [Fact]
    public void A_second_stream_claiming_a_neighbour_replaces_the_link_only_once_it_has_gone_quiet()
    {
        var h = Mini2();
        Assert.False(h["A"].AcceptsNewLink("B", h.Now));
        h.CrashSilently("B");
        h.Advance(TimeSpan.FromSeconds(1));
        Assert.True(h["A"].AcceptsNewLink("B", h.Now));
        h.CutLink("A", "E");
        Assert.True(h["A"].AcceptsNewLink("E", h.Now));
    }
}

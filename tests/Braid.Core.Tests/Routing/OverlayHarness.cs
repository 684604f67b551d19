using Braid.Core.Overlay;
using Braid.Core.Routing;
using Braid.Core.Topology;
using Braid.Protocol.V1;

namespace Braid.Core.Tests.Routing;

/// <summary>
/// Runs one <see cref="OverlayNode"/> per topology node in memory with instant delivery, so
/// routing scenarios read as scripts: cut a link, crash a node silently, advance time, look.
/// </summary>
internal sealed class OverlayHarness
{
    private readonly ClusterTopology topology;
    private readonly Dictionary<string, OverlayNode> nodes = new(StringComparer.Ordinal);
    private readonly HashSet<string> down = new(StringComparer.Ordinal);
    private readonly HashSet<(string, string)> cut = [];
    private ulong incarnations = 100;

    public OverlayHarness(ClusterTopology topology)
    {
        this.topology = topology;
        foreach (var id in topology.NodeIds) nodes[id] = new OverlayNode(topology, id, incarnations++, OverlayOptions.Default);
        foreach (var (a, b) in topology.Edges) Connect(a, b);
        Pump();
    }

    public TimeSpan Now { get; private set; }

    public List<(string Node, Envelope Envelope)> Delivered { get; } = [];

    /// <summary>Each node's route table as of the last output that said the routes changed (what
    /// a host sees: it logs and acts on RoutesChanged).</summary>
    public Dictionary<string, string> ReportedRoutes { get; } = new(StringComparer.Ordinal);

    public static string Describe(IReadOnlyDictionary<string, Route> routes) =>
        string.Join(" ", routes.Values.OrderBy(r => r.Destination, StringComparer.Ordinal).Select(r => $"{r.Destination}>{r.NextHop}/{r.Hops}"));

    public OverlayNode this[string id] => nodes[id];

    public IReadOnlyDictionary<string, Route> RoutesOf(string id) => nodes[id].Router.Routes;

    public Dictionary<string, Dictionary<string, Route>> AllRoutes() =>
        nodes.Where(kv => !down.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value.Router.Routes.ToDictionary());

    public void Advance(TimeSpan duration)
    {
        var end = Now + duration;
        while (Now < end)
        {
            Now += TimeSpan.FromMilliseconds(10);
            foreach (var (id, node) in nodes)
                if (!down.Contains(id)) node.Tick(Now);
            Pump();
        }
    }

    /// <summary>Hands <paramref name="to"/> an envelope as if <paramref name="from"/> had sent it on
    /// their link (a hostile or broken neighbour), then lets the overlay react.</summary>
    public void Inject(string from, string to, Envelope envelope)
    {
        nodes[to].FrameReceived(from, Now);
        nodes[to].EnvelopeReceived(from, envelope, Now);
        Pump();
    }

    /// <summary>Breaks the stream of a link (both ends see it at once).</summary>
    public void CutLink(string a, string b)
    {
        cut.Add(Key(a, b));
        if (!down.Contains(a)) nodes[a].LinkDisconnected(b, Now);
        if (!down.Contains(b)) nodes[b].LinkDisconnected(a, Now);
        Pump();
    }

    public void HealLink(string a, string b)
    {
        cut.Remove(Key(a, b));
        if (!down.Contains(a) && !down.Contains(b)) Connect(a, b);
        Pump();
    }

    /// <summary>A silent crash (like SIGSTOP or a dead host): streams stay open, nothing arrives,
    /// so neighbours must notice through phi.</summary>
    public void CrashSilently(string id) => down.Add(id);

    /// <summary>A silently crashed (paused) node runs again with its old state, like SIGCONT.</summary>
    public void Resume(string id) => down.Remove(id);

    public void Restart(string id)
    {
        down.Remove(id);
        var fresh = new OverlayNode(topology, id, incarnations++, OverlayOptions.Default);
        nodes[id] = fresh;
        foreach (var n in topology.NeighboursOf(id))
        {
            nodes[n].LinkDisconnected(id, Now);
            if (!cut.Contains(Key(id, n)) && !down.Contains(n)) Connect(id, n);
        }
        Pump();
    }

    private void Connect(string a, string b)
    {
        nodes[a].LinkConnected(b, Now);
        nodes[b].LinkConnected(a, Now);
    }

    private void Pump()
    {
        for (var round = 0; round < 10_000; round++)
        {
            var any = false;
            foreach (var (id, node) in nodes.ToList())
            {
                if (down.Contains(id)) continue;
                var output = node.TakeOutput();
                if (output.IsEmpty) continue;
                any = true;
                if (output.RoutesChanged) ReportedRoutes[id] = Describe(node.Router.Routes);
                if (output.SendHeartbeats)
                    foreach (var n in topology.NeighboursOf(id))
                        if (CanDeliver(id, n)) nodes[n].FrameReceived(id, Now);
                foreach (var (to, envelope) in output.Sends)
                {
                    if (!CanDeliver(id, to)) continue;
                    nodes[to].FrameReceived(id, Now);
                    nodes[to].EnvelopeReceived(id, envelope.Clone(), Now);
                }
                foreach (var envelope in output.Delivered) Delivered.Add((id, envelope));
            }
            if (!any) return;
        }
        throw new InvalidOperationException("the overlay did not quiesce (a forwarding loop?)");
    }

    private bool CanDeliver(string from, string to) => !down.Contains(to) && !down.Contains(from) && !cut.Contains(Key(from, to));

    private static (string, string) Key(string a, string b) => string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a);
}

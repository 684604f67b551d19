using System.Diagnostics;
using System.Threading.Channels;
using Braid.Core.Overlay;
using Braid.Core.Topology;
using Braid.Protocol.V1;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Braid.Node.Overlay;

/// <summary>
/// Drives the pure <see cref="OverlayNode"/> with real links and the real clock. Every input
/// (link up/down, frame, tick, admin request) is posted to one inbox and handled on a single
/// loop, so the core never sees concurrency; after each input the loop performs the core's output.
/// </summary>
internal sealed partial class OverlayDriver : BackgroundService, IHostedLifecycleService
{
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>The tick while every connected neighbour's heartbeats arrive on time (phi at most
    /// <see cref="WatchPhi"/>): the heartbeat interval itself.</summary>
    private static readonly TimeSpan QuietTickInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Phi above which the loop ticks every 50 ms again, so that suspicion (phi above 8) is noticed
    /// as soon as with 50 ms ticks all along: with the detector's 50 ms floor on the standard
    /// deviation, phi needs at least 245 ms to climb from 0.5 to 8, more than one quiet tick.
    /// </summary>
    private const double WatchPhi = 0.5;
    private const int FrameBytesTarget = 1 << 20;
    private readonly Channel<Action<TimeSpan>> inbox = Channel.CreateBounded<Action<TimeSpan>>(
        new BoundedChannelOptions(65_536) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Dictionary<string, LinkConnection> active = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkFault> faults = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, PendingProbe> probes = [];
    private readonly TimeProvider clock;
    private readonly long startTimestamp;
    private readonly ILogger<OverlayDriver> logger;
    private readonly NodeOptions options;
    private long heartbeatSequence;
    private static readonly TimeSpan RefusalLogInterval = TimeSpan.FromSeconds(1);
    private int refusalsPending;
    private string? refusalExample;
    private long refusalsLoggedAt;

    private readonly Metrics.NodeSamples samples;
    private readonly Metrics.OverlayMetrics metrics;

    public OverlayDriver(NodeOptions options, TimeProvider clock, ILogger<OverlayDriver> logger, Metrics.NodeSamples samples, Metrics.OverlayMetrics metrics)
    {
        this.options = options;
        this.clock = clock;
        this.logger = logger;
        this.samples = samples;
        this.metrics = metrics;
        startTimestamp = clock.GetTimestamp();
        Node = new OverlayNode(options.Topology, options.NodeId, options.Incarnation, OverlayOptions.Default);
    }

    public OverlayNode Node { get; }

    /// <summary>The graph in use: the topology file's, grown by the nodes added since (issue 12).</summary>
    public ClusterTopology Topology => Node.Topology;

    /// <summary>Raised on the overlay loop when the graph grew (the dialler starts the new links).</summary>
    public event Action<ClusterTopology>? TopologyGrown;

    /// <summary>Grows the graph to <paramref name="bigger"/> (the catalog holds nodes added since
    /// the topology file was written); a graph that is not a superset is ignored.</summary>
    public void Grow(ClusterTopology bigger) => TryPost(_ =>
    {
        var before = Node.Topology;
        if (bigger.Hash == before.Hash || !Node.Grow(bigger)) return;
        OverlayLog.TopologyGrew(logger, bigger.Nodes.Count, bigger.Edges.Count, string.Join(",", bigger.NodeIds.Where(n => !before.Contains(n))));
        TopologyGrown?.Invoke(bigger);
    });
    public string Self => options.NodeId;
    public TimeSpan Now => clock.GetElapsedTime(startTimestamp);

    public Hello HelloMessage => new()
    {
        NodeId = Self,
        Incarnation = options.Incarnation,
        // The cluster's first graph: a node added later, and a node that missed a growth, still
        // link (issue 12); the neighbour check uses the graph as it is now.
        TopologyHash = options.PlacementTopology.Hash,
        Partitions = (uint)options.Partitions,
        Replicas = (uint)options.Replicas,
    };

    /// <summary>Runs <paramref name="work"/> on the loop with the current time.</summary>
    public ValueTask PostAsync(Action<TimeSpan> work, CancellationToken cancellationToken = default) =>
        inbox.Writer.WriteAsync(work, cancellationToken);

    /// <summary>Posts without waiting; false when the inbox is full (the work is dropped).</summary>
    public bool TryPost(Action<TimeSpan> work) => inbox.Writer.TryWrite(work);

    private INodeDispatcher? dispatcher;

    /// <summary>Hands every Raft batch and request addressed to this node to <paramref name="target"/>; once, at start.</summary>
    public void Attach(INodeDispatcher target)
    {
        if (Interlocked.CompareExchange(ref dispatcher, target, null) is not null) throw new InvalidOperationException("a dispatcher is already attached");
    }

    /// <summary>Runs <paramref name="work"/> on the loop and returns its result.</summary>
    public async Task<T> AskAsync<T>(Func<TimeSpan, T> work, CancellationToken cancellationToken)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        await PostAsync(now =>
        {
            try { result.TrySetResult(work(now)); }
            catch (Exception e) { result.TrySetException(e); }
        }, cancellationToken).ConfigureAwait(false);
        return await result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes <paramref name="connection"/> the link to its neighbour. False (and the caller
    /// must close it) when a live link to that neighbour exists: without TLS identity anyone can
    /// claim the id, so the link that is heartbeating wins; a dead one is replaced.</summary>
    public Task<bool> LinkUpAsync(LinkConnection connection) => AskAsync(now =>
    {
        if (leaving) return false;
        if (active.ContainsKey(connection.Neighbour) && !Node.AcceptsNewLink(connection.Neighbour, now))
        {
            OverlayLog.DuplicateLink(logger, connection.Neighbour);
            return false;
        }
        if (active.Remove(connection.Neighbour, out var old)) old.Close();
        active[connection.Neighbour] = connection;
        if (faults.TryGetValue(connection.Neighbour, out var fault)) fault.ApplyTo(connection);
        Node.LinkConnected(connection.Neighbour, now);
        return true;
    }, connection.Token);

    /// <summary>Set when the node stops: no link is taken any more, so the server's graceful
    /// shutdown does not wait out its timeout for link streams that would never end by themselves.</summary>
    private bool leaving;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After the partition loop has handed off its leaderships (services stop in reverse
    /// order of registration: RaftDriver's StoppingAsync runs first), closes every link.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PostAsync(_ =>
            {
                leaving = true;
                foreach (var connection in active.Values) connection.Close();
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
        }
    }

    public ValueTask LinkDownAsync(LinkConnection connection) => PostAsync(now =>
    {
        connection.Close();
        if (!active.TryGetValue(connection.Neighbour, out var current) || current.Id != connection.Id) return;
        active.Remove(connection.Neighbour);
        Node.LinkDisconnected(connection.Neighbour, now);
    });

    public ValueTask FrameAsync(LinkConnection connection, LinkFrame frame, CancellationToken cancellationToken) => PostAsync(now =>
    {
        if (!active.TryGetValue(connection.Neighbour, out var current) || current.Id != connection.Id) return;
        if (faults.TryGetValue(connection.Neighbour, out var fault) && fault.Drop) return;
        try
        {
            Node.FrameReceived(connection.Neighbour, now);
            foreach (var envelope in frame.Envelopes) Node.EnvelopeReceived(connection.Neighbour, envelope, now);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A frame the core choked on despite validation: drop that link (the peer redials),
            // keep the node. The core is left consistent: each input is applied whole or not at all.
            OverlayLog.InputFailed(logger, e, $" (frame from {connection.Neighbour}; closing that link)");
            connection.Close();
        }
    }, cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ticker = TickLoopAsync(stoppingToken);
        try
        {
            await foreach (var work in inbox.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                // Containment (issue 11): one input that throws is logged and dropped; the loop,
                // the links and the node go on.
                try
                {
                    work(Now);
                    Perform(Node.TakeOutput());
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    OverlayLog.InputFailed(logger, e, "");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        foreach (var connection in active.Values) connection.Close();
        await ticker.ConfigureAwait(false);
    }

    private bool watchful = true;

    /// <summary>
    /// Ticks the core: every 50 ms while some neighbour's heartbeat is late, every 200 ms otherwise
    /// (issue 14, item 5: each tick wakes the timer thread, the pool and this loop, most of what an
    /// idle node spends). A broken link needs no tick at all: the stream's end reports it at once.
    /// </summary>
    private async Task TickLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TickInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                inbox.Writer.TryWrite(now =>
                {
                    Node.Tick(now);
                    var neighbours = Publish(now);
                    var watch = neighbours.Any(n => n.Connected && n.Phi > WatchPhi);
                    if (watch == watchful) return;
                    watchful = watch;
                    try { timer.Period = watch ? TickInterval : QuietTickInterval; }
                    catch (ObjectDisposedException) { } // stopping
                });
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Perform(OverlayOutput output)
    {
        if (output.IsEmpty) return;
        foreach (var e in output.Events) Log.OverlayEvent(logger, e);
        NoteRefusals(output.Refusals);
        if (output.RoutesChanged)
        {
            metrics.RoutesChanged();
            Log.RoutesChanged(logger, RouteTable());
            dispatcher?.ReachabilityChanged(Node.Unreachable().ToHashSet(StringComparer.Ordinal));
        }
        var frames = new Dictionary<string, LinkFrame>(StringComparer.Ordinal);
        var frameBytes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (neighbour, envelope) in output.Sends)
        {
            // Envelopes share a frame up to FrameBytesTarget, so a frame is never much larger than its
            // largest envelope (and stays under NodeHost.LinkFrameBytesMax whenever the envelope does).
            var bytes = envelope.CalculateSize();
            if (frames.TryGetValue(neighbour, out var frame) && frameBytes[neighbour] + bytes > FrameBytesTarget)
            {
                SendFrame(neighbour, frame);
                frames.Remove(neighbour);
            }
            if (!frames.TryGetValue(neighbour, out frame))
            {
                frames[neighbour] = frame = NewFrame();
                frameBytes[neighbour] = 0;
            }
            frame.Envelopes.Add(envelope);
            frameBytes[neighbour] += bytes;
        }
        if (output.SendHeartbeats)
            foreach (var neighbour in active.Keys)
                if (!frames.ContainsKey(neighbour)) frames[neighbour] = NewFrame();
        foreach (var (neighbour, frame) in frames) SendFrame(neighbour, frame);
        foreach (var envelope in output.Delivered) Deliver(envelope);
    }

    /// <summary>Hands the gauges and the health rule a copy of the links, the reachable nodes and
    /// the envelope counters (the core is this loop's alone); once a tick.</summary>
    private List<NeighbourView> Publish(TimeSpan now)
    {
        var reachable = new HashSet<string>(Node.Router.Routes.Keys, StringComparer.Ordinal) { Self };
        var neighbours = Node.Neighbours(now).ToList();
        samples.Overlay = new Metrics.OverlaySample(
            [.. neighbours.Select(n => new Metrics.NeighbourSample(n.Id, n.Alive, n.Phi))],
            reachable, Node.Forwarded, Node.DroppedNoRoute, Node.DroppedTtl, Node.Refused);
        return neighbours;
    }

    /// <summary>At most one warning a second, however fast a hostile peer sends.</summary>
    private void NoteRefusals(List<string> refusals)
    {
        if (refusals.Count > 0)
        {
            refusalsPending += refusals.Count;
            refusalExample ??= refusals[0];
        }
        if (refusalsPending == 0 || clock.GetElapsedTime(refusalsLoggedAt) < RefusalLogInterval) return;
        OverlayLog.EnvelopesRefused(logger, refusalsPending, refusalExample!);
        refusalsPending = 0;
        refusalExample = null;
        refusalsLoggedAt = clock.GetTimestamp();
    }

    private LinkFrame NewFrame() => new()
    {
        Heartbeat = new Heartbeat { SentMicros = (long)Now.TotalMicroseconds, Sequence = (ulong)++heartbeatSequence },
    };

    private void SendFrame(string neighbour, LinkFrame frame)
    {
        if (!active.TryGetValue(neighbour, out var connection)) return;
        if (faults.TryGetValue(neighbour, out var fault) && fault.Drop) return;
        if (connection.TrySend(frame)) return;
        Log.OutboundFull(logger, neighbour);
        connection.Close();
    }

    private void Deliver(Envelope envelope)
    {
        if (envelope.BodyCase == Envelope.BodyOneofCase.Raft)
        {
            dispatcher?.Deliver(envelope.Source, envelope.Raft);
            return;
        }
        if (envelope.BodyCase is Envelope.BodyOneofCase.Request or Envelope.BodyOneofCase.Response)
        {
            DeliverCall(envelope);
            return;
        }
        if (envelope.BodyCase != Envelope.BodyOneofCase.ProbeReply) return;
        if (!probes.Remove(envelope.ProbeReply.ProbeId, out var pending)) return;
        var reply = new PingReply { Ok = true, RttMs = clock.GetElapsedTime(pending.StartTimestamp).TotalMilliseconds };
        reply.ForwardRoute.AddRange(envelope.ProbeReply.ForwardRoute);
        reply.ReturnRoute.AddRange(envelope.Route);
        pending.Completion.TrySetResult(reply);
    }

    private string RouteTable() =>
        string.Join(" ", Node.Router.Routes.Values.OrderBy(r => r.Destination, StringComparer.Ordinal).Select(r => $"{r.Destination}>{r.NextHop}/{r.Hops}"))
        + (Node.Unreachable().Any() ? " unreachable: " + string.Join(",", Node.Unreachable()) : "");

    private sealed record PendingProbe(long StartTimestamp, TaskCompletionSource<PingReply> Completion);

    private sealed record LinkFault(bool Drop, int DelayMs, int JitterMs = 0, double LossPercent = 0)
    {
        public void ApplyTo(LinkConnection connection)
        {
            connection.DelayMs = Drop ? 0 : DelayMs;
            connection.JitterMs = Drop ? 0 : JitterMs;
            connection.LossPercent = Drop ? 0 : LossPercent;
        }

        public string Describe()
        {
            if (Drop) return "drop";
            var text = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"delay {DelayMs} ms");
            if (JitterMs > 0) text += string.Create(System.Globalization.CultureInfo.InvariantCulture, $" jitter {JitterMs} ms");
            if (LossPercent > 0) text += string.Create(System.Globalization.CultureInfo.InvariantCulture, $" loss {LossPercent:0.#}%");
            return text;
        }
    }
}

using Braid.Client.Security;
using Braid.Core.Topology;
using Braid.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Braid.Node.Overlay;

/// <summary>
/// Keeps the dialled links of this node up: for every neighbour whose id sorts after ours, open
/// the <c>Link</c> stream, exchange hellos, pump frames, and redial with capped exponential
/// backoff and jitter when it breaks.
/// </summary>
internal sealed class LinkDialer(OverlayDriver driver, NodeOptions options, ILogger<LinkDialer> logger) : BackgroundService
{
    private static readonly TimeSpan BackoffMin = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan BackoffMax = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(2);

    private readonly object gate = new();
    private readonly HashSet<string> dialling = new(StringComparer.Ordinal);
    private readonly List<Task> links = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Neighbours added while the node runs (the graph grew, issue 12) are dialled as they come.
        driver.TopologyGrown += grown => DialNew(grown, stoppingToken);
        DialNew(driver.Topology, stoppingToken);
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        Task[] all;
        lock (gate) all = [.. links];
        await Task.WhenAll(all).ConfigureAwait(false);
    }

    private void DialNew(ClusterTopology topology, CancellationToken stoppingToken)
    {
        var self = driver.Self;
        lock (gate)
        {
            foreach (var n in topology.NeighboursOf(self).Where(n => ClusterTopology.Dials(self, n)))
                if (dialling.Add(n)) links.Add(KeepLinkAsync(topology.Node(n), stoppingToken));
        }
    }

    private async Task KeepLinkAsync(NodeInfo neighbour, CancellationToken stoppingToken)
    {
        // Jitter only spreads redials; seeding it from the node pair keeps runs reproducible.
        var random = new Random(HashCode.Combine(driver.Self, neighbour.Id));
        // With TLS the dialer presents its node certificate and accepts only a server whose
        // certificate names the neighbour it dialled (mutual TLS, issue 11).
        var handler = ClientTls.Handler(options.Tls?.Dialer, neighbour.Id, reason => Log.LinkRefused(logger, neighbour.Id, reason));
        handler.PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan;
        using var channel = GrpcChannel.ForAddress($"{ClientTls.Scheme(options.Tls?.Dialer)}://{neighbour.Address}", new GrpcChannelOptions
        {
            MaxReceiveMessageSize = NodeHost.LinkFrameBytesMax,
            MaxSendMessageSize = NodeHost.LinkFrameBytesMax,
            HttpHandler = handler,
        });
        var client = new Peer.PeerClient(channel);
        var backoff = BackoffMin;
        while (!stoppingToken.IsCancellationRequested)
        {
            var connected = await RunLinkAsync(client, neighbour.Id, stoppingToken).ConfigureAwait(false);
            if (connected) backoff = BackoffMin;
            var wait = backoff * (0.5 + random.NextDouble());
            backoff = TimeSpan.FromTicks(Math.Min(BackoffMax.Ticks, backoff.Ticks * 2));
            try { await Task.Delay(wait, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>One life of the link. Returns true if the hello exchange succeeded.</summary>
    private async Task<bool> RunLinkAsync(Peer.PeerClient client, string neighbour, CancellationToken stoppingToken)
    {
        LinkConnection? connection = null;
        using var callCancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        try
        {
            using var call = client.Link(cancellationToken: callCancellation.Token);
            await call.RequestStream.WriteAsync(new LinkFrame { Hello = driver.HelloMessage }, stoppingToken).ConfigureAwait(false);
            using (var helloDeadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                helloDeadline.CancelAfter(HelloTimeout);
                if (!await call.ResponseStream.MoveNext(helloDeadline.Token).ConfigureAwait(false)) return false;
            }
            var hello = call.ResponseStream.Current.Hello;
            var refusal = HelloRules.Refusal(driver, hello, expected: neighbour);
            if (refusal is not null)
            {
                Log.LinkRefused(logger, neighbour, refusal);
                return false;
            }
            var candidate = new LinkConnection(neighbour, dialled: true, callCancellation.Token);
            if (!await driver.LinkUpAsync(candidate).ConfigureAwait(false))
            {
                candidate.Close();
                return false;
            }
            connection = candidate;
            var writer = connection.WriteLoopAsync(call.RequestStream);
            try
            {
                await foreach (var frame in call.ResponseStream.ReadAllAsync(connection.Token).ConfigureAwait(false))
                    await driver.FrameAsync(connection, frame, connection.Token).ConfigureAwait(false);
            }
            finally
            {
                connection.Close();
                await writer.ConfigureAwait(false);
            }
            return true;
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or IOException or HttpRequestException)
        {
            if (!stoppingToken.IsCancellationRequested) Log.DialFailed(logger, neighbour, e.Message);
            return connection is not null;
        }
        finally
        {
            await callCancellation.CancelAsync().ConfigureAwait(false);
            if (connection is not null) await driver.LinkDownAsync(connection).ConfigureAwait(false);
        }
    }
}

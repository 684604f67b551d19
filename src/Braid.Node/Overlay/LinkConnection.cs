using System.Threading.Channels;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Node.Overlay;

/// <summary>
/// One live stream on an overlay edge, dialled or accepted. Outgoing frames go through a bounded
/// queue drained by a single writer (gRPC streams allow one writer at a time); a full queue means
/// the peer cannot keep up, and the connection is torn down rather than buffering without bound.
/// </summary>
internal sealed class LinkConnection
{
    private const int OutboundFramesMax = 4096;
    private static long nextId;
    private readonly Channel<LinkFrame> outbound = Channel.CreateBounded<LinkFrame>(
        new BoundedChannelOptions(OutboundFramesMax) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource cancellation;

    public LinkConnection(string neighbour, bool dialled, CancellationToken parent)
    {
        Neighbour = neighbour;
        Dialled = dialled;
        cancellation = CancellationTokenSource.CreateLinkedTokenSource(parent);
    }

    public long Id { get; } = Interlocked.Increment(ref nextId);
    public string Neighbour { get; }
    public bool Dialled { get; }
    public CancellationToken Token => cancellation.Token;

    /// <summary>Extra delay before each outgoing frame (fault injection); 0 when none.</summary>
    public int DelayMs { get; set; }

    /// <summary>Up to this much more delay, uniform, per frame (fault injection).</summary>
    public int JitterMs { get; set; }

    /// <summary>Chance in percent that an outgoing frame is dropped (fault injection).</summary>
    public double LossPercent { get; set; }

    /// <summary>Queues a frame; false when the queue is full or the link is closing.</summary>
    public bool TrySend(LinkFrame frame) => outbound.Writer.TryWrite(frame);

    public void Close()
    {
        outbound.Writer.TryComplete();
        try { cancellation.Cancel(); } catch (ObjectDisposedException) { }
    }

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    /// <summary>Drains the queue into the stream until the link closes.</summary>
    public async Task WriteLoopAsync(IAsyncStreamWriter<LinkFrame> stream)
    {
        try
        {
            var reader = outbound.Reader;
            while (await reader.WaitToReadAsync(Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame))
                {
                    var delay = DelayMs + (JitterMs > 0 ? Random.Shared.Next(JitterMs + 1) : 0);
                    if (delay > 0) await Task.Delay(delay, Token).ConfigureAwait(false);
                    if (LossPercent > 0 && Random.Shared.NextDouble() * 100 < LossPercent) continue;
                    // Frames queued behind this one go out in the same flush: under load a flush
                    // per frame let the queue grow until heartbeats waited behind seconds of it.
                    // (Not with injected faults: a buffered frame followed by a dropped one would wait.)
                    stream.WriteOptions = reader.Count > 0 && delay == 0 && LossPercent == 0 ? Buffered : null;
                    await stream.WriteAsync(frame, Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException or IOException or InvalidOperationException)
        {
            // The stream is gone; the read side reports the link down.
        }
        finally
        {
            Close();
        }
    }
}

using Braid.Node.Overlay;
using Braid.Node.Partitions;
using Braid.Protocol.V1;

namespace Braid.Node;

/// <summary>
/// The one place that knows which service answers what reaches this node over the overlay: Raft
/// messages go to the partition loop, query fan-out requests to the replicas, forwarded appends to
/// the forwarder. The overlay and the partition loop do not call each other back: the partition
/// loop sends through the overlay, and the overlay delivers through this dispatcher.
/// </summary>
internal sealed class NodeDispatcher : INodeDispatcher
{
    private readonly RaftDriver raft;
    private readonly AppendForwarder forwarder;
    private readonly Metrics.StreamMetrics metrics;

    public NodeDispatcher(OverlayDriver overlay, RaftDriver raft, AppendForwarder forwarder, Metrics.StreamMetrics metrics)
    {
        this.raft = raft;
        this.forwarder = forwarder;
        this.metrics = metrics;
        overlay.Attach(this);
    }

    public void Deliver(string source, RaftBatch batch) => raft.Deliver(source, batch);

    public void ReachabilityChanged(IReadOnlySet<string> unreachable) => raft.ReachabilityChanged(unreachable);

    public Task<NodeResponse> HandleAsync(NodeRequest request, CancellationToken cancellationToken) => request.KindCase switch
    {
        NodeRequest.KindOneofCase.CommitIndex => raft.CommitIndexAsync(request.CommitIndex, cancellationToken),
        NodeRequest.KindOneofCase.Scan => ScanAsync(request.Scan, cancellationToken),
        NodeRequest.KindOneofCase.Append => forwarder.AcceptAsync(request.Append, cancellationToken),
        NodeRequest.KindOneofCase.Catalog => raft.CatalogAsync(request.Catalog, cancellationToken),
        _ => Task.FromResult(new NodeResponse { Error = $"unknown request {request.KindCase}" }),
    };

    private async Task<NodeResponse> ScanAsync(ScanRequest scan, CancellationToken cancellationToken)
    {
        var response = await raft.ScanAsync(scan, cancellationToken).ConfigureAwait(false);
        if (response.Scan is { Behind: false, Trimmed: false }) metrics.PageServed();
        return response;
    }
}

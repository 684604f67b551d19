using Braid.Node.Overlay;
using Braid.Protocol.V1;

namespace Braid.Node.Partitions;

/// <summary>
/// Appends for clients that cannot reach a partition's leader (`forward = true`): a node that does
/// not lead carries the batch to the leader over the overlay and relays its answer. The forwarded
/// message is the client's request without the forward flag (it is never forwarded again), and
/// the relayed answer gains the leader's address, which only the relaying node can add.
/// </summary>
internal sealed class AppendForwarder(RaftDriver raft, OverlayDriver overlay, NodeOptions options)
{
    private static readonly TimeSpan ForwardTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A client's append: proposed here, or, if refused as not the leader and the client
    /// asked for it, forwarded to the leader.</summary>
    public Task<AppendReply> AppendAsync(AppendRequest request, CancellationToken cancellationToken) =>
        request.Forward ? raft.AppendAsync(request, ForwardIfRefused(request), cancellationToken) : raft.AppendAsync(request, cancellationToken);

    private Func<AppendReply, Task<AppendReply>?> ForwardIfRefused(AppendRequest request) => reply =>
        reply.Status == AppendStatus.NotLeader && reply.Leader.Length > 0 && reply.Leader != options.NodeId ? ForwardAsync(request, reply) : null;

    /// <summary>Started on the partition loop (in arrival order); the overlay call is queued before it returns.</summary>
    private async Task<AppendReply> ForwardAsync(AppendRequest request, AppendReply notLeader)
    {
        var forwarded = new ForwardedAppend { Partition = request.Partition, Producer = request.Producer, Sequence = request.Sequence, Payload = request.Payload };
        var response = await overlay.CallAsync(notLeader.Leader, new NodeRequest { Append = forwarded }, ForwardTimeout, CancellationToken.None).ConfigureAwait(false);
        if (response.Error.Length > 0 || response.Append is null)
            return new AppendReply { Status = AppendStatus.Retry, Leader = notLeader.Leader, LeaderAddress = notLeader.LeaderAddress, Error = $"forwarding to {notLeader.Leader} failed: {response.Error}" };
        var a = response.Append;
        if (!Enum.IsDefined((AppendStatus)a.Status))
            return new AppendReply { Status = AppendStatus.Retry, Leader = notLeader.Leader, Error = $"{notLeader.Leader} answered the forwarded batch with an unknown status {a.Status}" };
        return new AppendReply
        {
            Status = (AppendStatus)a.Status, Index = a.Index, Duplicate = a.Duplicate, ExpectedSequence = a.ExpectedSequence, Error = a.Error,
            Leader = a.Leader, LeaderAddress = a.Leader.Length > 0 && overlay.Topology.Contains(a.Leader) ? overlay.Topology.Node(a.Leader).Address : "",
        };
    }

    /// <summary>A batch forwarded by another node: proposed here if this node leads, never forwarded again.</summary>
    public async Task<NodeResponse> AcceptAsync(ForwardedAppend forwarded, CancellationToken cancellationToken)
    {
        var request = new AppendRequest { Partition = forwarded.Partition, Producer = forwarded.Producer, Sequence = forwarded.Sequence, Payload = forwarded.Payload };
        var reply = await raft.AppendAsync(request, cancellationToken).ConfigureAwait(false);
        return new NodeResponse
        {
            Append = new ForwardedAppendReply { Status = (int)reply.Status, Index = reply.Index, Duplicate = reply.Duplicate, ExpectedSequence = reply.ExpectedSequence, Error = reply.Error, Leader = reply.Leader },
        };
    }
}

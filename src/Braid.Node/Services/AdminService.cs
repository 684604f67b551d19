using Braid.Node.Overlay;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Node.Services;

internal sealed class AdminService(OverlayDriver driver, Partitions.RaftDriver raft, NodeOptions options) : Admin.AdminBase
{
    /// <summary>A test and verification API: it lists producer ids and sequences, with which a
    /// caller could speak as a producer and have its real batches answered "duplicate". Until
    /// clients have roles (TLS, issue 11), it needs the node's --allow-fault-injection.</summary>
    public override Task<PartitionRecordsReply> PartitionRecords(PartitionRecordsRequest request, ServerCallContext context)
    {
        if (!options.AllowFaultInjection)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"PartitionRecords lists producer ids (a test and verification API) and is disabled on {options.NodeId}: start the node with --allow-fault-injection"));
        return raft.RecordsAsync(request.Partition, request.WithContent, context.CancellationToken);
    }

    private static readonly TimeSpan DefaultPingTimeout = TimeSpan.FromSeconds(2);

    public override Task<StatusReply> Status(StatusRequest request, ServerCallContext context) =>
        driver.StatusAsync(context.CancellationToken);

    public override Task<PingReply> Ping(PingRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Destination))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "destination is required"));
        if (request.TimeoutMs < 0 || request.TimeoutMs > 60_000)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "timeout_ms must be between 0 and 60000"));
        var timeout = request.TimeoutMs == 0 ? DefaultPingTimeout : TimeSpan.FromMilliseconds(request.TimeoutMs);
        return driver.PingAsync(request.Destination, timeout, context.CancellationToken);
    }

    public override async Task<SetLinkFaultReply> SetLinkFault(SetLinkFaultRequest request, ServerCallContext context)
    {
        if (!options.AllowFaultInjection)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"fault injection is disabled on {options.NodeId}: start the node with --allow-fault-injection"));
        if (!driver.Topology.AreNeighbours(options.NodeId, request.Neighbour))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"'{request.Neighbour}' is not a neighbour of {options.NodeId}"));
        var delay = request.Kind == SetLinkFaultRequest.Types.Kind.Delay;
        if (delay && (request.DelayMs is < 0 or > 60_000 || request.JitterMs is < 0 or > 60_000 || !(request.LossPercent is >= 0 and <= 100)
            || request.DelayMs + request.JitterMs == 0 && request.LossPercent == 0))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "a delay fault needs delay_ms and jitter_ms in 0..60000 (not both 0 unless loss_percent is set) and loss_percent in 0..100"));
        await driver.SetFaultAsync(request.Neighbour, request.Kind == SetLinkFaultRequest.Types.Kind.Drop,
            delay ? request.DelayMs : 0, context.CancellationToken, delay ? request.JitterMs : 0, delay ? request.LossPercent : 0).ConfigureAwait(false);
        return new SetLinkFaultReply();
    }
}

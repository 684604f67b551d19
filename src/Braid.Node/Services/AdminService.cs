using Braid.Node.Overlay;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Node.Services;

internal sealed class AdminService(OverlayDriver driver, Partitions.RaftDriver raft, NodeOptions options) : Admin.AdminBase
{
    public override Task<PartitionRecordsReply> PartitionRecords(PartitionRecordsRequest request, ServerCallContext context) =>
        raft.RecordsAsync(request.Partition, context.CancellationToken);

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
        if (request.Kind == SetLinkFaultRequest.Types.Kind.Delay && request.DelayMs is <= 0 or > 60_000)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "delay_ms must be between 1 and 60000"));
        await driver.SetFaultAsync(request.Neighbour, request.Kind == SetLinkFaultRequest.Types.Kind.Drop,
            request.Kind == SetLinkFaultRequest.Types.Kind.Delay ? request.DelayMs : 0, context.CancellationToken).ConfigureAwait(false);
        return new SetLinkFaultReply();
    }
}

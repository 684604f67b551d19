using Braid.Node.Partitions;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>The client-facing service: describe the cluster, append batches.</summary>
internal sealed class StreamService(RaftDriver raft, NodeOptions options) : Protocol.V1.Stream.StreamBase
{
    private const int PayloadBytesMax = 4 * 1024 * 1024;

    public override Task<DescribeReply> Describe(DescribeRequest request, ServerCallContext context) =>
        raft.DescribeAsync(context.CancellationToken);

    public override Task<AppendReply> Append(AppendRequest request, ServerCallContext context)
    {
        if (request.Partition >= options.Partitions)
            throw new RpcException(new Status(StatusCode.NotFound, $"partition {request.Partition} does not exist (there are {options.Partitions}: 0-{options.Partitions - 1})"));
        if (request.Producer == 0 || request.Sequence == 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "producer and sequence must be at least 1"));
        if (request.Payload.Length > PayloadBytesMax)
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"batch of {request.Payload.Length} bytes exceeds the limit of {PayloadBytesMax}"));
        return raft.AppendAsync(request, context.CancellationToken);
    }
}

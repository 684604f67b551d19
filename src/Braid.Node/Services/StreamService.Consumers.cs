using Braid.Core.Streams;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>
/// Durable consumers (issue 13, item 4): a commit writes the consumer's position into each
/// partition's own log as a control entry (<see cref="ConsumerCommit"/>), through the partition's
/// leader, and answers once every partition has committed it. A subscription that names the
/// consumer resumes there from any node: delivery is at least once between commits.
/// </summary>
internal sealed partial class StreamService
{
    private static readonly TimeSpan CommitDeadline = TimeSpan.FromSeconds(15);

    public override async Task<CommitPositionReply> CommitPosition(CommitPositionRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (ConsumerCommit.ValidateName(request.Consumer) is { } bad) throw new RpcException(new Status(StatusCode.InvalidArgument, bad));
        var stream = await ResolveAsync(request.Stream, ct).ConfigureAwait(false);
        QueryCursor cursor;
        try
        {
            cursor = QueryCursor.Parser.ParseFrom(request.Cursor);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the cursor is not a Braid cursor ({e.Message})"));
        }
        // The filter is the subscription's business; only the stream and the positions matter here.
        if (!ScanCursor.TryDecode(request.Cursor.Span, cursor.FilterHash, stream.PartitionCount, stream.Id, stream.Name, out var parsed, out var error))
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        var commits = parsed.Positions.Select(p => CommitAsync(stream, new ConsumerCommit(request.Consumer, p.NextIndex, p.Done ? 0 : p.Skip), p.Partition, ct));
        await Task.WhenAll(commits).ConfigureAwait(false);
        return new CommitPositionReply { Partitions = (uint)parsed.Positions.Count };
    }

    /// <summary>Commits one control entry in a partition, through its leader.</summary>
    private Task CommitAsync(StreamDefinition stream, ConsumerCommit commit, uint partition, CancellationToken ct)
    {
        var forwarded = new ForwardedAppend { Partition = stream.Group(partition), Producer = ConsumerCommit.ControlProducer, Sequence = 0, Payload = ByteString.CopyFrom(commit.Encode()) };
        return CommitToGroupAsync(forwarded, stream.Placement[(int)partition], CommitDeadline, $"partition {partition} of '{stream.Name}' (position of '{commit.Consumer}')", ct);
    }
}

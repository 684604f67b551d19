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

    /// <summary>Proposes one control entry to a partition's leader (following its hints over the overlay) until it commits.</summary>
    private async Task CommitAsync(StreamDefinition stream, ConsumerCommit commit, uint partition, CancellationToken ct)
    {
        var started = clock.GetTimestamp();
        var replicas = stream.Placement[(int)partition];
        var forwarded = new ForwardedAppend { Partition = stream.Group(partition), Producer = ConsumerCommit.ControlProducer, Sequence = 0, Payload = ByteString.CopyFrom(commit.Encode()) };
        var target = replicas[0];
        var attempt = 0;
        var problems = new List<string>();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var response = await overlay.CallAsync(target, new NodeRequest { Append = forwarded }, CatalogCallTimeout, ct).ConfigureAwait(false);
            var reply = response.Append;
            if (response.Error.Length == 0 && reply is { Status: (int)AppendStatus.AppendOk }) return;
            problems.Add($"{target}: {(response.Error.Length > 0 ? response.Error : $"{(AppendStatus)(reply?.Status ?? 0)} {reply?.Error}")}");
            if (clock.GetElapsedTime(started) > CommitDeadline)
                throw new RpcException(new Status(StatusCode.Unavailable, $"partition {partition} of '{stream.Name}' did not commit the position of '{commit.Consumer}': {string.Join("; ", problems.TakeLast(3))}"));
            var hinted = reply is { Status: (int)AppendStatus.NotLeader, Leader.Length: > 0 } && replicas.Contains(reply.Leader);
            target = hinted ? reply!.Leader : replicas[++attempt % replicas.Count];
            if (!hinted) await Task.Delay(TimeSpan.FromMilliseconds(100), clock, ct).ConfigureAwait(false);
        }
    }
}

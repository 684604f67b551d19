using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Protocol.V1;

namespace Braid.Node.Partitions;

/// <summary>Client-facing operations of the partition loop: append, describe, read back.</summary>
internal sealed partial class RaftDriver
{
    private static readonly TimeSpan ForwardTimeout = TimeSpan.FromSeconds(10);

    public async Task<AppendReply> AppendAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        var answer = await AskAsync(() => ProposeOrForward(request), cancellationToken).ConfigureAwait(false);
        return await answer.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs on the loop, so the batches of one stream are proposed, or handed to the overlay for
    /// forwarding, in the order they arrived: a forwarded stream reaches the leader in sequence order.
    /// </summary>
    private Task<AppendReply> ProposeOrForward(AppendRequest request)
    {
        var completion = Propose(request);
        if (!request.Forward || !completion.Task.IsCompleted) return completion.Task;
        var reply = completion.Task.Result;
        if (reply.Status != AppendStatus.NotLeader || reply.Leader.Length == 0 || reply.Leader == options.NodeId) return completion.Task;
        return ForwardAsync(request, reply, CancellationToken.None);
    }

    /// <summary>Carries the batch to the leader over the overlay (the client could not reach it) and relays its answer.</summary>
    private async Task<AppendReply> ForwardAsync(AppendRequest request, AppendReply notLeader, CancellationToken cancellationToken)
    {
        var forwarded = new ForwardedAppend { Partition = request.Partition, Producer = request.Producer, Sequence = request.Sequence, Payload = request.Payload };
        var response = await overlay.CallAsync(notLeader.Leader, new NodeRequest { Append = forwarded }, ForwardTimeout, cancellationToken).ConfigureAwait(false);
        if (response.Error.Length > 0 || response.Append is null)
            return new AppendReply { Status = AppendStatus.Retry, Leader = notLeader.Leader, LeaderAddress = notLeader.LeaderAddress, Error = $"forwarding to {notLeader.Leader} failed: {response.Error}" };
        var a = response.Append;
        return new AppendReply
        {
            Status = (AppendStatus)a.Status, Index = a.Index, Duplicate = a.Duplicate, ExpectedSequence = a.ExpectedSequence, Error = a.Error,
            Leader = a.Leader, LeaderAddress = a.Leader.Length > 0 && options.Topology.Contains(a.Leader) ? options.Topology.Node(a.Leader).Address : "",
        };
    }

    /// <summary>A batch forwarded by another node: proposed here if this node leads, never forwarded again.</summary>
    private async Task<NodeResponse> AppendForwardedAsync(ForwardedAppend forwarded, CancellationToken cancellationToken)
    {
        var reply = await AppendAsync(new AppendRequest { Partition = forwarded.Partition, Producer = forwarded.Producer, Sequence = forwarded.Sequence, Payload = forwarded.Payload }, cancellationToken).ConfigureAwait(false);
        return new NodeResponse
        {
            Append = new ForwardedAppendReply { Status = (int)reply.Status, Index = reply.Index, Duplicate = reply.Duplicate, ExpectedSequence = reply.ExpectedSequence, Error = reply.Error, Leader = reply.Leader },
        };
    }

    private readonly Dictionary<long, TaskCompletionSource<AppendReply>> waiting = [];
    private long nextTicket;

    private TaskCompletionSource<AppendReply> Propose(AppendRequest request)
    {
        var completion = new TaskCompletionSource<AppendReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!replicas.TryGetValue(request.Partition, out var replica))
        {
            var leaderHint = request.Partition < Placement.Partitions.Count ? Placement[(int)request.Partition].PreferredLeader : "";
            completion.SetResult(NotLeader(leaderHint, $"{options.NodeId} holds no replica of partition {request.Partition}"));
            return completion;
        }
        var ticket = ++nextTicket;
        waiting[ticket] = completion;
        if (replica.Append(ticket, request.Producer, request.Sequence, request.Payload.Memory) is { } answer) Answer(answer);
        return completion;
    }

    /// <summary>Completes the request an ack answers, translated to the wire's reply.</summary>
    private void Answer(AppendAck ack)
    {
        if (!waiting.Remove(ack.Ticket, out var completion)) return;
        completion.TrySetResult(ack.Status switch
        {
            AckStatus.Ok => new AppendReply { Status = AppendStatus.AppendOk, Index = ack.Index, Duplicate = ack.Duplicate },
            AckStatus.NotLeader => NotLeader(ack.Leader ?? "", ack.Error ?? "not the leader"),
            AckStatus.OutOfOrder => new AppendReply { Status = AppendStatus.OutOfOrder, ExpectedSequence = ack.ExpectedSequence, Error = ack.Error ?? "" },
            _ => new AppendReply { Status = AppendStatus.Retry, Leader = ack.Leader ?? "", Error = ack.Error ?? "" },
        });
    }

    private AppendReply NotLeader(string leader, string error) => new()
    {
        Status = AppendStatus.NotLeader,
        Leader = leader,
        LeaderAddress = leader.Length > 0 && options.Topology.Contains(leader) ? options.Topology.Node(leader).Address : "",
        Error = error,
    };

    public Task<DescribeReply> DescribeAsync(CancellationToken cancellationToken) => AskAsync(() =>
    {
        var reply = new DescribeReply { NodeId = options.NodeId, ReplicationFactor = (uint)options.Replicas };
        foreach (var n in options.Topology.Nodes) reply.Nodes.Add(new NodeDescription { Id = n.Id, Address = n.Address, Site = n.Site });
        foreach (var p in Placement.Partitions)
        {
            var d = new PartitionDescription { Partition = (uint)p.Partition };
            d.Replicas.AddRange(p.Replicas);
            if (replicas.TryGetValue((uint)p.Partition, out var r))
            {
                var s = r.Raft.Status;
                d.Leader = s.Leader ?? "";
                d.Term = s.Term;
                d.CommitIndex = s.CommitIndex;
                d.LocalRole = s.Role.ToString();
                d.AppliedIndex = r.State.AppliedIndex;
                d.RecordCount = (ulong)r.State.RecordCount;
            }
            reply.Partitions.Add(d);
        }
        return reply;
    }, cancellationToken);

    public Task<PartitionRecordsReply> RecordsAsync(uint partition, CancellationToken cancellationToken) => AskAsync(() =>
    {
        var reply = new PartitionRecordsReply();
        if (!replicas.TryGetValue(partition, out var r)) return reply;
        reply.HasReplica = true;
        reply.AppliedIndex = r.State.AppliedIndex;
        reply.SnapshotIndex = r.Raft.SnapshotIndex;
        reply.FirstIndex = r.Raft.FirstIndex;
        reply.SnapshotsInstalled = (ulong)r.SnapshotsInstalled;
        foreach (var index in r.State.RecordIndexes)
        {
            var record = RecordEntry.Decode(RaftNode.DataOf(r.ReadLog(index, index, 1)[0]));
            reply.Producers.Add(record.Producer);
            reply.Sequences.Add(record.Sequence);
        }
        return reply;
    }, cancellationToken);
}

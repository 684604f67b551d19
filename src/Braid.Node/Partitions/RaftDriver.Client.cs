using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Protocol.V1;

namespace Braid.Node.Partitions;

/// <summary>
/// Who waits for an append's answer. <see cref="Complete"/> runs on the partition loop, at most
/// once per proposal: it must not block (hand the reply on, or complete a task whose continuations
/// run elsewhere).
/// </summary>
internal abstract class AppendWaiter
{
    public abstract void Complete(AppendReply reply);
}

/// <summary>Client-facing operations of the partition loop: append, describe, read back.</summary>
internal sealed partial class RaftDriver
{
    /// <summary>Proposes <paramref name="request"/> here (no forwarding) and waits for its answer.</summary>
    public Task<AppendReply> AppendAsync(AppendRequest request, CancellationToken cancellationToken) =>
        AppendAsync(request, then: null, cancellationToken);

    /// <summary>
    /// Proposes <paramref name="request"/> on the loop; <paramref name="then"/>, when given, runs on
    /// the loop right after with the immediate answer (if any), so that what it starts (forwarding a
    /// refused batch over the overlay) starts in arrival order: a forwarded stream reaches the
    /// leader in sequence order.
    /// </summary>
    public async Task<AppendReply> AppendAsync(AppendRequest request, Func<AppendReply, Task<AppendReply>?>? then, CancellationToken cancellationToken)
    {
        var answer = await AskAsync(() =>
        {
            var task = Propose(request).Task;
            return task.IsCompleted && then?.Invoke(task.Result) is { } next ? next : task;
        }, cancellationToken).ConfigureAwait(false);
        return await answer.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Proposes every request of <paramref name="batch"/> on the loop in one hand-off, in order;
    /// each waiter is answered on the loop when its append is decided (an ingest stream's batches:
    /// one wake of the loop for all of them, no task per batch). Never forwards.
    /// </summary>
    public ValueTask ProposeAllAsync(IReadOnlyList<(AppendRequest Request, AppendWaiter Waiter)> batch, CancellationToken cancellationToken) =>
        inbox.Writer.WriteAsync(() =>
        {
            foreach (var (request, waiter) in batch)
            {
                try
                {
                    Propose(request, waiter);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Not proposed (a failure outside the partition's guard): a resend is safe.
                    Log.LoopWorkFailed(logger, e);
                    waiter.Complete(new AppendReply { Status = AppendStatus.Retry, Error = $"the append could not be proposed on {options.NodeId}" });
                }
            }
        }, cancellationToken);

    /// <summary>Appends proposed here and not answered yet, with when they were proposed (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    private readonly Dictionary<long, (uint Partition, AppendWaiter Waiter, long ProposedAt)> waiting = [];
    private long nextTicket;

    private TaskCompletionSource<AppendReply> Propose(AppendRequest request)
    {
        var completion = new TaskCompletionSource<AppendReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        Propose(request, new TaskWaiter(completion));
        return completion;
    }

    private void Propose(AppendRequest request, AppendWaiter waiter)
    {
        if (!replicas.TryGetValue(request.Partition, out var replica))
        {
            var leaderHint = streams.ReplicasOf(request.Partition)?[0] ?? "";
            waiter.Complete(NotLeader(leaderHint, $"{options.NodeId} holds no replica of partition {request.Partition}"));
            return;
        }
        var ticket = ++nextTicket;
        waiting[ticket] = (request.Partition, waiter, System.Diagnostics.Stopwatch.GetTimestamp());
        AppendAck? answer = null;
        // A failure answers every waiting call of the partition, this one included.
        partitions.Run(request.Partition, r => answer = r.Append(ticket, request.Producer, request.Sequence, request.Payload.Memory));
        if (answer is { } immediate) Answer(immediate);
    }

    private sealed class TaskWaiter(TaskCompletionSource<AppendReply> completion) : AppendWaiter
    {
        public override void Complete(AppendReply reply) => completion.TrySetResult(reply);
    }

    /// <summary>Completes the request an ack answers, translated to the wire's reply.</summary>
    private void Answer(AppendAck ack)
    {
        if (!waiting.Remove(ack.Ticket, out var w)) return;
        if (ack.Status == AckStatus.Ok && !ack.Duplicate) metrics.AppendAcknowledged(w.ProposedAt);
        w.Waiter.Complete(ack.Status switch
        {
            AckStatus.Ok => new AppendReply { Status = AppendStatus.AppendOk, Index = ack.Index, Duplicate = ack.Duplicate },
            AckStatus.NotLeader => NotLeader(ack.Leader ?? "", ack.Error ?? "not the leader"),
            AckStatus.OutOfOrder => new AppendReply { Status = AppendStatus.OutOfOrder, ExpectedSequence = ack.ExpectedSequence, Error = ack.Error ?? "" },
            AckStatus.NoSpace => new AppendReply { Status = AppendStatus.NoSpace, Leader = options.NodeId, Error = ack.Error ?? $"disk full on {options.NodeId}" },
            _ => new AppendReply { Status = AppendStatus.Retry, Leader = ack.Leader ?? "", Error = ack.Error ?? "" },
        });
    }

    internal AppendReply NotLeader(string leader, string error) => new()
    {
        Status = AppendStatus.NotLeader,
        Leader = leader,
        LeaderAddress = leader.Length > 0 && overlay.Topology.Contains(leader) ? overlay.Topology.Node(leader).Address : "",
        Error = error,
    };

    public Task<DescribeReply> DescribeAsync(CancellationToken cancellationToken) => AskAsync(() =>
    {
        var catalog = streams.Catalog;
        var reply = new DescribeReply { NodeId = options.NodeId, ReplicationFactor = (uint)options.Replicas, CatalogVersion = catalog.Version };
        foreach (var n in streams.Topology.Nodes)
            reply.Nodes.Add(new NodeDescription { Id = n.Id, Address = n.Address, Site = n.Site, State = StreamCatalog.Describe(catalog.StateOf(n.Id)) });
        reply.Metadata = DescribeGroup(StreamGroups.MetaGroup, 0);
        foreach (var stream in streams.All)
        {
            var d = DescribeStream(stream);
            reply.Streams.Add(d);
            if (stream.Id == 0) reply.Partitions.AddRange(d.Partitions);
        }
        return reply;
    }, cancellationToken);

    /// <summary>Every stream as this node knows it, with the catalog version.</summary>
    public Task<ListStreamsReply> ListStreamsAsync(CancellationToken cancellationToken) => AskAsync(() =>
    {
        var reply = new ListStreamsReply { CatalogVersion = streams.Catalog.Version };
        foreach (var stream in streams.All) reply.Streams.Add(DescribeStream(stream));
        return reply;
    }, cancellationToken);

    /// <summary>A stream's partitions, with what this node's own replicas know (loop only).</summary>
    internal StreamDescription DescribeStream(StreamDefinition stream)
    {
        var description = new StreamDescription
        {
            Name = stream.Name, Id = stream.Id, Format = FormatName(stream.Format), RetainBytes = stream.RetainBytes, RetainMs = stream.RetainMs,
            ReplicationFactor = (uint)(stream.PartitionCount > 0 ? stream.Placement[0].Count : 0),
        };
        for (var p = 0; p < stream.PartitionCount; p++)
        {
            description.Partitions.Add(DescribeGroup(stream.Group((uint)p), (uint)p));
        }
        return description;
    }

    /// <summary>One group: its target replicas, and what this node's replica knows (loop only).</summary>
    private PartitionDescription DescribeGroup(uint group, uint partition)
    {
        var d = new PartitionDescription { Partition = partition };
        d.Replicas.AddRange(streams.ReplicasOf(group) ?? []);
        if (partitions.FailureOf(group) is not null) d.LocalRole = "Failed"; // why: in the node's log
        if (replicas.TryGetValue(group, out var r))
        {
            d.Voters.AddRange(r.Raft.Voters);
            d.Learners.AddRange(r.Raft.Learners);
            d.ConfigurationCommitted = r.Raft.ConfigurationCommitted;
            var s = r.Raft.Status;
            d.Leader = s.Leader ?? "";
            d.Term = s.Term;
            d.CommitIndex = s.CommitIndex;
            d.LocalRole = s.Role.ToString();
            d.AppliedIndex = r.State.AppliedIndex;
            d.RecordCount = (ulong)r.State.RecordCount;
            d.NoSpaceAlarm = r.NoSpaceAlarm ? r.NoSpaceReason ?? "disk full" : "";
            d.Recovering = r.Raft.Recovering;
            d.Quiescent = r.Raft.Quiescent;
        }
        return d;
    }

    public static string FormatName(StreamFormat format) => format == StreamFormat.Raw ? "raw" : "airquality";

    /// <summary>Records per turn of the loop when listing a partition: a long listing is read in
    /// pages between Raft's work, so it never holds the loop (and heartbeats) for long.</summary>
    private const int RecordsPageMax = 1024;

    /// <summary>Every stored batch of a partition up to its applied index when the call starts,
    /// read page by page on the loop (the log is single-owner).</summary>
    public async Task<PartitionRecordsReply> RecordsAsync(uint partition, bool withContent, CancellationToken cancellationToken)
    {
        var reply = await AskAsync(() =>
        {
            var head = new PartitionRecordsReply();
            if (!replicas.TryGetValue(partition, out var r)) return head;
            head.HasReplica = true;
            head.AppliedIndex = r.State.AppliedIndex;
            head.SnapshotIndex = r.Raft.SnapshotIndex;
            head.FirstIndex = r.Raft.FirstIndex;
            head.SnapshotsInstalled = (ulong)r.SnapshotsInstalled;
            return head;
        }, cancellationToken).ConfigureAwait(false);
        ulong after = reply.SnapshotIndex;
        while (reply.HasReplica && after < reply.AppliedIndex)
            after = await AskAsync(() => ReadRecordsPage(partition, after, withContent, reply), cancellationToken).ConfigureAwait(false);
        return reply;
    }

    /// <summary>Adds the records after index <paramref name="after"/> (at most a page, none past
    /// the reply's applied index) to <paramref name="reply"/>; returns the index read up to.</summary>
    private ulong ReadRecordsPage(uint partition, ulong after, bool withContent, PartitionRecordsReply reply)
    {
        if (!replicas.TryGetValue(partition, out var r))
            throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unavailable, $"partition {partition} failed on {options.NodeId} during the read; retry"));
        if (r.State.RetainedAfter > after)
            throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Aborted, $"partition {partition} was compacted past {after} during the read; retry"));
        var indexes = r.State.RecordIndexes;
        var at = indexes.BinarySearch(after + 1);
        if (at < 0) at = ~at;
        var through = reply.AppliedIndex;
        for (var n = 0; n < RecordsPageMax; n++, at++)
        {
            if (at >= indexes.Count || indexes[at] > reply.AppliedIndex) return reply.AppliedIndex;
            var index = indexes[at];
            var record = RecordEntry.Decode(RaftNode.DataOf(r.ReadLog(index, index, 1)[0]));
            reply.Producers.Add(record.Producer);
            reply.Sequences.Add(record.Sequence);
            through = index;
            if (!withContent) continue;
            reply.Indexes.Add(index);
            reply.ContentHashes.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(System.Security.Cryptography.SHA256.HashData(record.Payload.Span)));
        }
        return through;
    }
}

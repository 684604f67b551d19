using Braid.Core.Placement;
using Braid.Core.Streams;
using Braid.Node.Partitions;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>
/// Stream administration (issue 13, item 1): create and delete go through the metadata group as
/// committed catalog commands; the answer comes once this node's catalog has folded the command,
/// so a client that created a stream can use it here at once.
/// </summary>
internal sealed partial class StreamService
{
    private static readonly TimeSpan CatalogDeadline = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan CatalogCallTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Asks a metadata replica for the newest catalog first (at most 2 s), so a list
    /// taken after a create or delete at another node reflects it.</summary>
    public override async Task<ListStreamsReply> ListStreams(ListStreamsRequest request, ServerCallContext context)
    {
        await RefreshCatalogBrieflyAsync(context.CancellationToken).ConfigureAwait(false);
        return await raft.ListStreamsAsync(context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adopts the newest catalog the metadata replicas hold, giving up after 2 s (a
    /// replica that does not answer must not hold the caller back: the local copy then serves).</summary>
    private async Task RefreshCatalogBrieflyAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await raft.RefreshCatalogAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
    }

    public override async Task<StreamDescription> CreateStream(CreateStreamRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (StreamGroups.ValidateName(request.Name) is { } bad) throw new RpcException(new Status(StatusCode.InvalidArgument, bad));
        var format = request.Format.ToLowerInvariant() switch
        {
            "" or "raw" => StreamFormat.Raw,
            "airquality" => StreamFormat.AirQuality,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, $"unknown stream format '{request.Format}' (raw or airquality)")),
        };
        var nodes = LiveTopology().Nodes.Count;
        var partitions = request.Partitions == 0 ? 1 : (int)request.Partitions;
        var replicas = request.Replicas == 0 ? Math.Min(3, nodes) : (int)request.Replicas;
        if (partitions > StreamGroups.PartitionsMax)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"a stream has at most {StreamGroups.PartitionsMax} partitions, not {partitions}"));
        if (replicas > nodes)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{replicas} replicas need {replicas} nodes; the cluster has {nodes}"));
        if (request.RetainBytes < 0) throw new RpcException(new Status(StatusCode.InvalidArgument, "retain_bytes must not be negative"));
        if (request.RetainMs < 0) throw new RpcException(new Status(StatusCode.InvalidArgument, "retain_ms must not be negative"));
        if (raft.Streams.TryResolve(request.Name, out var existing)) return await SameOrConflictAsync(existing, format, partitions, replicas, request.RetainBytes, request.RetainMs, ct).ConfigureAwait(false);
        var command = new CatalogCommand { Create = new CreateStreamCommand { Name = request.Name, Format = (uint)format, RetainBytes = request.RetainBytes, RetainMs = request.RetainMs } };
        foreach (var p in PlaceStream(request.Name, partitions, replicas))
        {
            var wire = new PartitionReplicas();
            wire.Nodes.AddRange(p);
            command.Create.Placement.Add(wire);
        }
        var index = await CommitCatalogAsync(command, ct).ConfigureAwait(false);
        var created = raft.Streams.Catalog.Created(request.Name, index);
        if (created is not null) return await raft.AskAsync(() => raft.DescribeStream(created), ct).ConfigureAwait(false);
        // Another create of the same name committed first.
        if (raft.Streams.TryResolve(request.Name, out existing)) return await SameOrConflictAsync(existing, format, partitions, replicas, request.RetainBytes, request.RetainMs, ct).ConfigureAwait(false);
        throw new RpcException(new Status(StatusCode.Aborted, $"the create of '{request.Name}' changed nothing (see the nodes' logs); try again"));
    }

    private async Task<StreamDescription> SameOrConflictAsync(StreamDefinition existing, StreamFormat format, int partitions, int replicas, long retainBytes, long retainMs, CancellationToken ct)
    {
        if (!existing.SameSettings(format, partitions, replicas, retainBytes, retainMs))
            throw new RpcException(new Status(StatusCode.AlreadyExists,
                $"stream '{existing.Name}' exists with other settings ({RaftDriver.FormatName(existing.Format)}, {existing.PartitionCount} partitions, {existing.Placement[0].Count} replicas, retain {existing.RetainBytes} bytes, {existing.RetainMs} ms)"));
        return await raft.AskAsync(() => raft.DescribeStream(existing), ct).ConfigureAwait(false);
    }

    /// <summary>The default placement rules (connected majority after any single failure where the
    /// graph allows, sites, balance), turned by the name's hash so streams do not all lead on the same nodes.</summary>
    private IReadOnlyList<IReadOnlyList<string>> PlaceStream(string name, int partitions, int replicas)
    {
        var table = PlacementPlanner.Plan(LiveTopology(), partitions, replicas);
        var turn = (int)(Core.Fnv1a.Hash(name) % (ulong)partitions);
        return [.. Enumerable.Range(0, partitions).Select(p => table[(p + turn) % partitions].Replicas)];
    }

    /// <summary>The nodes that take replicas (not dead, not removed; added ones included) and their edges.</summary>
    private Core.Topology.ClusterTopology LiveTopology() => raft.Streams.Topology.Subgraph(raft.Streams.TakesReplicas);

    public override async Task<DeleteStreamReply> DeleteStream(DeleteStreamRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (StreamGroups.ValidateName(request.Name) is { } bad) throw new RpcException(new Status(StatusCode.InvalidArgument, bad));
        if (request.Name == StreamGroups.DefaultStream) throw new RpcException(new Status(StatusCode.FailedPrecondition, $"'{request.Name}' is the cluster's default stream and cannot be deleted"));
        await raft.WaitForCatalogAsync(0, ct).ConfigureAwait(false);
        if (!raft.Streams.TryResolve(request.Name, out _))
        {
            await raft.RefreshCatalogAsync(ct).ConfigureAwait(false);
            if (!raft.Streams.TryResolve(request.Name, out _)) return new DeleteStreamReply { Deleted = false };
        }
        var index = await CommitCatalogAsync(new CatalogCommand { Delete = new DeleteStreamCommand { Name = request.Name } }, ct).ConfigureAwait(false);
        return new DeleteStreamReply { Deleted = raft.Streams.Catalog.Deleted.Any(d => d.DeletedIndex == index) };
    }

    /// <summary>Commits a catalog command in the metadata group, then waits until this node's
    /// catalog has folded it; returns its index.</summary>
    private async Task<ulong> CommitCatalogAsync(CatalogCommand command, CancellationToken ct)
    {
        var producer = (ulong)Random.Shared.NextInt64(1, long.MaxValue);
        var forwarded = new ForwardedAppend { Partition = StreamGroups.MetaGroup, Producer = producer, Sequence = 1, Payload = command.ToByteString() };
        var index = await CommitToGroupAsync(forwarded, raft.Streams.MetaReplicas, CatalogDeadline, $"the metadata group ({string.Join(",", raft.Streams.MetaReplicas)})", ct).ConfigureAwait(false);
        await raft.WaitForCatalogAsync(index, ct).WaitAsync(CatalogDeadline, clock, ct).ConfigureAwait(false);
        return index;
    }

    /// <summary>
    /// Proposes <paramref name="forwarded"/> to its group's leader over the overlay, following the
    /// leader hints of NOT_LEADER answers and trying the replicas in turn otherwise, until it
    /// commits (returns its index) or <paramref name="deadline"/> passes (UNAVAILABLE naming
    /// <paramref name="what"/> and the last answers). Used for catalog commands and consumer commits.
    /// </summary>
    private async Task<ulong> CommitToGroupAsync(ForwardedAppend forwarded, IReadOnlyList<string> replicas, TimeSpan deadline, string what, CancellationToken ct)
    {
        var started = clock.GetTimestamp();
        var target = replicas[0];
        var attempt = 0;
        var problems = new List<string>();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var response = await overlay.CallAsync(target, new NodeRequest { Append = forwarded }, CatalogCallTimeout, ct).ConfigureAwait(false);
            var reply = response.Append;
            if (response.Error.Length == 0 && reply is { Status: (int)AppendStatus.AppendOk }) return reply.Index;
            problems.Add($"{target}: {(response.Error.Length > 0 ? response.Error : $"{(AppendStatus)(reply?.Status ?? 0)} {reply?.Error}")}");
            if (clock.GetElapsedTime(started) > deadline)
                throw new RpcException(new Status(StatusCode.Unavailable, $"{what} did not commit the change: {string.Join("; ", problems.TakeLast(3))}"));
            var hinted = reply is { Status: (int)AppendStatus.NotLeader, Leader.Length: > 0 } && replicas.Contains(reply.Leader);
            target = hinted ? reply!.Leader : replicas[++attempt % replicas.Count];
            if (!hinted) await Task.Delay(TimeSpan.FromMilliseconds(100), clock, ct).ConfigureAwait(false);
        }
    }
}

using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Node.Partitions;

/// <summary>
/// The catalog of streams on the partition loop (issue 13, item 1): a node with a metadata
/// replica folds its committed commands; any other node fetches the catalog from a metadata
/// replica once a second. Either way, a newer catalog opens the replicas of new streams placed
/// here and closes (and removes) those of deleted ones.
/// </summary>
internal sealed partial class RaftDriver
{
    /// <summary>Ticks between catalog fetches of a node without a metadata replica (1 s).</summary>
    private const int CatalogFetchTicks = 20;
    private static readonly TimeSpan CatalogCallTimeout = TimeSpan.FromSeconds(2);
    private int catalogTicks;
    private int fetching;

    /// <summary>
    /// A metadata replica folds what it has applied; every node also long-polls another node for a
    /// newer catalog, a metadata replica included: its replica may no longer be a member of the
    /// group (a node back on an empty disk reopens its first placement's metadata replica, which
    /// hears nothing once the group has moved; the fault lab's loss found one stuck on version 0 for
    /// four minutes, its stale targets bouncing a partition's leadership between it and another
    /// node). The fold and the fetch meet: whichever is newer is adopted, and the fold goes on from it.
    /// </summary>
    private void MaintainCatalog()
    {
        if (replicas.TryGetValue(StreamGroups.MetaGroup, out var meta)) Fold(meta);
        if (++catalogTicks >= CatalogFetchTicks)
        {
            catalogTicks = 0;
            _ = FetchCatalogAsync();
        }
    }

    /// <summary>Folds the metadata replica's applied commands past the catalog's version.</summary>
    private void Fold(PartitionReplica meta)
    {
        var catalog = streams.Catalog;
        if (meta.State.AppliedIndex <= catalog.Version) return;
        var indexes = meta.State.RecordIndexes;
        var at = indexes.BinarySearch(catalog.Version + 1);
        if (at < 0) at = ~at;
        for (; at < indexes.Count && indexes[at] <= meta.State.AppliedIndex; at++)
        {
            var index = indexes[at];
            var entry = RecordEntry.Decode(RaftNode.DataOf(meta.ReadLog(index, index, long.MaxValue)[0]));
            CatalogCommand command;
            try
            {
                command = CatalogCommand.Parser.ParseFrom(entry.Payload.Span);
            }
            catch (InvalidProtocolBufferException)
            {
                command = new CatalogCommand(); // not a command: folds as a refusal, like any other bad one
            }
            catalog = catalog.Apply(index, command, out var refusal);
            if (refusal is not null) Log.CatalogRefused(logger, index, refusal);
        }
        Adopt(catalog);
    }

    /// <summary>Takes a newer catalog and makes this node's replicas follow it.</summary>
    private void Adopt(StreamCatalog catalog)
    {
        if (!streams.TrySet(catalog)) return;
        Log.CatalogAdopted(logger, catalog.Version, string.Join(",", catalog.Streams.Keys.Order(StringComparer.Ordinal)));
        overlay.Grow(streams.Topology); // nodes added to the cluster: links and routes follow (issue 12)
        Reconcile();
        foreach (var (version, done) in catalogWaiters.ToList())
            if (version <= catalog.Version)
            {
                catalogWaiters.Remove((version, done));
                done.TrySetResult();
            }
    }

    private void Reconcile()
    {
        foreach (var group in streams.PlacedOn(options.NodeId))
            if (partitions.Add(group)) Log.StreamReplicaOpened(logger, StreamGroups.Describe(group));
        foreach (var group in streams.DeletedGroups)
        {
            if (partitions.Remove(group)) Log.StreamReplicaClosed(logger, StreamGroups.Describe(group));
            DeleteFiles(group);
        }
    }

    /// <summary>Removes a closed replica's folder; a failure is logged, the loop goes on.</summary>
    private void DeleteFiles(uint group)
    {
        var directory = streams.DirectoryOf(group);
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException e)
        {
            Log.LoopWorkFailed(logger, e);
        }
    }

    /// <summary>How long a catalog fetch waits at the answering node for something newer (a long
    /// poll: an idle node asks once per wait, and a change reaches it as soon as it is folded).</summary>
    private static readonly TimeSpan CatalogWait = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait a node grants a long-polling asker.</summary>
    private const uint CatalogWaitMaxMs = 30_000;

    private int fetches;

    /// <summary>
    /// Long-polls one node for a newer catalog: the metadata replicas first (from a different one
    /// each time, so a stale one is not asked for ever), then the group's first replicas, then any
    /// node (every copy is a committed prefix; a node whose catalog is so old that the replicas it
    /// lists are gone still finds a newer one). Moves on only when a node cannot be asked.
    /// </summary>
    private async Task FetchCatalogAsync()
    {
        if (Interlocked.Exchange(ref fetching, 1) == 1) return;
        try
        {
            var known = streams.Catalog.Version;
            var meta = streams.MetaReplicas.Where(n => n != options.NodeId).ToList();
            var turn = meta.Count == 0 ? 0 : fetches++ % meta.Count;
            var askOrder = meta.Skip(turn).Concat(meta.Take(turn)).Concat(streams.MetaBootstrap).Concat(streams.Topology.NodeIds)
                .Where(n => n != options.NodeId).Distinct().ToList();
            var request = new NodeRequest { Catalog = new CatalogRequest { KnownVersion = known, WaitMs = (uint)CatalogWait.TotalMilliseconds } };
            foreach (var node in askOrder)
            {
                var response = await overlay.CallAsync(node, request, CatalogWait + CatalogCallTimeout, CancellationToken.None).ConfigureAwait(false);
                if (response.Error.Length > 0 || response.Catalog is not { } state) continue; // cannot be asked: the next one
                if (state.Version <= known) return; // nothing newer within the wait
                if (!StreamCatalog.TryFrom(state, out var catalog, out var error))
                {
                    Log.CatalogRefused(logger, state.Version, $"from {node}: {error}");
                    continue;
                }
                inbox.Writer.TryWrite(() => Adopt(catalog));
                return;
            }
        }
        finally
        {
            Volatile.Write(ref fetching, 0);
        }
    }

    /// <summary>Another node asks for the catalog: answered with this node's copy (a metadata
    /// replica folds what it has applied first), empty when it has nothing newer. A long poll
    /// (<c>wait_ms</c>) with nothing newer is answered once a newer catalog is adopted here, or
    /// when the wait is over.</summary>
    public async Task<NodeResponse> CatalogAsync(CatalogRequest request, CancellationToken ct)
    {
        var answer = await AskAsync(() =>
        {
            if (replicas.TryGetValue(StreamGroups.MetaGroup, out var meta)) Fold(meta);
            return Catalog(request);
        }, ct).ConfigureAwait(false);
        if (request.WaitMs == 0 || answer.Catalog is not { } state || state.Version > request.KnownVersion) return answer;
        var newer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await inbox.Writer.WriteAsync(() =>
        {
            if (streams.Catalog.Version > request.KnownVersion) newer.TrySetResult();
            else catalogWaiters.Add((request.KnownVersion + 1, newer));
        }, ct).ConfigureAwait(false);
        try
        {
            await newer.Task.WaitAsync(TimeSpan.FromMilliseconds(Math.Min(request.WaitMs, CatalogWaitMaxMs)), ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            inbox.Writer.TryWrite(() => catalogWaiters.RemoveAll(w => w.Done == newer));
        }
        return await AskAsync(() => Catalog(request), ct).ConfigureAwait(false);
    }

    private NodeResponse Catalog(CatalogRequest request)
    {
        // Any node answers with its copy: every copy is a committed prefix of the metadata group's
        // log, and a node whose catalog is so old that the replicas it lists are gone finds a newer
        // one anywhere (FetchCatalogAsync asks the others last).
        var catalog = streams.Catalog;
        return new NodeResponse { Catalog = catalog.Version > request.KnownVersion ? catalog.ToState() : new CatalogState { Version = catalog.Version } };
    }

    private readonly List<(ulong Version, TaskCompletionSource Done)> catalogWaiters = [];

    /// <summary>Waits until this node's catalog has folded through <paramref name="version"/> (fetching it now if need be).</summary>
    public async Task WaitForCatalogAsync(ulong version, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await inbox.Writer.WriteAsync(() =>
        {
            if (streams.Catalog.Version >= version) done.TrySetResult();
            else catalogWaiters.Add((version, done));
        }, ct).ConfigureAwait(false);
        while (!done.Task.IsCompleted)
        {
            _ = FetchCatalogAsync();
            await Task.WhenAny(done.Task, Task.Delay(100, ct)).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Asks every metadata replica for its catalog now and adopts the newest (a request
    /// named a stream this node does not know, or lists the streams): the leader's has every
    /// committed command, so a list after a create or delete anywhere reflects it.</summary>
    public async Task RefreshCatalogAsync(CancellationToken ct)
    {
        var known = streams.Catalog.Version;
        var answers = await Task.WhenAll(streams.MetaReplicas.Select(replica =>
            overlay.CallAsync(replica, new NodeRequest { Catalog = new CatalogRequest { KnownVersion = known } }, CatalogCallTimeout, ct))).ConfigureAwait(false);
        var newest = answers.Where(a => a.Error.Length == 0 && a.Catalog is not null && a.Catalog.Version > known).MaxBy(a => a.Catalog.Version)?.Catalog;
        if (newest is null || !StreamCatalog.TryFrom(newest, out var catalog, out _)) return;
        await AskAsync(() =>
        {
            Adopt(catalog);
            return 0;
        }, ct).ConfigureAwait(false);
    }
}

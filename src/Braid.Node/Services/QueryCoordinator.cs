using Braid.Client;
using Braid.Core.Streams;
using Braid.Node.Overlay;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>
/// Runs a query for a client: fixes a snapshot (each partition's commit index, read from its
/// leader) when the query starts, then pages through each partition on any replica that has
/// applied up to the snapshot (this node's own first, then the others, through the overlay),
/// and hands out chunks whose cursor resumes the query anywhere with exactly the rest. A partition
/// with no quorum fails the query fast (<see cref="QuorumWatch"/>), or, in a degraded read, is
/// left where it was in the cursor and named missing.
/// </summary>
internal sealed class QueryCoordinator(OverlayDriver overlay, StreamDefinition stream, string self, TimeProvider clock)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PartitionDeadline = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Per call while looking for a partition's leader: a replica answers the commit
    /// index at once; a dead one routed to still (not yet suspected) must not hold the round up.</summary>
    private static readonly TimeSpan LeaderCallTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A new cursor at the start of a fresh snapshot: each partition's leader's records
    /// from its retention point to its commit index. Partitions outside <paramref name="only"/>
    /// (when given and not empty) get an empty snapshot, done at once, without asking their leader
    /// (a file's get reads the one partition that holds it). The leaders are asked concurrently;
    /// partitions with no quorum fail the start fast, naming them all (UNAVAILABLE), or, with
    /// <paramref name="allowPartial"/>, stay pending in the cursor (a resume fixes them).</summary>
    public Task<ScanCursor> StartAsync(QueryFilter filter, CancellationToken ct, IReadOnlyCollection<uint>? only = null, bool allowPartial = false)
    {
        var positions = new List<ScanPosition>();
        for (var p = 0u; p < stream.PartitionCount; p++)
            positions.Add(only is { Count: > 0 } && !only.Contains(p) ? ScanPosition.Start(p, 0, 0) : ScanPosition.Pending(p));
        return FixPendingAsync(ScanCursor.At(QueryCursors.Hash(filter), positions, stream.Id, stream.Name), allowPartial, ct);
    }

    /// <summary>Fixes the snapshot of each pending partition of <paramref name="cursor"/> at its
    /// leader (concurrently). Partitions still without a leader stay pending when
    /// <paramref name="allowPartial"/>; otherwise they fail the query with UNAVAILABLE naming them.</summary>
    public async Task<ScanCursor> FixPendingAsync(ScanCursor cursor, bool allowPartial, CancellationToken ct)
    {
        var pending = cursor.Pending;
        if (pending.Count == 0) return cursor;
        var leaders = await Task.WhenAll(pending.Select(p => LeaderCommitIndexAsync(p, ct))).ConfigureAwait(false);
        var unavailable = new List<PartitionUnavailableException>();
        for (var i = 0; i < pending.Count; i++)
        {
            if (leaders[i].Leader is { } leader) cursor = cursor.Fix(pending[i], leader.CommitIndex, leader.RetainedAfter);
            else unavailable.Add(new PartitionUnavailableException(pending[i], leaders[i].Reason));
        }
        if (unavailable.Count > 0 && !allowPartial) throw await UnavailableAsync(unavailable, ct).ConfigureAwait(false);
        return cursor;
    }

    /// <summary>
    /// The UNAVAILABLE status of a query that met partitions with no quorum, naming them in its
    /// message and (<see cref="UnavailablePartitions"/>) its trailer, so the client fails fast. When
    /// this node itself reaches no majority of the cluster the trailer says so: the fault may be
    /// this node's, and the client asks the others first.
    /// </summary>
    public async Task<RpcException> UnavailableAsync(IReadOnlyCollection<PartitionUnavailableException> unavailable, CancellationToken ct)
    {
        var partitions = unavailable.Select(u => u.Partition).Distinct().Order().ToList();
        var (reached, nodes) = await overlay.ReachAsync(ct).ConfigureAwait(false);
        var cutOff = reached <= nodes / 2;
        var message = $"partition{(partitions.Count == 1 ? "" : "s")} {UnavailablePartitions.Describe(partitions)} of stream '{stream.Name}' {(partitions.Count == 1 ? "is" : "are")} unavailable"
            + $" ({string.Join("; ", unavailable.OrderBy(u => u.Partition).Select(u => $"partition {u.Partition}: {u.Message}"))})"
            + (cutOff ? $"; {self} reaches only {reached} of {nodes} nodes, another node may reach them" : "; retry once they are back, or allow a partial result");
        return new RpcException(new Status(StatusCode.Unavailable, message), UnavailablePartitions.Trailers(partitions, isolated: cutOff));
    }

    /// <summary>
    /// A durable consumer's subscription start: in each partition its committed position (read
    /// from the leader, which has applied every acknowledged commit), else the start of a fresh
    /// snapshot, or its end when <paramref name="fromNow"/>. Null when the consumer has committed
    /// nowhere (the caller starts as asked).
    /// </summary>
    public async Task<ScanCursor?> ConsumerStartAsync(QueryFilter filter, string consumer, bool fromNow, CancellationToken ct)
    {
        var positions = new List<ScanPosition>();
        var found = false;
        for (var p = 0; p < stream.PartitionCount; p++)
        {
            var (leader, reason) = await LeaderCommitIndexAsync((uint)p, ct, consumer).ConfigureAwait(false);
            if (leader is null) throw await UnavailableAsync([new PartitionUnavailableException((uint)p, reason)], ct).ConfigureAwait(false);
            var start = ScanPosition.Start((uint)p, leader.CommitIndex, leader.RetainedAfter);
            if (leader.HasConsumer)
            {
                found = true;
                var next = Math.Min(leader.ConsumerNextIndex, leader.CommitIndex + 1);
                var skip = next <= leader.CommitIndex ? leader.ConsumerSkip : 0;
                positions.Add(new ScanPosition((uint)p, leader.CommitIndex, next, skip));
            }
            else positions.Add(fromNow ? start.Finished() : start);
        }
        return found ? ScanCursor.At(QueryCursors.Hash(filter), positions, stream.Id, stream.Name) : null;
    }

    /// <summary>Pages through the query from <paramref name="cursor"/>; each page comes with the cursor after it.</summary>
    /// <remarks>Pages are handed out partition by partition, in order (so one cursor describes the
    /// position), but up to <see cref="PartitionsAhead"/> partitions are scanned concurrently into
    /// small bounded buffers: replicas on several nodes work at once. A partition that cannot be
    /// read (pending, or no replica can serve it) fails the query with UNAVAILABLE naming it; with
    /// <paramref name="missing"/> (a degraded read) it is added there instead and passed, its
    /// position left where it was.</remarks>
    public async IAsyncEnumerable<(ScanResponse Page, ScanCursor Cursor)> RunAsync(QueryFilter filter, ScanCursor cursor, uint chunkRecords,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct, bool aggregate = false, ICollection<uint>? missing = null)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var fetchers = new Dictionary<int, System.Threading.Channels.Channel<ScanResponse>>();
        void StartThrough(int last)
        {
            for (var j = 0; j <= Math.Min(last, cursor.Positions.Count - 1); j++)
                if (!fetchers.ContainsKey(j) && !cursor.Positions[j].IsPending) fetchers[j] = Fetch(filter, cursor.Positions[j], chunkRecords, aggregate, stop.Token);
        }
        try
        {
            for (var i = 0; i < cursor.Positions.Count; i++)
            {
                if (cursor.Positions[i].IsPending)
                {
                    if (missing is null) throw await UnavailableAsync([new PartitionUnavailableException((uint)i, "its snapshot was never fixed")], ct).ConfigureAwait(false);
                    missing.Add((uint)i);
                    continue;
                }
                StartThrough(i + PartitionsAhead);
                while (true)
                {
                    var (page, unavailable) = await NextPageAsync(fetchers[i].Reader, ct).ConfigureAwait(false);
                    if (unavailable is not null)
                    {
                        if (missing is null) throw await UnavailableAsync([unavailable], ct).ConfigureAwait(false);
                        missing.Add((uint)i);
                        break;
                    }
                    if (page is null) break;
                    cursor = cursor.Advance(PositionOf(page.Next));
                    yield return (page, cursor);
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A partition's next page, null at its end, or why it cannot be read (other errors are thrown).</summary>
    private static async Task<(ScanResponse? Page, PartitionUnavailableException? Unavailable)> NextPageAsync(System.Threading.Channels.ChannelReader<ScanResponse> pages, CancellationToken ct)
    {
        try
        {
            while (await pages.WaitToReadAsync(ct).ConfigureAwait(false))
                if (pages.TryRead(out var page)) return (page, null);
            return (null, null);
        }
        catch (PartitionUnavailableException e)
        {
            return (null, e);
        }
        catch (System.Threading.Channels.ChannelClosedException e) when (e.InnerException is PartitionUnavailableException u)
        {
            return (null, u);
        }
    }

    private static ScanPosition PositionOf(PartitionPosition p) => new(p.Partition, p.SnapshotIndex, p.NextIndex, p.Skip);

    private static PartitionPosition WireOf(ScanPosition p) => new() { Partition = p.Partition, SnapshotIndex = p.SnapshotIndex, NextIndex = p.NextIndex, Skip = p.Skip };

    private const int PartitionsAhead = 3;

    /// <summary>Pages one partition in the background into a buffer of two pages; errors end the channel with them.</summary>
    private System.Threading.Channels.Channel<ScanResponse> Fetch(QueryFilter filter, ScanPosition position, uint chunkRecords, bool aggregate, CancellationToken ct)
    {
        var pages = System.Threading.Channels.Channel.CreateBounded<ScanResponse>(2);
        _ = Task.Run(async () =>
        {
            try
            {
                while (!position.Done)
                {
                    var page = await ScanAsync(filter, position, chunkRecords, aggregate, ct).ConfigureAwait(false);
                    // Replicas know the stream's Raft group; the cursor counts the stream's partitions.
                    if (page.Next is { } n && n.Partition == stream.Group(position.Partition)) n.Partition = position.Partition;
                    var next = PositionOf(page.Next ?? new PartitionPosition());
                    if (next.Partition != position.Partition || next.SnapshotIndex != position.SnapshotIndex || next.NextIndex < position.NextIndex || !next.IsValid)
                        throw new RpcException(new Status(StatusCode.Internal, $"partition {position.Partition}: a replica answered the page at {position} with {next}"));
                    position = next;
                    await pages.Writer.WriteAsync(page, ct).ConfigureAwait(false);
                }
                pages.Writer.TryComplete();
            }
            catch (Exception e)
            {
                pages.Writer.TryComplete(e);
            }
        }, CancellationToken.None);
        return pages;
    }

    private async Task<ScanResponse> ScanAsync(QueryFilter filter, ScanPosition position, uint chunkRecords, bool aggregate, CancellationToken ct)
    {
        var replicas = Ordered(stream.Placement[(int)position.Partition], (int)position.Partition);
        var at = WireOf(position);
        at.Partition = stream.Group(position.Partition);
        var started = clock.GetTimestamp();
        var watch = new QuorumWatch(replicas.Count, TimeSpan.Zero, PartitionDeadline);
        var problems = new List<string>();
        while (true)
        {
            var trimmed = 0;
            var answered = 0;
            foreach (var replica in replicas)
            {
                var request = new NodeRequest { Scan = new ScanRequest { Filter = filter.ToByteString(), Position = at, MaxRecords = chunkRecords, Aggregate = aggregate, Format = (uint)stream.Format } };
                var response = await overlay.CallAsync(replica, request, CallTimeout, ct).ConfigureAwait(false);
                if (response.Error.Length == 0 && response.Scan is { Behind: false, Trimmed: false } scan) return scan;
                if (response.Error.Length == 0) answered++;
                if (response.Scan is { Trimmed: true } gone)
                {
                    trimmed++;
                    problems.Add($"{replica}: retains only entries after {gone.RetainedAfter}");
                    continue;
                }
                problems.Add($"{replica}: {(response.Error.Length > 0 ? response.Error : "has not applied the snapshot yet")}");
            }
            if (trimmed == replicas.Count)
                throw new RpcException(new Status(StatusCode.OutOfRange,
                    $"partition {position.Partition}: records from entry {position.NextIndex} on were removed by retention (--retain-bytes) before this query reached them; start the query again ({string.Join("; ", problems.TakeLast(replicas.Count))})"));
            // No replica can serve the page: fail fast when no majority answers (down or cut off),
            // else after the partition deadline.
            if (watch.Round(answered, served: false, clock.GetElapsedTime(started)) == QuorumVerdict.Unavailable)
                throw new PartitionUnavailableException(position.Partition, $"no replica can serve the query: {watch.Reason}: {string.Join("; ", problems.TakeLast(replicas.Count))}");
            await Task.Delay(RetryInterval, clock, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The leader's answer (the claim of the highest term), or null with the reason when
    /// the partition has no quorum this node can reach (<see cref="QuorumWatch"/>: within a few
    /// seconds, not the query's deadline).</summary>
    private async Task<(CommitIndexResponse? Leader, string Reason)> LeaderCommitIndexAsync(uint streamPartition, CancellationToken ct, string consumer = "")
    {
        var replicas = stream.Placement[(int)streamPartition];
        var partition = stream.Group(streamPartition);
        var started = clock.GetTimestamp();
        var watch = new QuorumWatch(replicas.Count, TimeSpan.Zero, QuorumWatch.NoLeaderAfter);
        while (true)
        {
            // Ask every replica: a deposed leader cut off in a minority may still claim leadership
            // for up to an election timeout (CheckQuorum), so the claim of the highest term wins.
            var answers = await Task.WhenAll(replicas.Select(replica =>
                overlay.CallAsync(replica, new NodeRequest { CommitIndex = new CommitIndexRequest { Partition = partition, Consumer = consumer } }, LeaderCallTimeout, ct))).ConfigureAwait(false);
            var leader = answers.Where(a => a.Error.Length == 0 && a.CommitIndex is { IsLeader: true }).Select(a => a.CommitIndex).MaxBy(c => c.Term);
            if (leader is not null) return (leader, "");
            var answered = answers.Count(a => a.Error.Length == 0 && a.CommitIndex is not null);
            if (watch.Round(answered, served: false, clock.GetElapsedTime(started)) == QuorumVerdict.Unavailable)
            {
                var hint = answers.Select(a => a.CommitIndex?.Leader).FirstOrDefault(l => l is { Length: > 0 });
                var errors = answers.Select((a, i) => (a, i)).Where(x => x.a.Error.Length > 0).Select(x => x.a.Error);
                return (null, $"no reachable leader to fix the query snapshot: {watch.Reason}{(hint is null ? "" : $", last known leader {hint}")}{string.Concat(errors.Select(e => "; " + e))}");
            }
            await Task.Delay(RetryInterval, clock, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Where each partition's long poll goes next: the leader its last answer named.</summary>
    private readonly Dictionary<uint, string> pollTargets = [];

    /// <summary>
    /// A subscription's next round: waits until some partition has committed past its position's
    /// snapshot (long polls to each partition's leader, answered at once when it has), then
    /// returns the cursor with those partitions' snapshots moved to their commit index. Returns
    /// the cursor unchanged after about <paramref name="wait"/> with no new commit. A commit index
    /// from any replica, even a deposed leader, names committed entries only, so this is safe.
    /// </summary>
    public async Task<ScanCursor> ExtendAsync(ScanCursor cursor, TimeSpan wait, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var polls = cursor.Positions.Select(p => PollAsync(p, wait, stop.Token)).ToList();
        var pending = polls.ToList();
        while (pending.Count > 0)
        {
            var answered = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(answered);
            if (answered.Result is not null) break;
        }
        // Others that answer within a moment join this round; the rest are dropped.
        if (pending.Count > 0) await Task.WhenAny(Task.WhenAll(pending), Task.Delay(TimeSpan.FromMilliseconds(2), clock, ct)).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        var positions = cursor.Positions.ToArray();
        for (var i = 0; i < polls.Count; i++)
        {
            if (!polls[i].IsCompletedSuccessfully || polls[i].Result is not { } commit || commit <= positions[i].SnapshotIndex) continue;
            var p = positions[i];
            // Done: the next entry is past the old snapshot; else the partition still has records before it.
            positions[i] = p.Done ? new ScanPosition(p.Partition, commit, p.SnapshotIndex + 1) : p with { SnapshotIndex = commit };
        }
        return ScanCursor.At(cursor.FilterHash, positions, cursor.StreamId, cursor.Stream);
    }

    /// <summary>One partition's commit index once it passes the position's snapshot, or null.</summary>
    private async Task<ulong?> PollAsync(ScanPosition position, TimeSpan wait, CancellationToken ct)
    {
        var replicas = stream.Placement[(int)position.Partition];
        string target;
        lock (pollTargets) target = pollTargets.GetValueOrDefault(position.Partition) ?? replicas[0];
        try
        {
            var request = new CommitIndexRequest { Partition = stream.Group(position.Partition), WaitBeyond = position.SnapshotIndex, WaitMs = (uint)wait.TotalMilliseconds };
            var response = await overlay.CallAsync(target, new NodeRequest { CommitIndex = request }, wait + CallTimeout, ct).ConfigureAwait(false);
            if (response.Error.Length > 0 || response.CommitIndex is not { } c)
            {
                lock (pollTargets) pollTargets[position.Partition] = replicas[(replicas.ToList().IndexOf(target) + 1) % replicas.Count];
                await Task.Delay(RetryInterval, clock, ct).ConfigureAwait(false);
                return null;
            }
            if (!c.IsLeader && c.Leader.Length > 0 && replicas.Contains(c.Leader))
                lock (pollTargets) pollTargets[position.Partition] = c.Leader;
            else if (!c.IsLeader && c.CommitIndex <= position.SnapshotIndex)
            {
                lock (pollTargets) pollTargets[position.Partition] = replicas[(replicas.ToList().IndexOf(target) + 1) % replicas.Count];
                await Task.Delay(RetryInterval, clock, ct).ConfigureAwait(false);
            }
            return c.CommitIndex > position.SnapshotIndex ? c.CommitIndex : null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>This node first (no network), then the others, rotated by partition so that
    /// concurrent scans of different partitions land on different nodes.</summary>
    private List<string> Ordered(IReadOnlyList<string> replicas, int rotate = 0)
    {
        var others = replicas.Where(r => r != self).ToList();
        var rotated = others.Skip(rotate % Math.Max(1, others.Count)).Concat(others.Take(rotate % Math.Max(1, others.Count)));
        return replicas.Where(r => r == self).Concat(rotated).ToList();
    }
}

/// <summary>A partition a query cannot read now: no leader to fix its snapshot at, or no replica
/// that can serve its records; <see cref="Exception.Message"/> says why.</summary>
internal sealed class PartitionUnavailableException(uint partition, string reason) : Exception(reason)
{
    /// <summary>The stream's partition number.</summary>
    public uint Partition { get; } = partition;
}

/// <summary>Encoding and checking of query cursors.</summary>
internal static class QueryCursors
{
    /// <summary>FNV-1a over the filter's canonical bytes (parameters sorted), so equal filters hash equal.</summary>
    public static ulong Hash(QueryFilter filter)
    {
        var canonical = filter.Clone();
        var sorted = canonical.Parameters.Order(StringComparer.OrdinalIgnoreCase).ToList();
        canonical.Parameters.Clear();
        canonical.Parameters.AddRange(sorted);
        return Core.Fnv1a.Hash(canonical.ToByteArray());
    }

    /// <summary>Parses a client's cursor; every way it can be wrong is an InvalidArgument naming the problem.</summary>
    /// <param name="allowPending">A query's cursor may hold partitions a degraded read left pending; a subscription's may not.</param>
    public static ScanCursor Parse(ByteString bytes, QueryFilter filter, StreamDefinition stream, bool allowPending = false) =>
        ScanCursor.TryDecode(bytes.Span, Hash(filter), stream.PartitionCount, stream.Id, stream.Name, out var cursor, out var error, allowPending) ? cursor : throw Invalid(error);

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}

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
/// and hands out chunks whose cursor resumes the query anywhere with exactly the rest.
/// </summary>
internal sealed class QueryCoordinator(OverlayDriver overlay, StreamDefinition stream, string self, TimeProvider clock)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PartitionDeadline = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>A new cursor at the start of a fresh snapshot: each partition's leader's records
    /// from its retention point to its commit index. Partitions outside <paramref name="only"/>
    /// (when given and not empty) get an empty snapshot, done at once, without asking their leader
    /// (a file's get reads the one partition that holds it).</summary>
    public async Task<ScanCursor> StartAsync(QueryFilter filter, CancellationToken ct, IReadOnlyCollection<uint>? only = null)
    {
        var leaders = new List<(ulong, ulong)>();
        for (var p = 0; p < stream.PartitionCount; p++)
        {
            if (only is { Count: > 0 } && !only.Contains((uint)p))
            {
                leaders.Add((0, 0));
                continue;
            }
            var leader = await LeaderCommitIndexAsync((uint)p, ct).ConfigureAwait(false);
            leaders.Add((leader.CommitIndex, leader.RetainedAfter));
        }
        return ScanCursor.Start(QueryCursors.Hash(filter), leaders, stream.Id, stream.Name);
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
            var leader = await LeaderCommitIndexAsync((uint)p, ct, consumer).ConfigureAwait(false);
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
    /// small bounded buffers: replicas on several nodes work at once.</remarks>
    public async IAsyncEnumerable<(ScanResponse Page, ScanCursor Cursor)> RunAsync(QueryFilter filter, ScanCursor cursor, uint chunkRecords,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct, bool aggregate = false)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var fetchers = new Dictionary<int, System.Threading.Channels.Channel<ScanResponse>>();
        void StartThrough(int last)
        {
            for (var j = 0; j <= Math.Min(last, cursor.Positions.Count - 1); j++)
                if (!fetchers.ContainsKey(j)) fetchers[j] = Fetch(filter, cursor.Positions[j], chunkRecords, aggregate, stop.Token);
        }
        try
        {
            for (var i = 0; i < cursor.Positions.Count; i++)
            {
                StartThrough(i + PartitionsAhead);
                await foreach (var page in fetchers[i].Reader.ReadAllAsync(ct).ConfigureAwait(false))
                {
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
        var problems = new List<string>();
        while (true)
        {
            var trimmed = 0;
            foreach (var replica in replicas)
            {
                var request = new NodeRequest { Scan = new ScanRequest { Filter = filter.ToByteString(), Position = at, MaxRecords = chunkRecords, Aggregate = aggregate, Format = (uint)stream.Format } };
                var response = await overlay.CallAsync(replica, request, CallTimeout, ct).ConfigureAwait(false);
                if (response.Error.Length == 0 && response.Scan is { Behind: false, Trimmed: false } scan) return scan;
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
            if (clock.GetElapsedTime(started) > PartitionDeadline)
                throw new RpcException(new Status(StatusCode.Unavailable, $"no replica of partition {position.Partition} can serve the query: {string.Join("; ", problems.TakeLast(replicas.Count))}"));
            await Task.Delay(RetryInterval, clock, ct).ConfigureAwait(false);
        }
    }

    private async Task<CommitIndexResponse> LeaderCommitIndexAsync(uint streamPartition, CancellationToken ct, string consumer = "")
    {
        var replicas = stream.Placement[(int)streamPartition];
        var partition = stream.Group(streamPartition);
        var started = clock.GetTimestamp();
        while (true)
        {
            // Ask every replica: a deposed leader cut off in a minority may still claim leadership
            // for up to an election timeout (CheckQuorum), so the claim of the highest term wins.
            string? hint = null;
            var answers = await Task.WhenAll(replicas.Select(replica =>
                overlay.CallAsync(replica, new NodeRequest { CommitIndex = new CommitIndexRequest { Partition = partition, Consumer = consumer } }, CallTimeout, ct))).ConfigureAwait(false);
            var leader = answers.Where(a => a.Error.Length == 0 && a.CommitIndex is { IsLeader: true }).Select(a => a.CommitIndex).MaxBy(c => c.Term);
            if (leader is not null) return leader;
            hint = answers.Select(a => a.CommitIndex?.Leader).FirstOrDefault(l => l is { Length: > 0 });
            if (clock.GetElapsedTime(started) > PartitionDeadline)
                throw new RpcException(new Status(StatusCode.Unavailable, $"partition {streamPartition} of stream '{stream.Name}' has no reachable leader to fix the query snapshot{(hint is null ? "" : $" (last known leader {hint})")}"));
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
    public static ScanCursor Parse(ByteString bytes, QueryFilter filter, StreamDefinition stream) =>
        ScanCursor.TryDecode(bytes.Span, Hash(filter), stream.PartitionCount, stream.Id, stream.Name, out var cursor, out var error) ? cursor : throw Invalid(error);

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}

using System.Threading.Channels;
using Braid.Core.Placement;
using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Node.Overlay;
using Braid.Protocol.V1;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Braid.Node.Partitions;

/// <summary>
/// Runs every partition replica placed on this node (multi-Raft) on one loop, separate from the
/// overlay loop so that fsyncs never delay heartbeats. Inputs (ticks, Raft batches delivered by
/// the overlay, client appends) are drained in bulk, then each partition hands out one ready: one
/// fsync covers every append of the round (group commit). Outgoing Raft messages are batched per
/// destination node into one overlay envelope.
/// </summary>
internal sealed partial class RaftDriver : BackgroundService
{
    private const int PendingPerPartitionMax = 20_000;
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(50);
    private readonly Channel<Action> inbox = Channel.CreateBounded<Action>(new BoundedChannelOptions(65_536) { SingleReader = true });
    private readonly Dictionary<uint, PartitionReplica> replicas = [];
    private readonly OverlayDriver overlay;
    private readonly NodeOptions options;
    private readonly ILogger<RaftDriver> logger;

    public RaftDriver(NodeOptions options, OverlayDriver overlay, ILogger<RaftDriver> logger)
    {
        this.options = options;
        this.overlay = overlay;
        this.logger = logger;
        Placement = PlacementPlanner.Plan(options.Topology, options.Partitions, options.Replicas);
        overlay.RaftDelivered += batch => inbox.Writer.TryWrite(() => StepBatch(batch)); // full inbox: drop, Raft retries
        overlay.RequestHandler = HandleAsync;
    }

    public PlacementTable Placement { get; }

    private static readonly RaftOptions NodeRaftOptions = RaftOptions.Node;

    /// <summary>
    /// The loop runs on a dedicated thread: its fsyncs and file writes block, and on a small
    /// machine (2 cores: 2 pool threads to start with) blocking a thread-pool thread stalls the
    /// overlay loop, gRPC and heartbeats until the pool injects a thread, about every 500 ms,
    /// which under load cost suspected links and needless elections.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                RunLoop(stoppingToken);
                loop.TrySetResult();
            }
            catch (Exception e)
            {
                loop.TrySetException(e);
            }
        })
        { IsBackground = true, Name = "raft-loop" };
        thread.Start();
        await loop.Task.ConfigureAwait(false);
    }

    private void RunLoop(CancellationToken stoppingToken)
    {
        OpenReplicas();
        var ticker = TickLoopAsync(stoppingToken);
        try
        {
            while (inbox.Reader.WaitToReadAsync(stoppingToken).AsTask().GetAwaiter().GetResult())
            {
                var handled = 0;
                while (handled < 10_000 && inbox.Reader.TryRead(out var work))
                {
                    work();
                    handled++;
                }
                FlushAll();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        ticker.GetAwaiter().GetResult();
        foreach (var r in replicas.Values) r.Dispose();
    }

    /// <summary>Runs <paramref name="work"/> on the loop and returns its result.</summary>
    public async Task<T> AskAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        await inbox.Writer.WriteAsync(() =>
        {
            try { result.TrySetResult(work()); }
            catch (Exception e) { result.TrySetException(e); }
        }, cancellationToken).ConfigureAwait(false);
        return await result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void OpenReplicas()
    {
        var seedBase = Core.Fnv1a.Hash(options.NodeId) ^ options.Incarnation;
        foreach (var p in Placement.Partitions.Where(p => p.Replicas.Contains(options.NodeId)))
        {
            var directory = Path.Combine(options.DataDirectory, "partitions", p.Partition.ToString("D3", System.Globalization.CultureInfo.InvariantCulture));
            var replica = new PartitionReplica((uint)p.Partition, [.. p.Replicas], options.NodeId, directory, (int)(seedBase ^ (ulong)p.Partition), NodeRaftOptions, options.RetainBytes, options.SegmentBytes);
            replicas[replica.Partition] = replica;
        }
        Log.PartitionsOpened(logger, replicas.Count, string.Join(",", replicas.Keys));
    }

    private async Task TickLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TickInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                inbox.Writer.TryWrite(Tick);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private const int PreferredLeaderCheckTicks = 40;
    private int ticks;

    private void Tick()
    {
        foreach (var r in replicas.Values) r.Raft.Tick();
        if (++ticks % PreferredLeaderCheckTicks == 0) RestorePreferredLeaders();
    }

    /// <summary>
    /// Hands leadership back to each partition's preferred leader (the placement's first replica)
    /// once it is caught up, so leaders stay balanced after failures heal (as Kafka's preferred
    /// replica election does). A preferred leader that is down or behind is left alone.
    /// </summary>
    private void RestorePreferredLeaders()
    {
        foreach (var r in replicas.Values)
        {
            if (r.Raft.Role != RaftRole.Leader) continue;
            var preferred = Placement[(int)r.Partition].PreferredLeader;
            if (preferred != options.NodeId && r.Raft.MatchOf(preferred) == r.Raft.LastIndex && r.Raft.TransferLeadership(preferred))
                Log.LeadershipTransfer(logger, r.Partition, preferred);
        }
    }

    private void StepBatch(RaftBatch batch)
    {
        foreach (var m in batch.Messages)
            if (replicas.TryGetValue(m.Group, out var replica)) replica.Raft.Step(m);
    }

    /// <summary>Persists and hands out every partition's ready, then sends one envelope per destination node.</summary>
    private void FlushAll()
    {
        var outgoing = new Dictionary<string, RaftBatch>(StringComparer.Ordinal);
        foreach (var replica in replicas.Values)
        {
            if (!replica.Raft.HasReady) continue;
            var ready = replica.Raft.TakeReady();
            var atStart = !replica.FirstReadyTaken;
            replica.FirstReadyTaken = true;
            foreach (var m in ready.Messages)
            {
                if (!outgoing.TryGetValue(m.To, out var batch)) outgoing[m.To] = batch = new RaftBatch();
                batch.Messages.Add(m);
            }
            if (ready.Snapshot is { } snapshot) Restore(replica, snapshot, atStart);
            foreach (var entry in ready.Committed) Apply(replica, entry);
            if (ready.Committed.Count > 0) MaybeCompact(replica);
            if (ready.StateChanged) OnStateChanged(replica);
        }
        if (outgoing.Count == 0) return;
        var envelopes = outgoing.Select(kv => new Envelope { Destination = kv.Key, Raft = kv.Value }).ToList();
        overlay.TryPost(_ => { foreach (var e in envelopes) overlay.Node.Send(e); }); // full inbox: dropped, Raft retries
    }

    /// <summary>The replica's state is replaced by a snapshot: read back at start-up, or installed
    /// from the leader because this replica fell behind the leader's retained log.</summary>
    private void Restore(PartitionReplica replica, Core.Log.StoredSnapshot snapshot, bool atStart)
    {
        replica.State.Restore(snapshot);
        replica.Compaction.OnRestored();
        Log.SnapshotRestored(logger, replica.Partition, snapshot.Index, snapshot.Term, snapshot.Data.Length, atStart ? "read back at start-up" : "installed from the leader");
        if (!atStart) replica.SnapshotsInstalled++;
        // Appends waiting at indexes the snapshot covers will not be applied one by one.
        foreach (var (index, pending) in replica.Pending.Where(p => p.Key <= snapshot.Index).ToList())
        {
            pending.Completion.TrySetResult(new AppendReply { Status = AppendStatus.Retry, Error = "the replica was replaced by a snapshot before the batch applied" });
            replica.Pending.Remove(index);
        }
    }

    /// <summary>Retention: compacts at the newest state checkpoint that keeps the configured log bytes.</summary>
    private void MaybeCompact(PartitionReplica replica)
    {
        var skippedBefore = replica.Compaction.SkippedOversized;
        var index = replica.Compaction.MaybeCompact(replica.Raft);
        if (replica.Compaction.SkippedOversized > skippedBefore) Log.CompactionSkipped(logger, replica.Partition, Core.Log.SnapshotStore.DataBytesMax);
        if (index == 0) return;
        replica.State.TrimThrough(index);
        Log.Compacted(logger, replica.Partition, index, replica.Raft.FirstIndex, replica.Raft.LogBytes);
    }

    private void Apply(PartitionReplica replica, CommittedEntry entry)
    {
        var outcome = replica.State.Apply(entry);
        replica.Compaction.OnApplied(entry.Index, entry.Data.Length, replica.State.Snapshot);
        if (!replica.Pending.Remove(entry.Index, out var pending)) return;
        if (entry.Term != pending.Term)
        {
            pending.Completion.TrySetResult(new AppendReply { Status = AppendStatus.Retry, Error = "leadership changed before the batch committed" });
            return;
        }
        pending.Completion.TrySetResult(outcome switch
        {
            ApplyOutcome.Stored => new AppendReply { Status = AppendStatus.AppendOk, Index = entry.Index },
            ApplyOutcome.Duplicate => new AppendReply { Status = AppendStatus.AppendOk, Index = entry.Index, Duplicate = true },
            _ => new AppendReply
            {
                Status = AppendStatus.OutOfOrder, ExpectedSequence = replica.State.LastSequenceOf(pending.Producer) + 1,
                Error = $"sequence {pending.Sequence} of producer {pending.Producer} skips ahead",
            },
        });
    }

    private void OnStateChanged(PartitionReplica replica)
    {
        var status = replica.Raft.Status;
        Log.PartitionRole(logger, replica.Partition, status.Role.ToString(), status.Term, status.Leader ?? "-");
        // Appends proposed in another term (this node may have lost and regained leadership
        // between two rounds) may never commit at their index: the client must retry them.
        foreach (var (index, pending) in replica.Pending.Where(p => status.Role != RaftRole.Leader || p.Value.Term != status.Term).ToList())
        {
            pending.Completion.TrySetResult(new AppendReply { Status = AppendStatus.Retry, Leader = status.Leader ?? "", Error = "leadership changed before the batch committed" });
            replica.Pending.Remove(index);
        }
    }
}

using System.Threading.Channels;
using Braid.Core.Placement;
using Braid.Core.Raft;
using Braid.Core.Streams;
using Braid.Node.Overlay;
using Braid.Node.Storage;
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
    }

    public PlacementTable Placement { get; }

    private PartitionReplicaOptions ReplicaOptions() => new(RaftOptions.Node, options.SegmentBytes, options.RetainBytes, PendingMax: PendingPerPartitionMax);

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
            var replica = new PartitionReplica((uint)p.Partition, options.NodeId, [.. p.Replicas], new FileDevice(directory), new Random((int)(seedBase ^ (ulong)p.Partition)), ReplicaOptions());
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

    private void Tick()
    {
        foreach (var r in replicas.Values) r.Tick();
    }

    /// <summary>Queues Raft messages delivered to this node for the loop; a full inbox drops them (Raft resends).</summary>
    public void Deliver(RaftBatch batch) => inbox.Writer.TryWrite(() => StepBatch(batch));

    private void StepBatch(RaftBatch batch)
    {
        foreach (var m in batch.Messages)
            if (replicas.TryGetValue(m.Group, out var replica)) replica.Step(m);
    }

    /// <summary>Hands out every partition's output (durable when handed out: see
    /// <see cref="PartitionReplica"/>), answers the appends it decides, then sends one envelope per
    /// destination node.</summary>
    private void FlushAll()
    {
        var outgoing = new Dictionary<string, RaftBatch>(StringComparer.Ordinal);
        foreach (var replica in replicas.Values)
        {
            if (!replica.HasOutput) continue;
            var output = replica.TakeOutput();
            foreach (var m in output.Messages)
            {
                if (!outgoing.TryGetValue(m.To, out var batch)) outgoing[m.To] = batch = new RaftBatch();
                batch.Messages.Add(m);
            }
            Report(replica, output);
            foreach (var ack in output.Acks) Answer(ack);
        }
        if (outgoing.Count == 0) return;
        var envelopes = outgoing.Select(kv => new Envelope { Destination = kv.Key, Raft = kv.Value }).ToList();
        overlay.TryPost(_ => { foreach (var e in envelopes) overlay.Node.Send(e); }); // full inbox: dropped, Raft retries
    }

    private void Report(PartitionReplica replica, ReplicaOutput output)
    {
        if (output.Restored is { } snapshot)
            Log.SnapshotRestored(logger, replica.Partition, snapshot.Index, snapshot.Term, snapshot.Data.Length, output.RestoredAtStart ? "read back at start-up" : "installed from the leader");
        if (output.CompactionSkipped) Log.CompactionSkipped(logger, replica.Partition, Core.Log.SnapshotStore.DataBytesMax);
        if (output.CompactedTo > 0) Log.Compacted(logger, replica.Partition, output.CompactedTo, replica.Raft.FirstIndex, replica.Raft.LogBytes);
        if (output.TransferStartedTo is { } preferred) Log.LeadershipTransfer(logger, replica.Partition, preferred);
        if (output.StateChanged)
        {
            var status = replica.Raft.Status;
            Log.PartitionRole(logger, replica.Partition, status.Role.ToString(), status.Term, status.Leader ?? "-");
        }
    }
}

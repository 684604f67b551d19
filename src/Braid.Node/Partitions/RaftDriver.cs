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
internal sealed partial class RaftDriver : BackgroundService, IHostedLifecycleService
{
    private const int PendingPerPartitionMax = 20_000;
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(50);
    private readonly Channel<Action> inbox = Channel.CreateBounded<Action>(new BoundedChannelOptions(65_536) { SingleReader = true });
    private readonly PartitionSet partitions;
    private readonly OverlayDriver overlay;
    private readonly NodeOptions options;
    private readonly ILogger<RaftDriver> logger;

    private readonly Grpc.HealthCheck.HealthServiceImpl health;
    private readonly Services.NodeHealth nodeHealth;
    private readonly Metrics.NodeSamples samples;
    private readonly Metrics.RaftMetrics metrics;
    private readonly Metrics.StorageMetrics storageMetrics;

    /// <summary>Raft bytes one envelope carries at most, unless one message alone is larger.</summary>
    internal const int EnvelopeRaftBytesMax = 4 << 20;

    public RaftDriver(NodeOptions options, OverlayDriver overlay, ILogger<RaftDriver> logger, Grpc.HealthCheck.HealthServiceImpl health,
        Services.NodeHealth nodeHealth, Metrics.NodeSamples samples, Metrics.RaftMetrics metrics, Metrics.StorageMetrics storageMetrics, StreamRegistry streams)
    {
        this.streams = streams;
        this.options = options;
        this.overlay = overlay;
        this.logger = logger;
        this.health = health;
        this.nodeHealth = nodeHealth;
        this.samples = samples;
        this.metrics = metrics;
        this.storageMetrics = storageMetrics;
        partitions = new PartitionSet(GroupsToOpen(), OpenReplica, OnPartitionFailed);
        startCatalogVersion = streams.Catalog.Version;
        overlay.Grow(streams.Topology); // the saved catalog may know nodes added after the topology file
    }

    private readonly StreamRegistry streams;

    /// <summary>The catalog version this node had saved when it started: a stream created at or
    /// before it had its replica opened here before (an empty folder then means lost state).</summary>
    private readonly ulong startCatalogVersion;

    public StreamRegistry Streams => streams;

    /// <summary>The replicas serving now; a failed partition is absent until it reopens.</summary>
    private IReadOnlyDictionary<uint, PartitionReplica> replicas => partitions.Running;

    /// <summary>The default stream's placement.</summary>
    public PlacementTable Placement => streams.Placement;

    private PartitionReplicaOptions ReplicaOptions(long retainBytes, long retainMs = 0) =>
        new(RaftOptions.Node, options.SegmentBytes, retainBytes, PendingMax: PendingPerPartitionMax, RetainTicks: retainMs > 0 ? Math.Max(1, retainMs / (long)TickInterval.TotalMilliseconds) : 0);

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
        var tickLoop = TickLoopAsync(stoppingToken);
        try
        {
            while (inbox.Reader.WaitToReadAsync(stoppingToken).AsTask().GetAwaiter().GetResult())
            {
                var handled = 0;
                while (handled < 10_000 && inbox.Reader.TryRead(out var work))
                {
                    Contain(work);
                    handled++;
                }
                FlushAll();
                AnswerCommitWaiters();
                var quiet = replicas.Count > 0 && partitions.FailedCount == 0 && waiting.Count == 0 && commitWaiters.Count == 0
                    && replicas.Values.All(r => r.Raft.Quiescent && !r.NoSpaceAlarm);
                if (quiet != allQuiescent) SetTickPeriod(quiet);
                allQuiescent = quiet;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        tickLoop.GetAwaiter().GetResult();
        tickTimer.Dispose();
        partitions.Dispose();
    }

    /// <summary>Work that is not one partition's (those are guarded by <see cref="PartitionSet"/>)
    /// must not stop the loop either: it is logged and the loop goes on (issue 11, item 3).</summary>
    private void Contain(Action work)
    {
        try
        {
            work();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.LoopWorkFailed(logger, e);
        }
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
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        partitions.OpenAll();
        Log.PartitionsOpened(logger, replicas.Count, string.Join(",", replicas.Keys));
        replay = new Replay(replicas.ToDictionary(r => r.Key, r => r.Value.Raft.LastIndex), started, System.Diagnostics.Stopwatch.GetTimestamp());
        options.ReplayHook?.Invoke();
    }

    private int opens;

    private PartitionReplica OpenReplica(uint partition, string? rebuild)
    {
        var voters = streams.BootstrapOf(partition) ?? throw new InvalidOperationException($"group {StreamGroups.Describe(partition)} belongs to no stream");
        var placement = streams.ReplicasOf(partition)!;
        var stream = streams.StreamOf(partition);
        var directory = streams.DirectoryOf(partition);
        var expectExisting = ExpectExisting(stream, directory);
        if (rebuild is not null)
        {
            foreach (var q in Core.Log.ReplicaStorage.Discard(new FileDevice(directory, storageMetrics.Synced), rebuild))
                StorageLog.Quarantined(logger, partition, q.Name, q.MovedTo, q.Reason);
        }
        // A reopened replica draws other election jitter than the one that failed.
        var seed = Core.Fnv1a.Hash(options.NodeId) ^ options.Incarnation ^ partition ^ ((ulong)opens++ << 32);
        var replica = new PartitionReplica(partition, options.NodeId, [.. voters], new FileDevice(directory, storageMetrics.Synced), new Random((int)seed),
            ReplicaOptions(stream?.RetainBytes ?? 0, stream?.RetainMs ?? 0), expectExisting, placement, joining: streams.Moved(partition));
        ReportStorage(replica);
        health.SetStatus(HealthName(partition), Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        return replica;
    }

    /// <summary>
    /// Whether this node held the replica before (so an empty folder means its state was lost).
    /// A replica of a stream created after this node's saved catalog is opened here for the first
    /// time; any other one with an empty folder lost its state. A node that rejoins with its
    /// catalog gone too (<see cref="NodeOptions.JoinsExisting"/> on a wiped disk) cannot tell
    /// which streams it held: until <see cref="rejoinHorizon"/> is known, every stream's replica is
    /// treated as one it held, and after that only those of streams created by then. A node that
    /// kept its catalog uses it even when restarted with JoinsExisting: a stream created after
    /// the restart never had a replica here, and treating it as lost left a new stream whose
    /// replicas sat on two restarted nodes without a leader for ever (no voter would vote).
    /// </summary>
    private bool ExpectExisting(Core.Streams.StreamDefinition? stream, string directory)
    {
        if (!options.HadPlacementRecord) return false;
        if (stream is null || stream.Id == 0 || stream.CreatedIndex <= startCatalogVersion || Directory.Exists(directory)) return true;
        return CatalogLost && stream.CreatedIndex <= (rejoinHorizon ?? ulong.MaxValue);
    }

    /// <summary>The node rejoined its cluster with no catalog of its own (a wiped or replaced disk).</summary>
    private bool CatalogLost => options.JoinsExisting && startCatalogVersion == 0;

    /// <summary>
    /// For a node whose catalog was lost: the catalog version once the node had caught up with
    /// the cluster's metadata (its metadata replica no longer recovering, or, holding none, the
    /// first catalog it adopted). Every stream it could have held was created by then.
    /// </summary>
    private ulong? rejoinHorizon;

    private void NoteRejoinHorizon()
    {
        if (!CatalogLost || rejoinHorizon is not null) return;
        var caughtUp = replicas.TryGetValue(StreamGroups.MetaGroup, out var meta)
            ? !meta.Raft.Recovering && meta.Raft.Leader is not null
            : !streams.MetaReplicas.Contains(options.NodeId) && streams.Catalog.Version > 0;
        if (caughtUp) rejoinHorizon = streams.Catalog.Version;
    }

    /// <summary>The gRPC health service name of this node's replica of a partition: NOT_SERVING
    /// while it is failed and waiting to reopen, SERVING once open.</summary>
    public static string HealthName(uint partition) => $"braid.partition.{partition}";

    /// <summary>Says what opening a replica's storage quarantined and whether it lost state.</summary>
    private void ReportStorage(PartitionReplica replica)
    {
        var report = replica.StorageReport;
        foreach (var q in report.Quarantined) StorageLog.Quarantined(logger, replica.Partition, q.Name, q.MovedTo, q.Reason);
        if (report.LostState is { } lost) StorageLog.LostState(logger, replica.Partition, report.ReplicaId, lost);
    }

    /// <summary>The partition is closed and will reopen from disk: its waiting appends may or may
    /// not commit, so they are answered Retry (exactly-once makes a resend safe).</summary>
    private void OnPartitionFailed(uint partition, Exception e, int failures, long retryTicks)
    {
        Log.PartitionFailed(logger, partition, failures, retryTicks * TickInterval.TotalMilliseconds / 1000, e);
        health.SetStatus(HealthName(partition), Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing);
        foreach (var (ticket, w) in waiting.Where(w => w.Value.Partition == partition).ToList())
        {
            waiting.Remove(ticket);
            w.Waiter.Complete(new AppendReply { Status = AppendStatus.Retry, Error = $"partition {partition} failed on {options.NodeId} and is reopening" });
        }
    }

    /// <summary>Set by the loop after each round: every replica here is quiescent (issue 14, item 5).</summary>
    private bool allQuiescent;

    /// <summary>While every replica is quiescent the tick period is this many times the usual one (200 ms).</summary>
    private const int IdleTickEvery = 4;

    private readonly PeriodicTimer tickTimer = new(TickInterval);

    /// <summary>
    /// Every replica quiescent: no timer of theirs runs, so the loop ticks every 200 ms (the
    /// preferred-leader check, membership and the NOSPACE probe just run slower); any input that
    /// wakes a replica sets the period back to 50 ms, counted from then. The period itself changes
    /// rather than skipping ticks: an idle node's timer thread and pool then wake 5 times a second,
    /// not 20 (each wake is a few context switches, most of what an idle node spends).
    /// </summary>
    private void SetTickPeriod(bool quiet) => tickTimer.Period = quiet ? TickInterval * IdleTickEvery : TickInterval;

    private async Task TickLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await tickTimer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                inbox.Writer.TryWrite(Tick);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Tick()
    {
        partitions.Tick();
        MaintainCatalog();
        NoteRejoinHorizon();
        MaintainMembership();
        Publish();
        CheckReplayEnded();
        nodeHealth.Evaluate(samples.Partitions, samples.Overlay);
    }

    /// <summary>Queues Raft messages delivered to this node for the loop; a full inbox drops them
    /// (Raft resends). <paramref name="source"/> is the node the overlay envelope came from: a
    /// message claiming to be from another node is dropped here, so no node can speak for
    /// another one's replica (a forged APPEND_RESPONSE could otherwise commit an entry that only
    /// one disk holds).</summary>
    public void Deliver(string source, RaftBatch batch)
    {
        var forged = batch.Messages.Count(m => m.From != source);
        if (forged > 0) Log.RaftForged(logger, source, forged);
        if (forged == batch.Messages.Count) return;
        inbox.Writer.TryWrite(() => StepBatch(source, batch));
    }

    private int stopping;

    /// <summary>How long a stopping node tries to hand off the partitions it leads.</summary>
    internal static readonly TimeSpan HandOffTimeout = TimeSpan.FromMilliseconds(1500);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called on SIGTERM before any service stops (links and gRPC still up): hands every
    /// partition this node leads to a caught-up follower, so a restart is not a failover.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        // The host may stop twice (on the signal, then NodeHost's finally); and once the loop has
        // ended nothing would answer.
        if (Interlocked.Exchange(ref stopping, 1) == 1 || ExecuteTask is null || ExecuteTask.IsCompleted) return;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var handed = new HashSet<uint>();
        var leading = 0;
        try
        {
            var asked = new Dictionary<uint, TimeSpan>();
            var retired = false;
            while (clock.Elapsed < HandOffTimeout)
            {
                leading = await AskAsync(() =>
                {
                    // A node on its way out takes no leadership back (no campaign, no TimeoutNow).
                    if (!retired)
                    {
                        foreach (var r in replicas.Values) r.Raft.Retire();
                        retired = true;
                    }
                    var led = replicas.Where(r => r.Value.Raft.Role == Core.Raft.RaftRole.Leader).Select(r => r.Key).ToList();
                    foreach (var p in led)
                    {
                        // A transfer that did not take (its target died, or was not caught up in
                        // time) is asked again after a while, perhaps of another follower.
                        if (asked.TryGetValue(p, out var at) && clock.Elapsed - at < TimeSpan.FromMilliseconds(400)) continue;
                        asked[p] = clock.Elapsed;
                        if (partitions.Run(p, r => r.HandOff(n => !unreachable.Contains(n)))) handed.Add(p);
                    }
                    return led.Count;
                }, cancellationToken).ConfigureAwait(false);
                if (leading == 0) break;
                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ChannelClosedException)
        {
        }
        Log.HandedOff(logger, handed.Count, leading, (long)clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>Nodes the overlay could not reach at its last report (owned by the loop).</summary>
    private HashSet<string> unreachable = new(StringComparer.Ordinal);

    /// <summary>Instant crash failover (issue 14, item 6): every node that has just become
    /// unreachable is reported to each replica; one that it led forgets it and, by the core's
    /// rule, one follower campaigns at once (see <see cref="Core.Raft.RaftNode.PeerUnreachable"/>).</summary>
    public void ReachabilityChanged(IReadOnlySet<string> nowUnreachable)
    {
        var snapshot = new HashSet<string>(nowUnreachable, StringComparer.Ordinal);
        inbox.Writer.TryWrite(() =>
        {
            var lost = snapshot.Where(n => !unreachable.Contains(n)).Order(StringComparer.Ordinal).ToList();
            var found = unreachable.Where(n => !snapshot.Contains(n)).Order(StringComparer.Ordinal).ToList();
            unreachable = snapshot;
            foreach (var node in lost)
            {
                var led = replicas.Where(r => r.Value.Raft.Leader == node && r.Value.Raft.Role != Core.Raft.RaftRole.Leader).Select(r => r.Key).ToList();
                if (led.Count > 0) Log.LeaderUnreachable(logger, node, string.Join(",", led));
                // Every replica hears of it: followers of that leader fail over, a quiescent leader
                // that lost a follower heartbeats again.
                foreach (var partition in replicas.Keys.ToList()) partitions.Run(partition, r => r.PeerUnreachable(node, n => !snapshot.Contains(n)));
            }
            foreach (var node in found)
                foreach (var partition in replicas.Keys.ToList()) partitions.Run(partition, r => r.PeerReachable(node));
        });
    }

    private void StepBatch(string source, RaftBatch batch)
    {
        foreach (var m in batch.Messages)
        {
            if (m.From != source) continue;
            partitions.Run(m.Group, r => StepChecked(r, m));
        }
    }

    private void StepChecked(PartitionReplica replica, RaftMessage m)
    {
        var refused = replica.Raft.RefusedCount;
        replica.Step(m);
        if (replica.Raft.RefusedCount > refused) Log.RaftRefused(logger, replica.Partition, replica.Raft.LastRefusal ?? "");
    }

    /// <summary>Hands out every partition's output (durable when handed out: see
    /// <see cref="PartitionReplica"/>), answers the appends it decides, then sends one envelope per
    /// destination node.</summary>
    private void FlushAll()
    {
        var outgoing = new Dictionary<string, List<(RaftBatch Batch, long Bytes)>>(StringComparer.Ordinal);
        foreach (var partition in replicas.Keys.ToList())
        {
            partitions.Run(partition, replica =>
            {
                if (!replica.HasOutput) return;
                var output = replica.TakeOutput();
                foreach (var m in output.Messages)
                {
                    // One envelope per destination, split so that none carries more than
                    // EnvelopeRaftBytesMax (a single larger message, a snapshot, travels alone).
                    if (!outgoing.TryGetValue(m.To, out var batches)) outgoing[m.To] = batches = [];
                    var size = m.CalculateSize();
                    if (batches.Count == 0 || batches[^1].Bytes > 0 && batches[^1].Bytes + size > EnvelopeRaftBytesMax) batches.Add((new RaftBatch(), 0));
                    batches[^1].Batch.Messages.Add(m);
                    batches[^1] = (batches[^1].Batch, batches[^1].Bytes + size);
                }
                Report(replica, output);
                foreach (var ack in output.Acks) Answer(ack);
            });
        }
        if (outgoing.Count == 0) return;
        var envelopes = outgoing.SelectMany(kv => kv.Value.Select(b => new Envelope { Destination = kv.Key, Raft = b.Batch })).ToList();
        overlay.TryPost(_ => { foreach (var e in envelopes) overlay.Node.Send(e); }); // full inbox: dropped, Raft retries
    }

    private void Report(PartitionReplica replica, ReplicaOutput output)
    {
        if (output.Restored is not null && !output.RestoredAtStart) metrics.SnapshotInstalled(replica.Partition);
        if (output.CompactedTo > 0) metrics.SnapshotTaken(replica.Partition);
        if (output.Restored is { } snapshot)
            Log.SnapshotRestored(logger, replica.Partition, snapshot.Index, snapshot.Term, snapshot.Data.Length, output.RestoredAtStart ? "read back at start-up" : "installed from the leader");
        if (output.CompactionSkipped) Log.CompactionSkipped(logger, replica.Partition, Core.Log.SnapshotStore.DataBytesMax);
        if (output.CompactedTo > 0) Log.Compacted(logger, replica.Partition, output.CompactedTo, replica.Raft.FirstIndex, replica.Raft.LogBytes);
        if (output.RecoveryEnded) StorageLog.RecoveryEnded(logger, replica.Partition);
        if (output.NoSpaceAlarm is { } noSpace)
        {
            if (noSpace) StorageLog.NoSpaceRaised(logger, replica.Partition, output.NoSpaceReason ?? "no space left on the device");
            else StorageLog.NoSpaceCleared(logger, replica.Partition);
        }
        NoteLeader(replica.Partition, replica.Raft.Leader); // a follower learns its leader without a state change
        if (output.TransferStartedTo is { } preferred) Log.LeadershipTransfer(logger, replica.Partition, preferred);
        if (output.StateChanged)
        {
            var status = replica.Raft.Status;
            Log.PartitionRole(logger, replica.Partition, status.Role.ToString(), status.Term, status.Leader ?? "-");
        }
    }
}

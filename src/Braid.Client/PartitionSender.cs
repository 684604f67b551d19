using System.Threading.Channels;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Client;

/// <summary>
/// Sends one partition's batches, in sequence order, over an Ingest stream to the partition's
/// leader, with a bounded window of unacknowledged batches (<see cref="SendWindow{TBatch}"/>).
/// Batches beyond the window wait in a queue of their own, so that handing a batch to a partition
/// that cannot make progress (no leader, no majority) never blocks the caller: the session bounds
/// the bytes of all queues together (issue 10, item 5b). Only the window is sent and resent; the
/// queue moves into it as acknowledgements free room. On any trouble (the leader moved, the
/// stream broke, an acknowledgement is overdue) it opens a new stream, to the leader named by the
/// cluster or to the next node, and resends every unacknowledged batch in order: batches that
/// were in fact stored come back as duplicates, so nothing is stored twice or lost.
/// </summary>
internal sealed class PartitionSender
{
    private readonly BraidClient client;
    private readonly uint partition;
    private readonly string stream;
    private readonly uint leaderKey; // the client's leader map key of (stream, partition)
    private readonly ulong producer;
    private readonly Action<PendingBatch> onAcked;
    private readonly SendWindow<PendingBatch> pending;
    private readonly Queue<PendingBatch> waiting = new(); // beyond the window; nonempty only while the window is full
    private readonly Channel<bool> wake = Channel.CreateUnbounded<bool>();
    private readonly object gate = new();
    private static readonly TimeSpan ForwardPeriod = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan NoSpacePause = TimeSpan.FromSeconds(1);
    private string? lastProblem;
    private bool completing;
    private ulong lastSequence;
    private long heldBytes;
    private long progressAt; // the last acknowledgement, or when batches came after an idle spell
    private long forwardUntil;
    private string? unreachableLeader;

    /// <param name="stream">The stream ("": the default one); its batches go in encoded form (<c>payload</c>).</param>
    /// <param name="window">Unacknowledged batches sent at most (default: <see cref="BraidClientOptions.InflightBatchesPerPartition"/>).</param>
    public PartitionSender(BraidClient client, uint partition, ulong producer, Action<PendingBatch> onAcked, CancellationToken ct, string stream = "", int? window = null)
    {
        this.client = client;
        this.partition = partition;
        this.stream = stream;
        leaderKey = BraidClient.StreamKey(stream, partition);
        this.producer = producer;
        this.onAcked = onAcked;
        pending = new SendWindow<PendingBatch>(window ?? client.Options.InflightBatchesPerPartition);
        progressAt = client.Options.Clock.GetTimestamp();
        Completion = Task.Run(() => RunAsync(ct), ct);
    }

    public Task Completion { get; }

    /// <summary>Takes the next batch (sequences go up); never waits: the session bounds the bytes held.</summary>
    public void Enqueue(PendingBatch batch)
    {
        lock (gate)
        {
            if (completing) throw new InvalidOperationException($"partition {partition}: the session is completing; no more batches");
            if (batch.Sequence <= lastSequence)
                throw new ArgumentOutOfRangeException(nameof(batch), batch.Sequence, $"partition {partition}: sequences go up ({lastSequence} came before)");
            lastSequence = batch.Sequence;
            if (pending.IsEmpty) progressAt = client.Options.Clock.GetTimestamp(); // the stall clock starts now, not at the last ack before an idle spell
            if (waiting.Count == 0 && pending.HasRoom) pending.Add(batch.Sequence, batch);
            else waiting.Enqueue(batch);
            heldBytes += batch.Payload.Length;
        }
        wake.Writer.TryWrite(true);
    }

    /// <summary>What this partition holds and how long it has gone without an acknowledgement while holding it.</summary>
    public IngestPartitionStatus Status()
    {
        lock (gate)
        {
            var batches = pending.Count + waiting.Count;
            return new IngestPartitionStatus(partition, batches, heldBytes, batches == 0 ? TimeSpan.Zero : client.Options.Clock.GetElapsedTime(progressAt), lastProblem);
        }
    }

    public void Complete()
    {
        lock (gate) completing = true;
        wake.Writer.TryWrite(true);
    }

    private bool Finished
    {
        get { lock (gate) return completing && pending.IsEmpty && waiting.Count == 0; }
    }

    /// <summary>How long batches have been held without an acknowledgement (zero when none are held).</summary>
    private TimeSpan Stalled
    {
        get { lock (gate) return pending.IsEmpty ? TimeSpan.Zero : client.Options.Clock.GetElapsedTime(progressAt); }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = client.NewBackoff();
        string? address = null;
        while (!Finished)
        {
            // The leader did not answer (this client cannot reach it): for a while, send through
            // any other node, which forwards to the leader over the overlay.
            var forward = client.Options.Clock.GetTimestamp() < forwardUntil;
            // In forward mode move on from the last node tried, so a dead or unhelpful one is left behind.
            address = forward ? client.NextNode(address == unreachableLeader ? unreachableLeader : address) : client.AddressFor(leaderKey);
            var outcome = await StreamOnceAsync(address, forward, ct).ConfigureAwait(false);
            if (outcome.Unreachable && !forward && client.IsKnownLeader(leaderKey, address))
            {
                unreachableLeader = address;
                forwardUntil = client.Options.Clock.GetTimestamp() + (long)(ForwardPeriod.TotalSeconds * client.Options.Clock.TimestampFrequency);
            }
            if (Finished) return;
            lock (gate) lastProblem = outcome.Progress ? null : outcome.Problem;
            if (outcome.Progress)
            {
                backoff.Reset();
            }
            else if (outcome.NoSpace)
            {
                // Not a stall to give up on: the cluster said why, and resumes by itself once space returns.
                await Task.Delay(NoSpacePause, client.Options.Clock, ct).ConfigureAwait(false);
                continue;
            }
            else if (Stalled > client.Options.StallTimeout)
            {
                throw new BraidException($"partition {partition}: no batch acknowledged for {client.Options.StallTimeout.TotalSeconds:F0} s; last problem: {outcome.Problem}");
            }
            client.Stats.Retry();
            if (!outcome.LeaderKnown) client.SetLeader(leaderKey, null);
            if (outcome.Failover) client.Stats.Failover();
            await Task.Delay(outcome.LeaderKnown && !forward ? TimeSpan.Zero : backoff.Next(), client.Options.Clock, ct).ConfigureAwait(false);
        }
    }

    /// <param name="Failover">The stream to the partition's leader broke or was redirected to another node.</param>
    /// <param name="Unreachable">The node could not be reached at all (no answer before any acknowledgement).</param>
    /// <param name="NoSpace">The leader refused for a full disk: a known, temporary refusal.</param>
    private sealed record Outcome(bool Progress, bool LeaderKnown, string Problem, bool Failover, bool Unreachable, bool NoSpace = false);

    /// <summary>One stream's life: resend everything unacknowledged, then send new batches as they come.</summary>
    private async Task<Outcome> StreamOnceAsync(string address, bool forward, CancellationToken ct)
    {
        using var life = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var call = client.Stream(address).Ingest(cancellationToken: life.Token);
        var progress = false;
        var leaderKnown = false;
        var problem = "stream closed";
        var failover = false;
        var unreachable = false;
        var noSpace = false;
        var reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var ack in call.ResponseStream.ReadAllAsync(life.Token).ConfigureAwait(false))
                {
                    switch (ack.Reply.Status)
                    {
                        case AppendStatus.AppendOk:
                            Acked(ack.Sequence, ack.Reply.Duplicate);
                            progress = true;
                            if (!forward) client.SetLeader(leaderKey, address);
                            break;
                        case AppendStatus.NoSpace:
                            // The leader is full: stay with it and resend after a pause; it resumes by itself.
                            problem = $"{address}: {ack.Reply.Error}";
                            noSpace = true;
                            await life.CancelAsync().ConfigureAwait(false);
                            return;
                        case AppendStatus.NotLeader:
                            leaderKnown = ack.Reply.LeaderAddress.Length > 0 && ack.Reply.LeaderAddress != address;
                            if (leaderKnown) client.SetLeader(leaderKey, ack.Reply.LeaderAddress);
                            problem = $"{address}: {ack.Reply.Error}";
                            failover = progress || leaderKnown;
                            await life.CancelAsync().ConfigureAwait(false);
                            return;
                        default:
                            problem = $"{address}: {ack.Reply.Status} {ack.Reply.Error}";
                            await life.CancelAsync().ConfigureAwait(false);
                            return;
                    }
                }
            }
            catch (RpcException e) when (e.StatusCode is not (StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.ResourceExhausted
                or StatusCode.PermissionDenied or StatusCode.Unauthenticated))
            {
                problem = $"{address}: {e.Status.StatusCode} {e.Status.Detail}";
                failover = true;
                unreachable = e.StatusCode == StatusCode.Unavailable;
            }
            catch (HttpRequestException e)
            {
                problem = $"{address}: {e.Message}";
                failover = true;
            }
            catch (OperationCanceledException)
            {
            }
            catch (RpcException e)
            {
                // The cluster refused the batches themselves (malformed, unknown partition, too
                // large) or this client (no produce role): resending cannot help, so the session fails with the server's reason.
                await life.CancelAsync().ConfigureAwait(false);
                throw new BraidException($"partition {partition}: {address} refused a batch: {e.Status.StatusCode}: {e.Status.Detail}", e);
            }
            await life.CancelAsync().ConfigureAwait(false);
        }, CancellationToken.None);
        try
        {
            await WriteLoopAsync(call.RequestStream, forward, life.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (IsBrokenStream(e))
        {
        }
        await life.CancelAsync().ConfigureAwait(false);
        await reader.ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        return new Outcome(progress, leaderKnown || noSpace, problem, failover, unreachable && !progress, noSpace);
    }

    private async Task WriteLoopAsync(IClientStreamWriter<AppendRequest> requests, bool forward, CancellationToken ct)
    {
        var ackTimeout = (long)(client.Options.AckTimeout.TotalSeconds * client.Options.Clock.TimestampFrequency);
        lock (gate) pending.Reopen(); // a new stream sends every unacknowledged batch again, in order
        // One timer for the stream's life, re-armed each round (CancelAfter reuses it): a new one
        // per round cost a timer and a token source per acknowledgement.
        var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // Every wake-up so far is served by this round (one comes per acknowledgement); one
                // that comes after this line wakes the next round.
                while (wake.Reader.TryRead(out _)) { }
                List<(ulong Sequence, PendingBatch Batch)> toSend;
                var now = client.Options.Clock.GetTimestamp();
                lock (gate)
                {
                    if (completing && pending.IsEmpty) break; // the queue is empty too: it only waits while the window is full
                    toSend = pending.TakeUnsent(now);
                    if (toSend.Count == 0 && pending.AckOverdue(now, ackTimeout)) return; // an acknowledgement is overdue: reopen and resend
                }
                for (var i = 0; i < toSend.Count; i++)
                {
                    // Every batch of a round but the last is buffered: the round goes out in one flush.
                    requests.WriteOptions = i < toSend.Count - 1 ? Buffered : null;
                    var (sequence, batch) = toSend[i];
                    await requests.WriteAsync(new AppendRequest { Partition = partition, Producer = producer, Sequence = sequence, Payload = UnsafeByteOperations.UnsafeWrap(batch.Payload), Forward = forward, Stream = stream }, ct).ConfigureAwait(false);
                }
                if (!tick.TryReset())
                {
                    tick.Dispose();
                    tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
                }
                tick.CancelAfter(TimeSpan.FromMilliseconds(500));
                try { await wake.Reader.WaitToReadAsync(tick.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
            }
        }
        finally
        {
            tick.Dispose();
        }
        await requests.CompleteAsync().ConfigureAwait(false);
    }

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    /// <summary>
    /// Whether a failed write means only that this stream is gone (reopen and resend), not that
    /// the batches were refused. grpc-dotnet reports most of these as <see cref="RpcException"/>,
    /// but a write racing a node's graceful shutdown (HTTP/2 GOAWAY) throws the
    /// <see cref="HttpRequestException"/> "The request was aborted" as it is: it failed the whole
    /// session in one rolling restart of seven (`braid bench rolling`).
    /// </summary>
    internal static bool IsBrokenStream(Exception e) =>
        e is RpcException or OperationCanceledException or InvalidOperationException or IOException or HttpRequestException;

    private void Acked(ulong sequence, bool duplicate)
    {
        PendingBatch? batch;
        lock (gate)
        {
            if (!pending.Acknowledge(sequence, out batch)) return;
            heldBytes -= batch.Payload.Length;
            progressAt = client.Options.Clock.GetTimestamp();
            while (waiting.Count > 0 && pending.HasRoom)
            {
                var next = waiting.Dequeue();
                pending.Add(next.Sequence, next);
            }
            if (heldBytes < 0 || (waiting.Count > 0 && pending.HasRoom))
                throw new InvalidOperationException($"partition {partition}: {heldBytes} bytes held, {waiting.Count} queued behind a window with room");
        }
        client.Stats.Ack(batch.Records, duplicate);
        onAcked(batch);
        wake.Writer.TryWrite(true);
    }
}

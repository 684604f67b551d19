using System.Threading.Channels;
using Braid.Node.Partitions;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>
/// One Ingest call's bookkeeping: the window of unanswered batches, the bytes they hold (the
/// stream's budget and the node's), and the answers on their way back to the client. Batches are
/// answered on the partition loop (<see cref="Answer"/>, which never blocks); one writer sends the
/// answers, as many as are ready in one flush, and frees a window slot per answer sent.
/// </summary>
/// <remarks>
/// Before this, each batch was its own task: a hand-off to the loop, a task completed by the
/// loop, a continuation on the thread pool, a write to the answer channel, and a flush of its own,
/// several thread wake-ups per batch. Now a burst of batches reaches the loop in one hand-off and
/// a round's answers leave in one flush.
/// </remarks>
internal sealed class IngestStream
{
    private readonly object gate = new();
    private readonly HashSet<Batch> unanswered = new(ReferenceEqualityComparer.Instance);
    private readonly Channel<(IngestAck Ack, int Records)> answers = Channel.CreateUnbounded<(IngestAck, int)>(); // not SingleReader: that kind cannot count what it holds
    private readonly SemaphoreSlim window;
    private readonly ByteBudget streamBytes;
    private readonly ByteBudget nodeBytes;
    private readonly Metrics.StreamMetrics metrics;
    private readonly int windowSize;
    private bool closed;

    public IngestStream(int windowSize, long streamBytesMax, ByteBudget nodeBytes, Metrics.StreamMetrics metrics)
    {
        this.windowSize = windowSize;
        window = new SemaphoreSlim(windowSize);
        streamBytes = new ByteBudget(streamBytesMax);
        this.nodeBytes = nodeBytes;
        this.metrics = metrics;
    }

    /// <summary>Takes a window slot and the batch's bytes if all are free now; never waits.</summary>
    public bool TryReserve(int bytes)
    {
        if (!window.Wait(0)) return false;
        if (!streamBytes.TryTake(bytes))
        {
            window.Release();
            return false;
        }
        if (!nodeBytes.TryTake(bytes))
        {
            streamBytes.Give(bytes);
            window.Release();
            return false;
        }
        return true;
    }

    /// <summary>Waits for a window slot and the batch's bytes. Call it only once every batch read
    /// before is proposed: the room comes from their answers.</summary>
    public async ValueTask ReserveAsync(int bytes, CancellationToken ct)
    {
        await window.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await streamBytes.TakeAsync(bytes, ct).ConfigureAwait(false);
        }
        catch
        {
            window.Release();
            throw;
        }
        try
        {
            await nodeBytes.TakeAsync(bytes, ct).ConfigureAwait(false);
        }
        catch
        {
            streamBytes.Give(bytes);
            window.Release();
            throw;
        }
    }

    /// <summary>A batch that holds its reservation until it is answered.</summary>
    public Batch Track(uint partition, ulong producer, ulong sequence, int records, int bytes)
    {
        var batch = new Batch(this, partition, producer, sequence, records, bytes);
        lock (gate)
        {
            if (closed) throw new InvalidOperationException("the ingest stream has ended");
            unanswered.Add(batch);
        }
        return batch;
    }

    private void Answer(Batch batch, AppendReply reply)
    {
        lock (gate)
        {
            if (!unanswered.Remove(batch)) return; // answered already, or the stream ended (its bytes were given back then)
        }
        nodeBytes.Give(batch.Bytes);
        streamBytes.Give(batch.Bytes);
        answers.Writer.TryWrite((new IngestAck { Partition = batch.Partition, Producer = batch.Producer, Sequence = batch.Sequence, Reply = reply }, batch.Records));
    }

    /// <summary>Sends the answers until <see cref="Close"/>: every answer ready at once goes out in
    /// one flush; each one sent frees its window slot.</summary>
    public async Task WriteAnswersAsync(IServerStreamWriter<IngestAck> responses, CancellationToken ct)
    {
        var reader = answers.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (reader.TryRead(out var answer))
            {
                metrics.Answered(answer.Ack.Reply, answer.Records);
                responses.WriteOptions = reader.Count > 0 ? Buffered : null;
                await responses.WriteAsync(answer.Ack, ct).ConfigureAwait(false);
                window.Release();
            }
        }
    }

    /// <summary>Waits until every batch taken so far is answered and its answer sent.</summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        for (var i = 0; i < windowSize; i++) await window.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The call ended: batches still unanswered give their bytes back now (their answers,
    /// if they come, go nowhere), and the writer stops after what it holds.</summary>
    public void Close()
    {
        List<Batch> left;
        lock (gate)
        {
            closed = true;
            left = [.. unanswered];
            unanswered.Clear();
        }
        foreach (var batch in left)
        {
            nodeBytes.Give(batch.Bytes);
            streamBytes.Give(batch.Bytes);
        }
        answers.Writer.TryComplete();
    }

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    /// <summary>One batch of the stream, waiting for its answer.</summary>
    internal sealed class Batch(IngestStream owner, uint partition, ulong producer, ulong sequence, int records, int bytes) : AppendWaiter
    {
        public uint Partition { get; } = partition;
        public ulong Producer { get; } = producer;
        public ulong Sequence { get; } = sequence;
        public int Records { get; } = records;
        public int Bytes { get; } = bytes;

        public override void Complete(AppendReply reply) => owner.Answer(this, reply);
    }
}

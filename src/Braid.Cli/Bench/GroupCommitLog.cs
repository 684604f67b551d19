using System.Threading.Channels;
using Braid.Core.Log;

namespace Braid.Cli.Bench;

/// <summary>
/// Group commit for concurrent producers over one <see cref="SegmentedLog"/> (issue 3), measured
/// by <see cref="LogBench"/>: callers enqueue entries; a single writer takes everything queued,
/// appends it, runs one <see cref="SegmentedLog.Sync"/>, and only then completes the callers'
/// tasks. The task of an append therefore never completes before the fsync that covers its entry.
/// The node needs no such writer: RaftNode.TakeReady syncs at once all its group appended since
/// the last ready.
/// </summary>
/// <remarks>
/// The queue is bounded (<c>queueCapacity</c>), so producers feel backpressure instead of
/// growing memory; a batch takes at most <c>batchEntriesMax</c> entries so one fsync's latency
/// stays bounded. A failed sync fails the whole batch and, the log being poisoned, every later one.
/// </remarks>
internal sealed class GroupCommitLog : IAsyncDisposable
{
    private readonly SegmentedLog log;
    private readonly Channel<Request> queue;
    private readonly int batchEntriesMax;
    private readonly Task writer;
    private long syncCount;

    /// <summary>Starts the writer over <paramref name="log"/>, which it then owns exclusively.</summary>
    public GroupCommitLog(SegmentedLog log, int queueCapacity = 4096, int batchEntriesMax = 1024)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchEntriesMax, 1);
        this.log = log;
        this.batchEntriesMax = batchEntriesMax;
        queue = Channel.CreateBounded<Request>(new BoundedChannelOptions(queueCapacity) { SingleReader = true });
        writer = Task.Factory.StartNew(WriteLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Number of syncs (fsyncs of the log) the writer has run.</summary>
    public long SyncCount => Interlocked.Read(ref syncCount);

    /// <summary>
    /// Appends an entry and completes with its index once it is durable. The payload must not
    /// change until the task completes.
    /// </summary>
    public async Task<ulong> AppendAsync(ulong term, ReadOnlyMemory<byte> payload, CancellationToken ct = default)
    {
        var request = new Request(term, payload);
        await queue.Writer.WriteAsync(request, ct).ConfigureAwait(false);
        return await request.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Stops accepting entries, lets the writer finish what is queued, and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await writer.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Request>(batchEntriesMax);
        while (await queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < batchEntriesMax && queue.Reader.TryRead(out Request? request))
            {
                batch.Add(request);
            }

            CommitBatch(batch);
        }
    }

    private void CommitBatch(List<Request> batch)
    {
        var appended = new List<(Request Request, ulong Index)>(batch.Count);
        try
        {
            foreach (Request request in batch)
            {
                TryAppend(request, appended);
            }

            log.Sync();
            Interlocked.Increment(ref syncCount);
        }
        catch (Exception e)
        {
            batch.ForEach(request => request.Completion.TrySetException(e));
            return;
        }

        foreach ((Request request, ulong index) in appended)
        {
            request.Completion.TrySetResult(index);
        }
    }

    /// <summary>A caller's bad entry (too big, term going back) fails that caller alone, not its batch.</summary>
    private void TryAppend(Request request, List<(Request Request, ulong Index)> appended)
    {
        try
        {
            appended.Add((request, log.Append(request.Term, request.Payload.Span)));
        }
        catch (ArgumentException e)
        {
            request.Completion.TrySetException(e);
        }
    }

    private sealed class Request(ulong term, ReadOnlyMemory<byte> payload)
    {
        public ulong Term { get; } = term;

        public ReadOnlyMemory<byte> Payload { get; } = payload;

        public TaskCompletionSource<ulong> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

using System.Diagnostics;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Braid.Bench.Nats;

/// <summary>
/// Publishes a workload to a JetStream stream the way a user who wants throughput would: many
/// asynchronous publishes in flight on one connection, each awaiting its acknowledgement (the
/// stream's leader answers once its Raft group has the message on a majority), at most
/// <c>inflight</c> unacknowledged at a time.
/// </summary>
public static class NatsPublisher
{
    public static async Task<RunFigures> PublishAsync(string url, string subject, CompareWorkload workload, int inflight, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inflight, 1);
        await using var connection = NatsCluster.Connect(url);
        await connection.ConnectAsync().ConfigureAwait(false);
        var js = new NatsJSContext(connection);
        var messages = workload.Messages;
        await RangeAsync(js, subject, messages, 0, workload.WarmupMessages, inflight, ct).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        await RangeAsync(js, subject, messages, workload.WarmupMessages, messages.Count, inflight, ct).ConfigureAwait(false);
        var elapsed = clock.Elapsed;
        return new RunFigures(workload.TimedRecords, messages.Count - workload.WarmupMessages, workload.TimedBytes, elapsed);
    }

    /// <summary>Publishes messages [<paramref name="from"/>, <paramref name="to"/>) with <paramref name="inflight"/>
    /// publishers, each awaiting its acknowledgement before taking the next message.</summary>
    private static async Task RangeAsync(NatsJSContext js, string subject, List<(byte[] Payload, int Records)> messages, int from, int to,
        int inflight, CancellationToken ct)
    {
        if (from >= to) return;
        var next = from - 1;
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        async Task PublisherAsync()
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= to) return;
                try
                {
                    var ack = await js.PublishAsync(subject, messages[i].Payload, NatsRawSerializer<byte[]>.Default, cancellationToken: failed.Token).ConfigureAwait(false);
                    ack.EnsureSuccess();
                }
                catch (Exception e) when (e is NatsJSException or NatsException or TimeoutException)
                {
                    await failed.CancelAsync().ConfigureAwait(false);
                    throw new NatsBenchException($"publish of message {i} to {subject} failed: {e.Message}", e);
                }
            }
        }
        var publishers = Enumerable.Range(0, Math.Min(inflight, to - from)).Select(_ => Task.Run(PublisherAsync, ct)).ToArray();
        try
        {
            await Task.WhenAll(publishers).ConfigureAwait(false);
        }
        catch (Exception) when (publishers.Select(p => p.Exception?.InnerException).OfType<NatsBenchException>().FirstOrDefault() is { } first)
        {
            // One publisher failed and cancelled the others: report its failure, not their cancellation.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }
    }
}

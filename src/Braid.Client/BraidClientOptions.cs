namespace Braid.Client;

/// <summary>How a <see cref="BraidClient"/> talks to a cluster.</summary>
public sealed record BraidClientOptions
{
    /// <summary>Addresses (host:port) of some nodes; the rest are discovered.</summary>
    public required IReadOnlyList<string> Seeds { get; init; }

    /// <summary>Unacknowledged batches per partition (backpressure: bounded client memory). 96: a
    /// commit round takes every batch a leader holds, so a deeper window means more batches per
    /// fsync; with 64-record batches on mesh3 it raised ingest by about a third over 32
    /// (docs/results.md), and <see cref="MaxBufferedBytes"/> still bounds the memory.</summary>
    public int InflightBatchesPerPartition { get; init; } = 96;

    /// <summary>Unacknowledged payload bytes an <see cref="IngestSession"/> holds in all
    /// partitions together (in flight, or queued behind a partition's window) before its
    /// <see cref="IngestSession.SendAsync"/> waits: the client's memory bound. Above the windows'
    /// needs it is what lets the partitions that can make progress keep going while others cannot
    /// (issue 10, item 5b): a stuck partition piles up batches until this is full. For full speed,
    /// at least partitions × <see cref="InflightBatchesPerPartition"/> × batch bytes.</summary>
    public long MaxBufferedBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>A batch unacknowledged this long is resent (exactly-once makes resending safe).</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Per-call deadline for unary calls and for opening streams.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan BackoffMin { get; init; } = TimeSpan.FromMilliseconds(20);
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Give up on an operation that makes no progress for this long.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Seed of the retry jitter (injected, so runs are reproducible).</summary>
    public int JitterSeed { get; init; } = 1;

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>TLS with a client certificate (roles: produce, consume, admin); null speaks
    /// plaintext, which only a node started with --insecure accepts.</summary>
    public Security.ClientTls? Tls { get; init; }

    /// <summary>Batching of <see cref="BraidClient.ProduceAsync"/> (linger, batch and buffer sizes).</summary>
    public ProducerOptions Producer { get; init; } = new();
}

/// <summary>Progress and fault counters of a client, safe to read from any thread.</summary>
public sealed class ClientStats
{
    private long acked;
    private long ackedRecords;
    private long retries;
    private long duplicates;
    private long failovers;

    public long AckedBatches => Interlocked.Read(ref acked);
    public long AckedRecords => Interlocked.Read(ref ackedRecords);
    public long Retries => Interlocked.Read(ref retries);
    public long Duplicates => Interlocked.Read(ref duplicates);
    public long Failovers => Interlocked.Read(ref failovers);

    internal void Ack(int records, bool duplicate)
    {
        Interlocked.Increment(ref acked);
        Interlocked.Add(ref ackedRecords, records);
        if (duplicate) Interlocked.Increment(ref duplicates);
    }

    internal void Retry() => Interlocked.Increment(ref retries);
    internal void Failover() => Interlocked.Increment(ref failovers);
}

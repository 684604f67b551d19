namespace Braid.Client;

/// <summary>
/// How a producer batches the records of a raw stream for its caller (issue 13), after Kafka's
/// producer: <c>linger.ms</c>, <c>batch.size</c> and <c>buffer.memory</c>. A partition's records
/// go out as one batch (one Raft entry) when the batch is full, by bytes or by records, or when
/// its first record has waited <see cref="Linger"/>; the caller waits while the producer holds
/// <see cref="BufferBytesMax"/>. Sizes are counted as <see cref="Data.RawBatchCodec.RecordBytesMax"/>
/// counts them: what a record adds to a batch at most.
/// </summary>
public sealed record ProducerOptions
{
    /// <summary>Longest <see cref="Linger"/>: a record held longer is a stall, not a batch.</summary>
    public static readonly TimeSpan LingerMax = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a batch's first record may wait for others before the batch goes out (5 ms).
    /// Zero sends at the next chance; more trades latency for fewer, larger batches.
    /// </summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// A batch goes out once its records take this many bytes (256 KiB). A record that alone
    /// takes more than this goes out in a batch of its own.
    /// </summary>
    public int BatchBytesMax { get; init; } = 256 * 1024;

    /// <summary>A batch goes out once it holds this many records (1,000).</summary>
    public int BatchRecordsMax { get; init; } = 1000;

    /// <summary>
    /// Bytes of records held, batched or sent, until acknowledged or failed (32 MiB): the
    /// producer's memory bound. Adding waits while it is reached; a record larger than the whole
    /// buffer is still taken when nothing else is held, so it never waits for ever.
    /// </summary>
    public long BufferBytesMax { get; init; } = 32L * 1024 * 1024;

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> naming the option when one is out of range:
    /// <see cref="Linger"/> from zero to <see cref="LingerMax"/>, the batch limits at least one,
    /// <see cref="BufferBytesMax"/> at least <see cref="BatchBytesMax"/> (else no batch could fill).
    /// </summary>
    public void Validate()
    {
        if (Linger < TimeSpan.Zero || Linger > LingerMax)
            throw new ArgumentOutOfRangeException(nameof(Linger), Linger, $"Linger must be from 0 to {LingerMax.TotalSeconds:F0} s");
        if (BatchBytesMax < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchBytesMax), BatchBytesMax, "BatchBytesMax must be at least 1");
        if (BatchRecordsMax < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchRecordsMax), BatchRecordsMax, "BatchRecordsMax must be at least 1");
        if (BufferBytesMax < BatchBytesMax)
            throw new ArgumentOutOfRangeException(nameof(BufferBytesMax), BufferBytesMax,
                $"BufferBytesMax must be at least BatchBytesMax ({BatchBytesMax})");
    }
}

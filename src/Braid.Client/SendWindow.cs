namespace Braid.Client;

/// <summary>
/// The sending rule of one producer on one partition, without sockets or clocks, so that the
/// client and the simulator run the same code: batches are numbered in order and held until
/// acknowledged (at most <see cref="Capacity"/>: backpressure); a stream sends each held batch once,
/// in sequence order; any trouble (the leader moved, the stream broke, an answer other than Ok,
/// an acknowledgement overdue) opens a new stream, which sends every held batch again, in order.
/// Batches that were in fact stored come back as duplicates (exactly-once by (producer,
/// sequence)), so nothing is stored twice or lost, and a partition never sees a sequence before
/// the ones under it on one stream. Times are in the caller's units (timestamps or microseconds).
/// Not thread-safe: the caller serialises access.
/// </summary>
internal sealed class SendWindow<TBatch>(int capacity)
{
    private readonly SortedDictionary<ulong, Held> held = [];
    private ulong sentUpTo;
    private ulong lastAdded;

    private sealed class Held(TBatch batch)
    {
        public TBatch Batch { get; } = batch;
        public long SentAt { get; set; } = -1;
    }

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "a window holds at least one batch");
    public int Count => held.Count;
    public bool HasRoom => held.Count < Capacity;
    public bool IsEmpty => held.Count == 0;

    /// <summary>Holds the next batch; sequences go up (by one for Braid's producers).</summary>
    public void Add(ulong sequence, TBatch batch)
    {
        if (!HasRoom) throw new InvalidOperationException($"the window holds {Capacity} batches already");
        if (sequence <= lastAdded) throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"sequences go up: {lastAdded} was added before");
        held.Add(sequence, new Held(batch));
        lastAdded = sequence;
    }

    /// <summary>A new stream: every held batch is to be sent again, in order.</summary>
    public void Reopen() => sentUpTo = 0;

    /// <summary>The held batches this stream has not sent yet, in sequence order, marked sent at <paramref name="now"/>.</summary>
    public List<(ulong Sequence, TBatch Batch)> TakeUnsent(long now)
    {
        var unsent = new List<(ulong, TBatch)>();
        foreach (var (sequence, h) in held)
        {
            if (sequence <= sentUpTo) continue;
            h.SentAt = now;
            unsent.Add((sequence, h.Batch));
            sentUpTo = sequence;
        }
        return unsent;
    }

    /// <summary>The oldest held batch was sent more than <paramref name="timeout"/> ago and is still
    /// unanswered: the stream is stuck; reopen it.</summary>
    public bool AckOverdue(long now, long timeout)
    {
        using var first = held.Values.GetEnumerator();
        return first.MoveNext() && first.Current.SentAt >= 0 && now - first.Current.SentAt > timeout;
    }

    /// <summary>An Ok for <paramref name="sequence"/>: releases it. False when it was not held
    /// (a second answer for a resent batch).</summary>
    public bool Acknowledge(ulong sequence, out TBatch batch)
    {
        if (held.Remove(sequence, out var h))
        {
            batch = h.Batch;
            return true;
        }
        batch = default!;
        return false;
    }
}

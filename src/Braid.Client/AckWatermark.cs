using System.Numerics;

namespace Braid.Client;

/// <summary>
/// The checkpoint of an ingest session: the first batch not yet acknowledged, every batch below
/// it being acknowledged. Batches above it may be acknowledged out of order (partitions flow
/// independently, so while one is stuck the others run ahead); they are remembered one bit each
/// in a ring of 64-bit words starting at the watermark's word, so the memory is bounded by how
/// far the session runs ahead of its slowest partition (which its byte budget bounds), at an
/// eighth of a byte per batch. Not thread-safe: the caller serialises access.
/// </summary>
internal sealed class AckWatermark
{
    private ulong[] words = new ulong[4];
    private int head;      // the ring slot of the word holding batch `origin`
    private int count;     // words in use, from head
    private long origin;   // the first batch of words[head]

    public AckWatermark(long first)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        origin = first;
        Watermark = first;
    }

    /// <summary>Every batch below this one is acknowledged.</summary>
    public long Watermark { get; private set; }

    /// <summary>Records batch <paramref name="batch"/> as acknowledged; false if it already was.</summary>
    public bool Acknowledge(long batch)
    {
        if (batch < Watermark) return false;
        var offset = batch - origin;
        var word = offset >> 6;
        if (word >= count) Extend(checked((int)(word + 1)));
        ref var bits = ref words[(head + (int)word) % words.Length];
        var bit = 1UL << (int)(offset & 63);
        if ((bits & bit) != 0) return false;
        bits |= bit;
        Advance();
        return true;
    }

    private void Advance()
    {
        while (count > 0 && words[head] == ulong.MaxValue)
        {
            words[head] = 0;
            head = (head + 1) % words.Length;
            count--;
            origin += 64;
        }
        Watermark = origin + (count == 0 ? 0 : BitOperations.TrailingZeroCount(~words[head]));
    }

    /// <summary>Uses <paramref name="needed"/> words, growing the ring (doubling, in order from head) if it is too small.</summary>
    private void Extend(int needed)
    {
        if (needed > words.Length)
        {
            var grown = new ulong[Math.Max(needed, words.Length * 2)];
            for (var i = 0; i < count; i++) grown[i] = words[(head + i) % words.Length];
            words = grown;
            head = 0;
        }
        count = needed;
    }
}

namespace Braid.Core.Log;

/// <summary>
/// The tail cache: the newest entries, kept in memory as they were appended (at most
/// <see cref="LogOptions.TailCacheBytes"/> of frames), so that the reads a busy partition makes of
/// what it has just appended (the leader's sends to each follower, every replica's apply) cost no
/// device read, allocation or second checksum. etcd's raft keeps its newest entries in memory the
/// same way (its <c>unstable</c> log and the storage's entry cache).
/// </summary>
/// <remarks>
/// Raft releases what it has read (<see cref="ReleaseCachedBefore"/>), so the cache holds the
/// entries still to be applied or sent, and the byte limit only bounds how far a slow reader can
/// make it grow. It holds a suffix of the log, [<c>tailFirst</c>, <see cref="LastIndex"/>], or nothing; every
/// change of the log's end keeps that true (a truncation drops the removed entries, a reset or an
/// entry too large for it empties it). Entries read from it were never on the device and back, so
/// a bit flip on the device after the append is found when the entry has left the cache, or at the
/// next open, not by a read served here.
/// </remarks>
public sealed partial class SegmentedLog
{
    private readonly List<LogEntry> tail = [];
    private int tailHead; // tail[tailHead..] are the cached entries; the slots before are spent
    private long tailBytes;

    private int TailCount => tail.Count - tailHead;

    private ulong TailFirst => tail[tailHead].Index;

    /// <summary>Caches the entry just appended at <paramref name="index"/>; <paramref name="payload"/>
    /// must never change afterwards.</summary>
    private void CacheAppended(ulong index, ulong term, ReadOnlyMemory<byte> payload, long frameBytes)
    {
        if (frameBytes > options.TailCacheBytes)
        {
            ClearTail(); // the cache holds a suffix of the log or nothing
            return;
        }
        tail.Add(new LogEntry(index, term, payload));
        tailBytes += frameBytes;
        while (tailBytes > options.TailCacheBytes) DropOldestCached();
        if (tailHead > 1024 && tailHead > tail.Count / 2)
        {
            tail.RemoveRange(0, tailHead);
            tailHead = 0;
        }
    }

    private void DropOldestCached()
    {
        tailBytes -= FrameBytesOf(tail[tailHead]);
        tail[tailHead] = default; // let the payload go
        tailHead++;
    }

    private static long FrameBytesOf(LogEntry entry) => SegmentFormat.FrameHeaderBytes + (long)entry.Payload.Length;


    /// <summary>Drops cached entries from <paramref name="fromIndex"/> on (a suffix truncation).</summary>
    private void UncacheFrom(ulong fromIndex)
    {
        while (TailCount > 0 && tail[^1].Index >= fromIndex)
        {
            tailBytes -= FrameBytesOf(tail[^1]);
            tail.RemoveAt(tail.Count - 1);
        }
        if (TailCount == 0) ClearTail();
    }

    /// <summary>
    /// Drops cached entries before <paramref name="index"/>: a prefix truncation, or their reader
    /// has them (Raft calls it with the next entry to apply or to send), so the cache holds what is
    /// still to be read, up to <see cref="LogOptions.TailCacheBytes"/>, rather than that many bytes
    /// of old entries.
    /// </summary>
    public void ReleaseCachedBefore(ulong index)
    {
        while (TailCount > 0 && TailFirst < index) DropOldestCached();
        if (TailCount == 0) ClearTail();
    }

    private void ClearTail()
    {
        tail.Clear();
        tailHead = 0;
        tailBytes = 0;
    }

    /// <summary>
    /// Serves <see cref="Read"/> from the cache when it holds <paramref name="firstIndex"/> (then it
    /// holds everything after it too), with the same byte budget rule as a device read.
    /// </summary>
    private bool TryReadCached(ulong firstIndex, ulong lastIndex, long maxBytes, out IReadOnlyList<LogEntry> entries)
    {
        entries = [];
        if (TailCount == 0 || firstIndex < TailFirst) return false;
        var list = new List<LogEntry>();
        long used = 0;
        for (var i = tailHead + (int)(firstIndex - TailFirst); i < tail.Count && tail[i].Index <= lastIndex; i++)
        {
            var bytes = FrameBytesOf(tail[i]);
            if (list.Count > 0 && used + bytes > maxBytes) break;
            list.Add(tail[i]);
            used += bytes;
        }
        entries = list;
        return true;
    }
}

namespace Braid.Core.Log;

/// <summary>Reading ranges of entries with bounded memory.</summary>
public sealed partial class SegmentedLog
{
    /// <summary>
    /// Reads entries from <paramref name="firstIndex"/> up to <paramref name="lastIndex"/>
    /// (inclusive) while their frames total at most <paramref name="maxBytes"/>, but always at
    /// least one entry, so a caller paging through the log always progresses (etcd's
    /// <c>Entries(lo, hi, maxSize)</c>). Checksums are verified again: a bit flip since open is
    /// reported as <see cref="LogCorruptionException"/>, never returned as data (entries served by
    /// the tail cache, <see cref="LogOptions.TailCacheBytes"/>, come from memory instead).
    /// Sees appended entries whether or not they are durable yet.
    /// </summary>
    public IReadOnlyList<LogEntry> Read(ulong firstIndex, ulong lastIndex, long maxBytes)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfLessThan(firstIndex, FirstIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lastIndex, LastIndex);
        if (TryReadCached(firstIndex, lastIndex, maxBytes, out var cached)) return cached;
        var entries = new List<LogEntry>();
        long budget = maxBytes;
        ulong next = firstIndex;
        while (next <= lastIndex && (entries.Count == 0 || budget > 0))
        {
            int before = entries.Count;
            budget -= ReadFromSegment(SegmentOf(next), next, lastIndex, budget, entries);
            if (entries.Count == before)
            {
                break;
            }

            next += (ulong)(entries.Count - before);
        }

        return entries;
    }

    /// <summary>Reads a run of entries of one segment with a single device read; returns the bytes used.</summary>
    private long ReadFromSegment(Segment segment, ulong first, ulong last, long budget, List<LogEntry> entries)
    {
        last = Math.Min(last, segment.LastIndex);
        long start = segment.OffsetOf(first);
        ulong end = first;
        while (end < last && segment.EndOf(end + 1) - start <= budget)
        {
            end++;
        }

        long bytes = segment.EndOf(end) - start;
        if (bytes > budget && entries.Count > 0)
        {
            return 0;
        }

        byte[] buffer = ReadBlock(segment, start, bytes);
        ParseBlock(segment, first, end, start, buffer, entries);
        return bytes;
    }

    private byte[] ReadBlock(Segment segment, long start, long bytes)
    {
        var buffer = new byte[bytes];
        bool isActive = segment == segments[^1];
        IStorageHandle handle = isActive ? activeHandle! : device.Open(segment.Name, create: false);
        try
        {
            int read = ReadFully(handle, start, buffer);
            if (read != buffer.Length)
            {
                throw new LogCorruptionException(segment.Name, start + read, 0, "segment shorter than its index");
            }
        }
        finally
        {
            if (!isActive)
            {
                handle.Dispose();
            }
        }

        return buffer;
    }

    private void ParseBlock(Segment segment, ulong first, ulong last, long start, byte[] buffer, List<LogEntry> entries)
    {
        for (ulong index = first; index <= last; index++)
        {
            int at = (int)(segment.OffsetOf(index) - start);
            int frameBytes = (int)(segment.EndOf(index) - segment.OffsetOf(index));
            ReadOnlySpan<byte> frame = buffer.AsSpan(at, frameBytes);
            SegmentFormat.FrameHeader header = SegmentFormat.ReadFrameHeader(frame, options.EntryBytesMax);
            uint crc = Crc32C.Append(SegmentFormat.StartFrameCrc(frame), frame[SegmentFormat.FrameHeaderBytes..]);
            if (crc != header.Crc || header.Index != index || header.FrameBytes != frameBytes)
            {
                throw new LogCorruptionException(segment.Name, segment.OffsetOf(index), index, "checksum mismatch on read");
            }

            var payload = new ReadOnlyMemory<byte>(buffer, at + SegmentFormat.FrameHeaderBytes, header.PayloadBytes);
            entries.Add(new LogEntry(index, header.Term, payload));
        }
    }
}

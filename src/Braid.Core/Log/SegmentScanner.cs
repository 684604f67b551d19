using System.Buffers.Binary;

namespace Braid.Core.Log;

/// <summary>
/// Rebuilds a <see cref="Segment"/> index from its file on open and classifies bad bytes.
/// The rule that tells a torn write from corruption: appends are sequential and the device loses
/// (or tears) only writes after the last fsync, so a torn write can only be followed by nothing
/// valid. Hence damage with a valid frame somewhere after it, or damage in a sealed segment (which
/// was fsynced before the next one was created), is corruption; damage with nothing valid after
/// it in the last segment is a torn tail.
/// </summary>
/// <remarks>
/// Known limit: a bit flip inside the very last frame of the log looks exactly like a torn
/// write and is truncated. Only redundant metadata (TigerBeetle's header ring) could tell them
/// apart; Raft repairs the entry from the leader like any other missing suffix.
/// </remarks>
internal sealed class SegmentScanner
{
    private readonly IStorageHandle handle;
    private readonly string name;
    private readonly long length;
    private readonly LogOptions options;
    private readonly byte[] window;
    private long windowStart;
    private int windowCount;

    private SegmentScanner(IStorageHandle handle, string name, long length, LogOptions options)
    {
        this.handle = handle;
        this.name = name;
        this.length = length;
        this.options = options;
        window = new byte[options.ScanBufferBytes];
    }

    /// <summary>The result of a scan: the index, and where valid data ends (past it: a torn tail).</summary>
    public readonly record struct Result(Segment Segment, bool TornTail);

    /// <summary>
    /// Scans the frames of a segment whose header was already checked. Raises
    /// <see cref="LogCorruptionException"/> for damage that is not a torn tail.
    /// </summary>
    public static Result Scan(IStorageHandle handle, Segment segment, bool isLast, ulong previousTerm, LogOptions options)
    {
        var scanner = new SegmentScanner(handle, segment.Name, handle.Length, options);
        return scanner.ScanFrames(segment, isLast, previousTerm);
    }

    private Result ScanFrames(Segment segment, bool isLast, ulong previousTerm)
    {
        ulong lastTerm = previousTerm;
        while (segment.EndOffset < length)
        {
            ulong expected = segment.LastIndex + 1;
            if (!TryReadFrame(segment.EndOffset, expected, out long frameBytes, out ulong term))
            {
                break;
            }

            if (term < lastTerm)
            {
                throw new LogCorruptionException(name, segment.EndOffset, expected, $"term {term} after term {lastTerm}");
            }

            segment.Add(term, frameBytes);
            lastTerm = term;
        }

        if (segment.EndOffset == length)
        {
            return new Result(segment, TornTail: false);
        }

        ThrowIfNotTornTail(segment.EndOffset, segment.LastIndex + 1, isLast);
        return new Result(segment, TornTail: true);
    }

    private void ThrowIfNotTornTail(long offset, ulong expected, bool isLast)
    {
        if (!isLast)
        {
            throw new LogCorruptionException(name, offset, expected, "bad frame in a sealed segment");
        }

        if (ValidFrameFollows(offset, expected))
        {
            throw new LogCorruptionException(name, offset, expected, "checksum mismatch before the tail");
        }
    }

    /// <summary>True when a checksummed frame with a later index starts anywhere after <paramref name="offset"/>.</summary>
    private bool ValidFrameFollows(long offset, ulong expected)
    {
        for (long position = offset + 1; position + SegmentFormat.FrameHeaderBytes <= length; position++)
        {
            ReadOnlySpan<byte> header = Get(position, SegmentFormat.FrameHeaderBytes);
            ulong index = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
            ulong framesThatFit = (ulong)((length - position) / SegmentFormat.FrameHeaderBytes);
            bool plausible = index > expected && index - expected <= framesThatFit;
            if (plausible && TryReadFrame(position, index, out _, out _))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Checks the frame at <paramref name="offset"/>: complete, in place, checksum right.</summary>
    private bool TryReadFrame(long offset, ulong expectedIndex, out long frameBytes, out ulong term)
    {
        frameBytes = 0;
        term = 0;
        long remaining = length - offset;
        if (remaining < SegmentFormat.FrameHeaderBytes)
        {
            return false;
        }

        ReadOnlySpan<byte> header = Get(offset, SegmentFormat.FrameHeaderBytes);
        SegmentFormat.FrameHeader frame = SegmentFormat.ReadFrameHeader(header, options.EntryBytesMax);
        if (frame.PayloadBytes < 0 || frame.Index != expectedIndex || frame.FrameBytes > remaining)
        {
            return false;
        }

        uint crc = SegmentFormat.StartFrameCrc(header);
        crc = ChecksumRange(crc, offset + SegmentFormat.FrameHeaderBytes, frame.PayloadBytes);
        frameBytes = frame.FrameBytes;
        term = frame.Term;
        return crc == frame.Crc;
    }

    private uint ChecksumRange(uint crc, long offset, long count)
    {
        while (count > 0)
        {
            int chunk = (int)Math.Min(count, window.Length);
            crc = Crc32C.Append(crc, Get(offset, chunk));
            offset += chunk;
            count -= chunk;
        }

        return crc;
    }

    /// <summary>Bytes at [offset, offset + count) from a sliding window: bounded memory, few device reads.</summary>
    private ReadOnlySpan<byte> Get(long offset, int count)
    {
        if (count > window.Length || offset + count > length)
        {
            throw new InvariantViolationException($"scan read of {count} bytes at {offset} in {name}");
        }

        if (offset < windowStart || offset + count > windowStart + windowCount)
        {
            Fill(offset);
        }

        return window.AsSpan((int)(offset - windowStart), count);
    }

    private void Fill(long offset)
    {
        int wanted = (int)Math.Min(window.Length, length - offset);
        int filled = 0;
        while (filled < wanted)
        {
            int read = handle.ReadAt(offset + filled, window.AsSpan(filled, wanted - filled));
            if (read <= 0)
            {
                throw new LogCorruptionException(name, offset + filled, 0, "file shrank while being read");
            }

            filled += read;
        }

        windowStart = offset;
        windowCount = filled;
    }
}

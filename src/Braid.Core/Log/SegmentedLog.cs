namespace Braid.Core.Log;

/// <summary>
/// The durable log of one partition replica (DESIGN.md part 7, issue 3): an append-only sequence
/// of checksummed entries in segment files on an <see cref="IStorageDevice"/>, with group commit.
/// </summary>
/// <remarks>
/// <para>Durability contract. <see cref="Append"/> only hands bytes to the device; an entry is
/// durable once <see cref="LastDurableIndex"/> has reached it, and that property advances only
/// inside <see cref="Sync"/>, after the fsync covering the entry returned. Callers must not send
/// anything that depends on an entry (a vote, an append response, a client ack) before that.</para>
/// <para>Group commit: any number of appends followed by one <see cref="Sync"/> costs one fsync of
/// the active segment (plus one of the directory when a segment was created or deleted).</para>
/// <para>Not thread-safe: one owner (the partition's Raft driver) calls it.</para>
/// </remarks>
public sealed partial class SegmentedLog : IDisposable
{
    private readonly IStorageDevice device;
    private readonly LogOptions options;
    private readonly List<Segment> segments;
    private IStorageHandle? activeHandle;
    private byte[] frameBuffer = new byte[4096];
    private bool activeDirty;
    private bool directoryDirty;
    private bool failed;
    private bool disposed;

    private SegmentedLog(IStorageDevice device, LogOptions options, List<Segment> segments)
    {
        this.device = device;
        this.options = options;
        this.segments = segments;
    }

    /// <summary>Index of the first entry held; <see cref="LastIndex"/> + 1 when the log is empty.</summary>
    public ulong FirstIndex => segments.Count == 0 ? 1 : segments[0].BaseIndex;

    /// <summary>Index of the last entry appended (durable or not); 0 for a log that never held one.</summary>
    public ulong LastIndex => segments.Count == 0 ? 0 : segments[^1].LastIndex;

    /// <summary>Term of <see cref="LastIndex"/>, 0 when the log is empty.</summary>
    public ulong LastTerm => segments.Count == 0 || segments[^1].Count == 0 ? PreviousSegmentTerm() : segments[^1].LastTerm;

    /// <summary>
    /// Every entry up to here is on stable storage. Advances only in <see cref="Sync"/> (and on
    /// open, which syncs what it recovered), never in <see cref="Append"/>.
    /// </summary>
    public ulong LastDurableIndex { get; private set; }

    /// <summary>
    /// Appends an entry at <see cref="LastIndex"/> + 1 and returns that index. NOT durable on
    /// return: wait for <see cref="Sync"/> to cover it. Terms must not decrease (Raft log terms
    /// are monotonic; a decrease is a caller bug).
    /// </summary>
    public ulong Append(ulong term, ReadOnlySpan<byte> payload) => Append(term, payload, shared: null);

    /// <summary>
    /// <see cref="Append(ulong, ReadOnlySpan{byte})"/> of a payload its owner never changes
    /// afterwards, which the tail cache (<see cref="LogOptions.TailCacheBytes"/>) may keep as it is.
    /// </summary>
    public ulong AppendShared(ulong term, ReadOnlyMemory<byte> payload) => Append(term, payload.Span, payload);

    private ulong Append(ulong term, ReadOnlySpan<byte> payload, ReadOnlyMemory<byte>? shared)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, options.EntryBytesMax);
        ArgumentOutOfRangeException.ThrowIfLessThan(term, LastTerm);
        long frameBytes = SegmentFormat.FrameHeaderBytes + (long)payload.Length;
        try
        {
            Segment active = ActiveSegmentFor(frameBytes);
            ulong index = active.LastIndex + 1;
            Span<byte> frame = FrameBuffer((int)frameBytes);
            SegmentFormat.WriteFrame(frame, index, term, payload);
            WriteFrame(active, frame);
            active.Add(term, frameBytes);
            activeDirty = true;
            if (options.TailCacheBytes > 0) CacheAppended(index, term, shared ?? payload.ToArray(), frameBytes);
            return index;
        }
        catch (StorageFullException e)
        {
            throw new LogFullException($"append of entry {LastIndex + 1} refused", e);
        }
        catch (Exception e) when (IsDeviceFailure(e))
        {
            throw Fail("append failed", e);
        }
    }

    /// <summary>
    /// Writes a frame at the end of the active segment. On ENOSPC the write may have landed in
    /// part: cut the file back to the last whole frame (shrinking needs no space), so that a
    /// later seal never leaves garbage inside a sealed segment, where recovery would call it
    /// corruption. If even that fails, the file is in an unknown state: fail the log.
    /// </summary>
    private void WriteFrame(Segment active, ReadOnlySpan<byte> frame)
    {
        try
        {
            activeHandle!.WriteAt(active.EndOffset, frame);
        }
        catch (StorageFullException)
        {
            try
            {
                activeHandle!.SetLength(active.EndOffset);
            }
            catch (Exception e) when (IsDeviceFailure(e))
            {
                throw Fail("cutting back a write refused for lack of space failed", e);
            }

            throw;
        }
    }

    /// <summary>
    /// Makes every appended entry durable with one fsync (group commit) and returns the new
    /// <see cref="LastDurableIndex"/>. A failed fsync poisons the log: reopen it.
    /// </summary>
    public ulong Sync()
    {
        ThrowIfUnusable();
        try
        {
            SyncDevice();
        }
        catch (Exception e) when (IsDeviceFailure(e))
        {
            throw Fail("sync failed", e);
        }

        LastDurableIndex = LastIndex;
        return LastDurableIndex;
    }

    /// <summary>Term of the entry at <paramref name="index"/>; 0 for index 0 (Raft's empty prefix).</summary>
    public ulong TermAt(ulong index)
    {
        ThrowIfUnusable();
        if (index == 0)
        {
            return 0;
        }

        return SegmentOf(index).TermAt(index);
    }

    /// <summary>
    /// Removes <paramref name="fromIndex"/> and everything after it (a Raft conflict). Durable on
    /// return: truncation is rare, and syncing it at once means a crash can never bring back
    /// removed entries interleaved with their replacements.
    /// </summary>
    public void TruncateSuffix(ulong fromIndex)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfLessThan(fromIndex, FirstIndex);
        if (fromIndex > LastIndex)
        {
            return;
        }

        UncacheFrom(fromIndex);
        try
        {
            TruncateSuffixOnDevice(fromIndex);
        }
        catch (Exception e) when (IsDeviceFailure(e))
        {
            throw Fail("truncation failed", e);
        }

        LastDurableIndex = Math.Min(LastDurableIndex, fromIndex - 1);
    }

    /// <summary>
    /// Retention: deletes every whole segment whose entries all precede
    /// <paramref name="keepFromIndex"/>, never the last one. Returns how many were deleted.
    /// Entries at or after <paramref name="keepFromIndex"/> are always kept; some before it may
    /// stay until their segment is entirely obsolete. Durable on return.
    /// </summary>
    public int TruncatePrefix(ulong keepFromIndex)
    {
        ThrowIfUnusable();
        int removable = 0;
        while (removable < segments.Count - 1 && segments[removable].LastIndex < keepFromIndex)
        {
            removable++;
        }

        if (removable == 0)
        {
            return 0;
        }

        // The surviving segments must be durable first, else a crash could leave the deletions
        // without the segment that records where the log continues. Oldest first, so what a
        // crash leaves is always a contiguous log.
        Sync();
        try
        {
            for (int i = 0; i < removable; i++)
            {
                DeleteSegmentDurably(0);
            }

            ReleaseCachedBefore(FirstIndex);
        }
        catch (Exception e) when (IsDeviceFailure(e))
        {
            throw Fail("segment deletion failed", e);
        }

        return removable;
    }

    /// <summary>
    /// Discards every entry and restarts the log empty, so that the next append gets
    /// <paramref name="nextIndex"/> (a Raft snapshot install: the entries up to
    /// <paramref name="nextIndex"/> - 1 live in the snapshot now). Durable on return. The old
    /// segments are deleted durably before the new one is created, so a crash in between leaves
    /// an empty log, never a gap; the caller saves the snapshot first and resets again on
    /// recovery when the log ends before it.
    /// </summary>
    public void Reset(ulong nextIndex)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfZero(nextIndex);
        ClearTail();
        try
        {
            activeHandle?.Dispose();
            activeHandle = null;
            // Newest first, so a crash leaves a contiguous prefix.
            for (int i = segments.Count - 1; i >= 0; i--)
            {
                DeleteSegmentDurably(i);
            }

            CreateSegment(nextIndex);
            SyncDevice();
        }
        catch (Exception e) when (IsDeviceFailure(e))
        {
            throw Fail("reset failed", e);
        }

        LastDurableIndex = nextIndex - 1;
    }

    /// <summary>Bytes in every segment file, headers included.</summary>
    public long TotalBytes => segments.Sum(s => s.EndOffset);

    /// <summary>
    /// Retention by size: the last index of the longest run of whole segments at the front whose
    /// removal still leaves at least <paramref name="keepBytesMin"/> bytes in the segments after
    /// them (the active one never goes); 0 when nothing can go.
    /// </summary>
    public ulong RetentionPoint(long keepBytesMin)
    {
        long after = 0;
        for (int i = segments.Count - 1; i > 0; i--)
        {
            after += segments[i].EndOffset;
            if (after >= keepBytesMin)
            {
                return segments[i - 1].LastIndex;
            }
        }

        return 0;
    }

    /// <summary>Closes the active segment. Does not sync: unsynced appends stay volatile.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        activeHandle?.Dispose();
        activeHandle = null;
    }

    private ulong PreviousSegmentTerm() =>
        segments.Count >= 2 && segments[^2].Count > 0 ? segments[^2].LastTerm : 0;

    private void SyncDevice()
    {
        if (activeDirty)
        {
            activeHandle!.Sync();
            activeDirty = false;
        }

        if (directoryDirty)
        {
            device.SyncDirectory();
            directoryDirty = false;
        }
    }

    private Span<byte> FrameBuffer(int frameBytes)
    {
        if (frameBuffer.Length < frameBytes)
        {
            frameBuffer = new byte[Math.Max(frameBytes, frameBuffer.Length * 2)];
        }

        return frameBuffer.AsSpan(0, frameBytes);
    }

    /// <summary>The segment the next frame goes to, rolling to a new one when it would overflow.</summary>
    private Segment ActiveSegmentFor(long frameBytes)
    {
        if (segments.Count > 0)
        {
            Segment active = segments[^1];
            bool fits = active.EndOffset + frameBytes <= options.SegmentBytesMax;
            if (fits || active.Count == 0)
            {
                return active;
            }

            // Seal: a sealed segment is always fully durable, which is what lets recovery call
            // any damage inside one corruption rather than a torn write.
            activeHandle!.Sync();
            activeDirty = false;
        }

        return CreateSegment(LastIndex + 1);
    }

    private Segment CreateSegment(ulong baseIndex)
    {
        var segment = new Segment(SegmentFormat.FileName(baseIndex), baseIndex);
        IStorageHandle handle = device.Open(segment.Name, create: true);
        try
        {
            handle.SetLength(0);
            Span<byte> header = stackalloc byte[SegmentFormat.HeaderBytes];
            SegmentFormat.WriteHeader(header, baseIndex);
            handle.WriteAt(0, header);
        }
        catch (StorageFullException)
        {
            // No room for the new segment: drop it and keep appending to the old one later. A
            // crash before the deletion is durable leaves a torn header, which recovery drops.
            handle.Dispose();
            device.Delete(segment.Name);
            directoryDirty = true;
            throw;
        }

        activeHandle?.Dispose();
        activeHandle = handle;
        segments.Add(segment);
        activeDirty = true;
        directoryDirty = true;
        return segment;
    }

    private void TruncateSuffixOnDevice(ulong fromIndex)
    {
        int keep = segments.FindIndex(s => s.BaseIndex <= fromIndex && fromIndex <= s.LastIndex + 1);
        Invariant.Check(keep >= 0, $"no segment holds entry {fromIndex}");

        // Later segments go first and durably: a crash then leaves an untruncated but contiguous
        // log, never a shortened segment followed by a gap.
        if (keep < segments.Count - 1)
        {
            activeHandle?.Dispose();
            activeHandle = null;
            for (int i = segments.Count - 1; i > keep; i--)
            {
                DeleteSegmentDurably(i);
            }

            activeHandle = device.Open(segments[keep].Name, create: false);
        }

        Segment segment = segments[keep];
        segment.TruncateFrom(fromIndex);
        activeHandle!.SetLength(segment.EndOffset);
        activeHandle.Sync();
        activeDirty = false;
        SyncDevice();
    }

    /// <summary>Deletes one segment file and makes the deletion durable before returning: a file
    /// system may keep any subset of unsynced deletions after a crash, so deleting several and
    /// syncing once could leave a gap. Callers delete from one end of the log only.</summary>
    private void DeleteSegmentDurably(int position)
    {
        device.Delete(segments[position].Name);
        segments.RemoveAt(position);
        device.SyncDirectory();
    }

    private Segment SegmentOf(ulong index)
    {
        if (index < FirstIndex || index > LastIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"outside the log [{FirstIndex}, {LastIndex}]");
        }

        int low = 0;
        int high = segments.Count - 1;
        while (low < high)
        {
            int middle = (low + high + 1) / 2;
            if (segments[middle].BaseIndex <= index)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return segments[low];
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (failed)
        {
            throw new LogFailedException("the log failed earlier and must be reopened", failure);
        }
    }

    private static bool IsDeviceFailure(Exception e) => e is not LogException and not InvariantViolationException;

    /// <summary>What failed the log first (kept so a later refusal still says whether an fsync failed).</summary>
    private Exception? failure;

    private LogFailedException Fail(string what, Exception e)
    {
        failed = true;
        failure ??= e;
        return new LogFailedException(what, e);
    }
}

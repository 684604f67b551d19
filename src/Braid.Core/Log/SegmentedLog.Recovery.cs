namespace Braid.Core.Log;

/// <summary>Opening a log: finding the segments, checking them and rebuilding the index.</summary>
public sealed partial class SegmentedLog
{
    /// <summary>
    /// Opens (or starts) the log kept on <paramref name="device"/>. A torn final entry is cut
    /// away; any other damage raises <see cref="LogCorruptionException"/> naming the entry, file
    /// and offset; a file that is not a Braid segment raises <see cref="LogFormatException"/>.
    /// Content errors raise only <see cref="LogException"/> subtypes (issue 3).
    /// </summary>
    /// <remarks>
    /// What is recovered is fsynced before open returns, so <see cref="LastDurableIndex"/> can
    /// honestly start at <see cref="LastIndex"/>: after a process crash (not a power loss) the
    /// recovered tail may still sit only in the page cache.
    /// </remarks>
    public static SegmentedLog Open(IStorageDevice device, LogOptions? options = null) => Open(device, options, quarantine: null);

    /// <summary>
    /// Opens the log like <see cref="Open(IStorageDevice, LogOptions?)"/>, but when
    /// <paramref name="quarantine"/> is given, damage does not stop the open: the first damaged
    /// segment and every one after it are moved aside (<see cref="Quarantine.MoveAside"/>, listed
    /// in <paramref name="quarantine"/>) and the log is what comes before them, a valid prefix that
    /// Raft completes from the leader. Moved, not deleted: an operator can still examine them.
    /// </summary>
    public static SegmentedLog Open(IStorageDevice device, LogOptions? options, List<QuarantinedFile>? quarantine)
    {
        ArgumentNullException.ThrowIfNull(device);
        options ??= new LogOptions();
        options.Validate();
        var segments = new List<Segment>();
        var log = new SegmentedLog(device, options, segments);
        log.Recover(quarantine);
        return log;
    }

    private void Recover(List<QuarantinedFile>? quarantine)
    {
        List<(ulong BaseIndex, string Name)> found = FindSegmentFiles(quarantine);
        bool repaired = false;
        for (int i = 0; i < found.Count; i++)
        {
            bool isLast = i == found.Count - 1;
            try
            {
                repaired |= RecoverSegment(found[i].Name, found[i].BaseIndex, isLast);
            }
            catch (LogException e) when (quarantine is not null)
            {
                // Everything from here on goes: what follows a damaged segment cannot be joined
                // to the valid prefix without a gap. Newest first, so a crash in between leaves
                // a contiguous log.
                for (int j = found.Count - 1; j >= i; j--)
                {
                    quarantine.Add(Quarantine.MoveAside(device, found[j].Name, j == i ? e.Message : $"follows damaged {found[i].Name}"));
                }

                repaired = true;
                break;
            }
        }

        if (segments.Count > 0)
        {
            activeHandle = device.Open(segments[^1].Name, create: false);
            activeHandle.Sync();
        }

        if (repaired || segments.Count > 0)
        {
            device.SyncDirectory();
        }

        LastDurableIndex = LastIndex;
    }

    private List<(ulong BaseIndex, string Name)> FindSegmentFiles(List<QuarantinedFile>? quarantine)
    {
        var found = new List<(ulong BaseIndex, string Name)>();
        foreach (string name in device.ListNames())
        {
            if (SegmentFormat.TryParseFileName(name, out ulong baseIndex))
            {
                if (baseIndex == 0)
                {
                    var error = new LogFormatException(name, "segment base index 0 (indices start at 1)");
                    if (quarantine is null)
                    {
                        throw error;
                    }

                    quarantine.Add(Quarantine.MoveAside(device, name, error.Message));
                    continue;
                }

                found.Add((baseIndex, name));
            }
        }

        found.Sort((a, b) => a.BaseIndex.CompareTo(b.BaseIndex));
        return found;
    }

    /// <summary>Checks one segment and adds it to the index; returns true when it repaired a torn tail.</summary>
    private bool RecoverSegment(string name, ulong baseIndex, bool isLast)
    {
        using IStorageHandle handle = device.Open(name, create: false);
        if (IsTornHeader(handle, name, baseIndex, isLast))
        {
            handle.Dispose();
            device.Delete(name);
            return true;
        }

        CheckHeader(handle, name, baseIndex);
        ulong previousTerm = segments.Count == 0 ? 0 : LastTerm;
        var segment = new Segment(name, baseIndex);
        SegmentScanner.Result result = SegmentScanner.Scan(handle, segment, isLast, previousTerm, options);
        segments.Add(segment);
        if (result.TornTail)
        {
            handle.SetLength(segment.EndOffset);
            handle.Sync();
        }

        return result.TornTail;
    }

    /// <summary>
    /// A last segment whose header never fully reached the disk is the trace of a crash while
    /// rolling: nothing in it was ever synced, so it is dropped. Torn means the header bytes are
    /// a prefix of the header this file name calls for, followed by zeros or the end of the file
    /// (what a lost or cut-short write leaves); anything else is a foreign file or corruption.
    /// </summary>
    private static bool IsTornHeader(IStorageHandle handle, string name, ulong baseIndex, bool isLast)
    {
        Span<byte> header = stackalloc byte[SegmentFormat.HeaderBytes];
        int read = ReadFully(handle, 0, header);
        Span<byte> expected = stackalloc byte[SegmentFormat.HeaderBytes];
        SegmentFormat.WriteHeader(expected, baseIndex);
        int matching = header[..read].CommonPrefixLength(expected);
        bool torn = !header[matching..read].ContainsAnyExcept((byte)0)
            && (read < SegmentFormat.HeaderBytes || matching < SegmentFormat.HeaderBytes);
        if (torn && !isLast)
        {
            throw new LogCorruptionException(name, 0, baseIndex, $"segment header missing or cut short ({read} bytes)");
        }

        return torn;
    }

    private void CheckHeader(IStorageHandle handle, string name, ulong baseIndex)
    {
        Span<byte> header = stackalloc byte[SegmentFormat.HeaderBytes];
        ReadFully(handle, 0, header);
        ulong headerBase = SegmentFormat.ReadHeader(header, name);
        if (headerBase != baseIndex)
        {
            throw new LogCorruptionException(name, 0, baseIndex, $"header says base index {headerBase}");
        }

        if (segments.Count > 0 && baseIndex != LastIndex + 1)
        {
            throw new LogCorruptionException(name, 0, LastIndex + 1, $"segment starts at {baseIndex}, expected {LastIndex + 1} (missing or extra entries)");
        }
    }

    private static int ReadFully(IStorageHandle handle, long offset, Span<byte> destination)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int read = handle.ReadAt(offset + total, destination[total..]);
            if (read <= 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}

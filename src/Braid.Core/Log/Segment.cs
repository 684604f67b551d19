namespace Braid.Core.Log;

/// <summary>
/// The in-memory index of one segment file: where each entry's frame starts and the term runs.
/// Rebuilt by scanning on open (issue 3), so it never needs to be persisted or kept consistent
/// with the file across crashes. Memory is 8 bytes per entry plus one pair per term change.
/// </summary>
internal sealed class Segment
{
    private readonly List<long> frameOffsets = [];
    private readonly List<(ulong FirstIndex, ulong Term)> termRuns = [];

    public Segment(string name, ulong baseIndex)
    {
        if (baseIndex == 0)
        {
            throw new InvariantViolationException($"segment base index {baseIndex} (indices start at 1)");
        }

        Name = name;
        BaseIndex = baseIndex;
        EndOffset = SegmentFormat.HeaderBytes;
    }

    /// <summary>The file name on the device.</summary>
    public string Name { get; }

    /// <summary>Index of the first entry this segment holds or will hold.</summary>
    public ulong BaseIndex { get; }

    /// <summary>Offset just past the last valid frame: where the next frame goes.</summary>
    public long EndOffset { get; private set; }

    public int Count => frameOffsets.Count;

    /// <summary>Index of the last entry; <c>BaseIndex - 1</c> when empty.</summary>
    public ulong LastIndex => BaseIndex + (ulong)frameOffsets.Count - 1;

    public ulong LastTerm => termRuns.Count == 0 ? 0 : termRuns[^1].Term;

    public bool Contains(ulong index) => index >= BaseIndex && index <= LastIndex;

    // Invariants below throw directly rather than through Invariant.Check so that their
    // interpolated messages are built only on failure: these run once per entry.

    /// <summary>Records a frame just written (or found valid) at <see cref="EndOffset"/>.</summary>
    public void Add(ulong term, long frameBytes)
    {
        if (frameBytes < SegmentFormat.FrameHeaderBytes)
        {
            throw new InvariantViolationException($"frame of {frameBytes} bytes in {Name}");
        }

        if (term < LastTerm)
        {
            throw new InvariantViolationException($"term {term} after {LastTerm} in {Name}");
        }

        if (termRuns.Count == 0 || termRuns[^1].Term != term)
        {
            termRuns.Add((LastIndex + 1, term));
        }

        frameOffsets.Add(EndOffset);
        EndOffset += frameBytes;
    }

    public long OffsetOf(ulong index)
    {
        if (!Contains(index))
        {
            throw new InvariantViolationException($"entry {index} is not in {Name}");
        }

        return frameOffsets[(int)(index - BaseIndex)];
    }

    /// <summary>Offset just past the frame of <paramref name="index"/>.</summary>
    public long EndOf(ulong index) => index == LastIndex ? EndOffset : OffsetOf(index + 1);

    public ulong TermAt(ulong index)
    {
        if (!Contains(index))
        {
            throw new InvariantViolationException($"entry {index} is not in {Name}");
        }

        int low = 0;
        int high = termRuns.Count - 1;
        while (low < high)
        {
            int middle = (low + high + 1) / 2;
            if (termRuns[middle].FirstIndex <= index)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return termRuns[low].Term;
    }

    /// <summary>Forgets <paramref name="index"/> and everything after it; the next frame goes where it was.</summary>
    public void TruncateFrom(ulong index)
    {
        if (index < BaseIndex || index > LastIndex + 1)
        {
            throw new InvariantViolationException($"truncation at {index} outside {Name}");
        }

        if (index > LastIndex)
        {
            return;
        }

        int keep = (int)(index - BaseIndex);
        EndOffset = frameOffsets[keep];
        frameOffsets.RemoveRange(keep, frameOffsets.Count - keep);
        termRuns.RemoveAll(run => run.FirstIndex >= index);
    }
}

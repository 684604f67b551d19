using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Core.Streams;

/// <summary>
/// Where a query stands: one <see cref="ScanPosition"/> per partition, inside the snapshot fixed
/// when the query started, and the fingerprint of the query's filter. Pages are handed out
/// partition by partition, in order, so one cursor describes the whole position; it resumes the
/// query at any node with exactly the rest of its snapshot. Immutable; clients hold it as opaque
/// bytes (<see cref="Encode"/>, <see cref="TryDecode"/>).
/// </summary>
public sealed class ScanCursor
{
    public const uint Version = 1;

    private ScanCursor(ulong filterHash, ScanPosition[] positions, uint streamId = 0, string stream = "")
    {
        FilterHash = filterHash;
        Positions = positions;
        StreamId = streamId;
        Stream = stream;
    }

    public ulong FilterHash { get; }

    /// <summary>The stream read (0: the default stream); a cursor resumes only its own stream.</summary>
    public uint StreamId { get; }

    /// <summary>The stream's name when the cursor was made, for error messages.</summary>
    public string Stream { get; }
    public IReadOnlyList<ScanPosition> Positions { get; }

    /// <summary>Every partition is done (a pending one never is).</summary>
    public bool Done => Positions.All(p => p.Done);

    /// <summary>The partitions whose snapshot is not fixed yet (<see cref="ScanPosition.Pending"/>), ascending.</summary>
    public IReadOnlyList<uint> Pending => [.. Positions.Where(p => p.IsPending).Select(p => p.Partition)];

    /// <summary>The partitions not done yet, ascending: what a degraded read that had to stop now
    /// names as missing (their positions stay where they are, so a resume completes them).</summary>
    public IReadOnlyList<uint> Unfinished => [.. Positions.Where(p => !p.Done).Select(p => p.Partition)];

    /// <summary>A fresh query over the snapshot fixed by each partition's leader: its commit index
    /// and its retention point, in partition order.</summary>
    public static ScanCursor Start(ulong filterHash, IReadOnlyList<(ulong CommitIndex, ulong RetainedAfter)> leaders, uint streamId = 0, string stream = "") =>
        new(filterHash, [.. leaders.Select((l, p) => ScanPosition.Start((uint)p, l.CommitIndex, l.RetainedAfter))], streamId, stream);

    /// <summary>A cursor at the given positions (one per partition, in order): a subscription's,
    /// or a degraded read's start, where partitions without a leader are <see cref="ScanPosition.Pending"/>.</summary>
    public static ScanCursor At(ulong filterHash, IReadOnlyList<ScanPosition> positions, uint streamId, string stream)
    {
        for (var i = 0; i < positions.Count; i++) Invariant.Check(positions[i].Partition == i && (positions[i].IsValid || positions[i].IsPending), $"cursor position {i} is {positions[i]}");
        return new(filterHash, [.. positions], streamId, stream);
    }

    /// <summary>The cursor with pending partition <paramref name="partition"/>'s snapshot fixed at
    /// its leader's commit index and retention point (as <see cref="Start"/> does).</summary>
    public ScanCursor Fix(uint partition, ulong commitIndex, ulong retainedAfter)
    {
        Invariant.Check(Positions[(int)partition].IsPending, $"fixing partition {partition}, which is at {Positions[(int)partition]}, not pending");
        var positions = Positions.ToArray();
        positions[partition] = ScanPosition.Start(partition, commitIndex, retainedAfter);
        return new ScanCursor(FilterHash, positions, StreamId, Stream);
    }

    /// <summary>The cursor after a page of partition <paramref name="next"/>.Partition that ends at <paramref name="next"/>.</summary>
    public ScanCursor Advance(ScanPosition next)
    {
        var current = Positions[(int)next.Partition];
        Invariant.Check(!current.IsPending && next.SnapshotIndex == current.SnapshotIndex && next.IsValid
            && (next.NextIndex > current.NextIndex || (next.NextIndex == current.NextIndex && next.Skip >= current.Skip)),
            $"cursor of partition {next.Partition} moved from {current} to {next}");
        var positions = Positions.ToArray();
        positions[next.Partition] = next;
        return new ScanCursor(FilterHash, positions, StreamId, Stream);
    }

    public byte[] Encode()
    {
        var cursor = new QueryCursor { Version = Version, FilterHash = FilterHash, PartitionCount = (uint)Positions.Count, StreamId = StreamId, Stream = Stream };
        foreach (var p in Positions)
            cursor.Positions.Add(new PartitionPosition { Partition = p.Partition, SnapshotIndex = p.SnapshotIndex, NextIndex = p.NextIndex, Skip = p.Skip });
        return cursor.ToByteArray();
    }

    /// <summary>Reads a client's cursor; every way it can be wrong gives a message naming the problem.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, ulong filterHash, int partitionCount, out ScanCursor cursor, out string error) =>
        TryDecode(bytes, filterHash, partitionCount, 0, "", out cursor, out error);

    /// <summary>Reads a client's cursor of stream <paramref name="streamId"/>; a cursor of another stream is refused, naming both.</summary>
    /// <param name="allowPending">Accept <see cref="ScanPosition.Pending"/> positions (a degraded
    /// query's cursor, which only a query resumes); otherwise they are refused, naming them.</param>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, ulong filterHash, int partitionCount, uint streamId, string stream, out ScanCursor cursor, out string error,
        bool allowPending = false)
    {
        cursor = new ScanCursor(0, []);
        QueryCursor parsed;
        try
        {
            parsed = QueryCursor.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            error = $"the cursor is not a Braid query cursor ({e.Message})";
            return false;
        }
        error = parsed.Version != Version ? $"cursor version {parsed.Version} is not supported"
            : parsed.StreamId != streamId
                ? $"the cursor belongs to stream '{(parsed.Stream.Length > 0 ? parsed.Stream : parsed.StreamId == 0 ? "airquality" : $"#{parsed.StreamId}")}', not '{(stream.Length > 0 ? stream : "airquality")}'"
            : parsed.FilterHash != filterHash ? "the cursor belongs to a different query (its filter differs)"
            : parsed.PartitionCount != partitionCount || parsed.Positions.Count != partitionCount
                ? $"the cursor is for {parsed.PartitionCount} partitions, this cluster has {partitionCount}"
            : "";
        if (error.Length > 0) return false;
        var positions = new ScanPosition[partitionCount];
        for (var i = 0; i < partitionCount; i++)
        {
            var p = parsed.Positions[i];
            positions[i] = new ScanPosition(p.Partition, p.SnapshotIndex, p.NextIndex, p.Skip);
            if (p.Partition != i || !(positions[i].IsValid || positions[i].IsPending))
            {
                error = $"the cursor's position for partition {i} is malformed";
                return false;
            }
        }
        var pending = positions.Where(p => p.IsPending).Select(p => p.Partition).ToList();
        if (pending.Count > 0 && !allowPending)
        {
            error = $"the cursor is a partial query's: partition{(pending.Count == 1 ? "" : "s")} {string.Join(", ", pending)} never started (no quorum then); resume it with a query first";
            return false;
        }
        cursor = new ScanCursor(filterHash, positions, streamId, stream);
        return true;
    }
}

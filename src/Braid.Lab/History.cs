namespace Braid.Lab;

/// <summary>How an append ended, as the client saw it.</summary>
public enum AppendResult
{
    /// <summary>Acknowledged: committed (durable on a majority); must be stored exactly once.</summary>
    Ok,

    /// <summary>Refused for certain (invalid, out of order): must not be stored.</summary>
    Failed,

    /// <summary>No answer (timeout, the client or the node died): may or may not be stored, once at most.</summary>
    Unknown,
}

/// <summary>One append as the client invoked and completed it. Times are in the history's clock
/// (any unit, one clock for the whole history).</summary>
/// <param name="ContentHash">A hash of the batch's bytes: a stored batch with the same key and other
/// content was never sent.</param>
public sealed record AppendOp(uint Partition, ulong Producer, ulong Sequence, ulong ContentHash, long InvokedAt, long CompletedAt, AppendResult Result);

/// <summary>A batch the partition stored (applied as new, not as a duplicate), found by the final
/// read of its committed log.</summary>
/// <param name="Records">The batch's records, as hashes of their content, in order.</param>
public sealed record StoredBatch(uint Partition, ulong Index, ulong Producer, ulong Sequence, ulong ContentHash, IReadOnlyList<ulong> Records);

/// <summary>Where a query's snapshot lies in one partition: the records of entries in (StartAfter, SnapshotIndex].</summary>
public readonly record struct QuerySnapshot(uint Partition, ulong StartAfter, ulong SnapshotIndex);

/// <summary>
/// A query as the client ran it, page by page and possibly resumed at other nodes from its cursor:
/// the snapshot fixed when it started, what it returned per partition (record hashes, in order),
/// and which records its filter matches.
/// </summary>
public sealed record QueryOp(
    int Id,
    long InvokedAt,
    long CompletedAt,
    IReadOnlyList<QuerySnapshot> Snapshot,
    IReadOnlyDictionary<uint, IReadOnlyList<ulong>> Returned,
    Func<ulong, bool> Matches,
    int Resumes = 0);

/// <summary>Everything one experiment recorded: the operations and the final read of every partition.</summary>
public sealed record History(IReadOnlyList<AppendOp> Appends, IReadOnlyList<QueryOp> Queries, IReadOnlyList<StoredBatch> Stored);

using Braid.Lab;

namespace Braid.Lab.Tests;

/// <summary>The checker against histories with one planted fault each: every one is reported, and
/// the clean history passes.</summary>
public sealed class HistoryCheckerTests
{
    private static AppendOp Op(ulong sequence, AppendResult result = AppendResult.Ok, long at = 10, ulong producer = 1) =>
        new(0, producer, sequence, 100 + sequence, at, at + 5, result);

    private static StoredBatch Batch(ulong index, ulong sequence, ulong producer = 1, ulong? content = null) =>
        new(0, index, producer, sequence, content ?? 100 + sequence, [1000 * producer + 10 * sequence, 1000 * producer + 10 * sequence + 1]);

    private static History Clean(IReadOnlyList<QueryOp>? queries = null) => new(
        [Op(1), Op(2), Op(3, AppendResult.Unknown), Op(4, AppendResult.Failed)],
        queries ?? [],
        [Batch(2, 1), Batch(3, 2), Batch(5, 3)]);

    private static QueryOp Query(IReadOnlyList<ulong> returned, long at = 100, ulong snapshotIndex = 5, ulong startAfter = 0) =>
        new(1, at, at + 50, [new QuerySnapshot(0, startAfter, snapshotIndex)], new Dictionary<uint, IReadOnlyList<ulong>> { [0] = returned }, _ => true, Resumes: 2);

    [Fact]
    public void ACleanHistoryPasses()
    {
        var result = HistoryChecker.Check(Clean([Query([1010, 1011, 1020, 1021, 1030, 1031])]));
        Assert.True(result.Ok, string.Join("\n", result.Violations));
        Assert.Equal((0L, 0L, 0L, 1L), (result.Lost, result.Duplicated, result.Phantom, result.QueriesChecked));
    }

    [Fact]
    public void ALostAcknowledgedWriteIsReported()
    {
        var history = Clean() with { Stored = [Batch(2, 1), Batch(5, 3)] };
        var result = HistoryChecker.Check(history);
        Assert.Equal(1, result.Lost);
        Assert.Contains(result.Violations, v => v.StartsWith("lost: partition 0 (1,2)", StringComparison.Ordinal));
    }

    [Fact]
    public void ADuplicateIsReported()
    {
        var history = Clean() with { Stored = [Batch(2, 1), Batch(3, 2), Batch(4, 2), Batch(5, 3)] };
        var result = HistoryChecker.Check(history);
        Assert.Equal(1, result.Duplicated);
        Assert.Contains(result.Violations, v => v.Contains("(1,2) is stored 2 times", StringComparison.Ordinal));
    }

    [Fact]
    public void ABatchNoProducerSentIsAPhantom() =>
        AssertPhantom([Batch(2, 1), Batch(3, 2), Batch(5, 3), Batch(6, 1, producer: 9)], "no producer sent it");

    [Fact]
    public void ABatchRefusedForCertainButStoredIsAPhantom() =>
        AssertPhantom([Batch(2, 1), Batch(3, 2), Batch(5, 3), Batch(6, 4)], "refused every time");

    [Fact]
    public void AKeyStoredWithBytesNeverSentIsAPhantom() =>
        AssertPhantom([Batch(2, 1), Batch(3, 2), Batch(5, 3, content: 777)], "never sent under that key");

    private static void AssertPhantom(IReadOnlyList<StoredBatch> stored, string reason)
    {
        var result = HistoryChecker.Check(Clean() with { Stored = stored });
        Assert.Equal(1, result.Phantom);
        Assert.Contains(result.Violations, v => v.StartsWith("phantom:", StringComparison.Ordinal) && v.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void AGapInAResumedQueryIsReported()
    {
        var result = HistoryChecker.Check(Clean([Query([1010, 1011, 1021, 1030, 1031])]));
        Assert.Contains(result.Violations, v => v.Contains("query 1 (resumed 2 times): partition 0 returned 5 records", StringComparison.Ordinal)
            && v.Contains("first difference at record 2", StringComparison.Ordinal));
    }

    [Fact]
    public void ARecordReturnedTwiceByAResumedQueryIsReported()
    {
        var result = HistoryChecker.Check(Clean([Query([1010, 1011, 1011, 1020, 1021, 1030, 1031])]));
        Assert.Contains(result.Violations, v => v.Contains("returned 7 records", StringComparison.Ordinal));
    }

    [Fact]
    public void AStaleSnapshotMissingAnEarlierAcknowledgedBatchIsReported()
    {
        // (1,2) was acknowledged at 15 and stored at entry 3; the query started at 100 but its
        // snapshot ends at entry 2 (as a deposed leader's commit index would).
        var result = HistoryChecker.Check(Clean([Query([1010, 1011], at: 100, snapshotIndex: 2)]));
        Assert.Contains(result.Violations, v => v.StartsWith("stale snapshot: query 1", StringComparison.Ordinal) && v.Contains("(1,2)", StringComparison.Ordinal));
    }

    [Fact]
    public void AProducersBatchesStoredOutOfOrderAreReported()
    {
        var history = Clean() with { Stored = [Batch(2, 2), Batch(3, 1), Batch(5, 3)] };
        Assert.Contains(HistoryChecker.Check(history).Violations, v => v.StartsWith("order: partition 0 producer 1", StringComparison.Ordinal));
    }
}

using Braid.Core.Streams;

namespace Braid.Core.Tests.Streams;

/// <summary>Degraded reads (issue 12): the cursor of a partial query keeps the partitions it could
/// not read where they were, and the fail-fast rule gives up on a partition within seconds.</summary>
public sealed class DegradedReadTests
{
    private static ScanCursor PartialStart() =>
        ScanCursor.At(42, [ScanPosition.Start(0, 10, 0), ScanPosition.Pending(1), ScanPosition.Start(2, 0, 0), ScanPosition.Pending(3)], 5, "s");

    [Fact]
    public void A_pending_partition_is_never_done_and_survives_encoding_only_where_allowed()
    {
        var cursor = PartialStart();
        Assert.False(cursor.Done);
        Assert.Equal([1u, 3u], cursor.Pending);
        Assert.Equal([0u, 1u, 3u], cursor.Unfinished); // partition 2 has an empty snapshot: done at once
        Assert.False(ScanPosition.Pending(1).IsValid);

        Assert.True(ScanCursor.TryDecode(cursor.Encode(), 42, 4, 5, "s", out var decoded, out var error, allowPending: true), error);
        Assert.Equal(cursor.Positions, decoded.Positions);
        Assert.False(ScanCursor.TryDecode(cursor.Encode(), 42, 4, 5, "s", out _, out error));
        Assert.Contains("partitions 1, 3", error);
    }

    [Fact]
    public void Fixing_the_pending_partitions_then_reading_everything_finishes_the_cursor()
    {
        var cursor = PartialStart();
        // The first run reads partition 0 only (1 and 3 have no quorum); its cursor moves partition 0 alone.
        cursor = cursor.Advance(new ScanPosition(0, 10, 6, 2));
        cursor = cursor.Advance(new ScanPosition(0, 10, 11));
        Assert.Equal([1u, 3u], cursor.Unfinished);
        Assert.Throws<InvariantViolationException>(() => cursor.Advance(new ScanPosition(1, 0, 1))); // pending: fix it first

        // The resume fixes them at their leaders' commit indexes, then reads them.
        cursor = cursor.Fix(1, 7, 0).Fix(3, 0, 0);
        Assert.Equal(new ScanPosition(1, 7, 1), cursor.Positions[1]);
        Assert.True(cursor.Positions[3].Done);
        Assert.Empty(cursor.Pending);
        Assert.Throws<InvariantViolationException>(() => cursor.Fix(1, 9, 0));
        cursor = cursor.Advance(new ScanPosition(1, 7, 8));
        Assert.True(cursor.Done);
        Assert.Empty(cursor.Unfinished);
    }

    [Fact]
    public void A_partition_without_a_majority_of_answers_is_unavailable_after_two_seconds()
    {
        var watch = new QuorumWatch(3, TimeSpan.Zero, QuorumWatch.NoLeaderAfter);
        Assert.Equal(QuorumVerdict.Retry, watch.Round(1, false, TimeSpan.FromSeconds(0.5)));
        Assert.Equal(QuorumVerdict.Retry, watch.Round(1, false, TimeSpan.FromSeconds(1.9)));
        Assert.Equal(QuorumVerdict.Unavailable, watch.Round(1, false, TimeSpan.FromSeconds(2)));
        Assert.Contains("only 1 of its 3 replicas answers", watch.Reason);
    }

    [Fact]
    public void A_majority_that_answers_gets_until_the_give_up_time_and_a_leader_ends_the_wait()
    {
        var watch = new QuorumWatch(3, TimeSpan.FromSeconds(10), QuorumWatch.NoLeaderAfter);
        Assert.Equal(QuorumVerdict.Retry, watch.Round(2, false, TimeSpan.FromSeconds(11)));
        Assert.Equal(QuorumVerdict.Retry, watch.Round(3, false, TimeSpan.FromSeconds(14)));
        // A majority lost for less than two seconds is still an election going on.
        Assert.Equal(QuorumVerdict.Retry, watch.Round(1, false, TimeSpan.FromSeconds(14.5)));
        Assert.Equal(QuorumVerdict.Served, watch.Round(1, true, TimeSpan.FromSeconds(14.6)));
        Assert.Equal(QuorumVerdict.Unavailable, watch.Round(2, false, TimeSpan.FromSeconds(15)));
        Assert.Contains("2 of its 3 replicas answer but none could serve it within 5 s", watch.Reason);
    }
}

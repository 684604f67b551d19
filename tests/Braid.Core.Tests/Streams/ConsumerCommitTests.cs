using System.Buffers.Binary;
using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;

namespace Braid.Core.Tests.Streams;

/// <summary>Durable consumers' positions are control entries of the partition's own log: applied
/// alike on every replica, forward only, carried by snapshots, never counted as records.</summary>
public sealed class ConsumerCommitTests
{
    private static CommittedEntry Record(ulong index, ulong producer, ulong sequence) =>
        new(index, 1, false, new RecordEntry(producer, sequence, new byte[] { 7 }).Encode());

    private static CommittedEntry Commit(ulong index, string consumer, ulong next, uint skip = 0) =>
        new(index, 1, false, new RecordEntry(ConsumerCommit.ControlProducer, 0, new ConsumerCommit(consumer, next, skip).Encode()).Encode());

    [Fact]
    public void A_commit_sets_the_position_moves_it_forward_only_and_is_not_a_record()
    {
        var state = new PartitionState();
        state.Apply(Record(1, 5, 1));
        Assert.Equal(ApplyOutcome.Control, state.Apply(Commit(2, "billing", 2)));
        Assert.Equal((2ul, 0u), state.Consumers["billing"]);
        Assert.Equal(ApplyOutcome.Control, state.Apply(Commit(3, "billing", 1, 5))); // a late retry of an older commit
        Assert.Equal((2ul, 0u), state.Consumers["billing"]);
        state.Apply(Commit(4, "billing", 2, 3));
        Assert.Equal((2ul, 3u), state.Consumers["billing"]);
        Assert.Equal(1L, state.RecordCount);
        Assert.Equal([1ul], state.RecordIndexes);
        // The control entry's (0, 0) key is no producer: a client's first batch still stores.
        Assert.Equal(ApplyOutcome.Stored, state.Apply(Record(5, 6, 1)));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 2, 1, 0, 65, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 })] // another kind
    [InlineData(new byte[] { 1, 5, 0, 65 })] // cut short
    [InlineData(new byte[] { 1, 1, 0, 0xFF, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })] // not UTF-8
    [InlineData(new byte[] { 1, 1, 0, 65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })] // next index 0
    public void A_malformed_control_entry_changes_nothing(byte[] payload)
    {
        var state = new PartitionState();
        Assert.Equal(ApplyOutcome.Control, state.Apply(new CommittedEntry(1, 1, false, new RecordEntry(0, 0, payload).Encode())));
        Assert.Empty(state.Consumers);
        Assert.Equal(1ul, state.AppliedIndex);
    }

    [Fact]
    public void Positions_survive_a_snapshot_and_older_snapshots_still_restore()
    {
        var state = new PartitionState();
        state.Apply(Record(1, 5, 1));
        state.Apply(Commit(2, "zeta", 2));
        state.Apply(Commit(3, "alpha", 1, 4));
        state.Apply(Commit(4, "ünïcode", 2));
        var snapshot = new StoredSnapshot(4, 1, state.Snapshot());
        Assert.Null(PartitionState.ValidateSnapshot(4, snapshot.Data));
        var restored = new PartitionState();
        restored.Restore(snapshot);
        Assert.Equal(state.Consumers.OrderBy(c => c.Key, StringComparer.Ordinal), restored.Consumers.OrderBy(c => c.Key, StringComparer.Ordinal));
        Assert.Equal(snapshot.Data.ToArray(), restored.Snapshot());

        // A version-2 snapshot (no consumers) is the version-3 one without its consumer part.
        var plain = new PartitionState();
        plain.Apply(Record(1, 5, 1));
        var v3 = plain.Snapshot();
        var v2 = v3[..^4];
        v2[0] = 2;
        Assert.Null(PartitionState.ValidateSnapshot(1, v2));
        var old = new PartitionState();
        old.Restore(new StoredSnapshot(1, 1, v2));
        Assert.Empty(old.Consumers);
        Assert.Equal(ApplyOutcome.Duplicate, old.Apply(Record(2, 5, 1)));
    }

    [Fact]
    public void A_snapshot_with_a_bad_consumer_part_is_refused()
    {
        var state = new PartitionState();
        state.Apply(Commit(1, "b", 1));
        state.Apply(Commit(2, "a", 1));
        var good = state.Snapshot();
        var cut = good[..^3];
        Assert.Contains("cut short", PartitionState.ValidateSnapshot(2, cut));
        var extra = good.Concat(new byte[] { 0 }).ToArray();
        Assert.Contains("after the consumers", PartitionState.ValidateSnapshot(2, extra));
        var count = good.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(count.AsSpan(33), -1);
        Assert.NotNull(PartitionState.ValidateSnapshot(2, count));
    }

    [Fact]
    public void Names_are_checked()
    {
        Assert.Null(ConsumerCommit.ValidateName("orders-v2"));
        Assert.NotNull(ConsumerCommit.ValidateName(""));
        Assert.Contains("longer than 128", ConsumerCommit.ValidateName(new string('x', 129)));
        Assert.NotNull(ConsumerCommit.ValidateName("a\nb"));
    }
}

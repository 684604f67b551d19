using Braid.Client;

namespace Braid.Client.Tests;

/// <summary>
/// An <see cref="IngestSession"/> against an in-process cluster with a partition that never
/// answers (as one without a majority during a network split): the other partitions keep
/// flowing, in bounded memory, and the stuck one catches up once it heals (issue 10, item 5b).
/// Every awaited step runs under a timeout, so a hang fails the test instead of stalling it.
/// </summary>
public sealed class IngestSessionTests
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(10);
    private const int BatchBytes = 1000;

    private static BraidClientOptions Options(FakeCluster cluster) => new()
    {
        Seeds = [cluster.Address],
        InflightBatchesPerPartition = 2,
        AckTimeout = TimeSpan.FromSeconds(1),
        BackoffMax = TimeSpan.FromMilliseconds(200),
        StallTimeout = TimeSpan.FromSeconds(60),
    };

    private static byte[] Payload(long batch) => Enumerable.Repeat((byte)batch, BatchBytes).ToArray();

    private static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + StepTimeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"not within {StepTimeout.TotalSeconds} s: {what}");
            await Task.Delay(20);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task With_one_partition_unavailable_the_batches_of_the_others_keep_being_acknowledged()
    {
        await using var cluster = await FakeCluster.StartAsync(partitions: 4, unavailable: 0);
        using var client = await BraidClient.ConnectAsync(Options(cluster)).WaitAsync(StepTimeout);
        await using var session = new IngestSession(client, producer: 7);

        const int batches = 80; // 20 per partition: ten windows' worth for the stuck one
        for (var b = 0; b < batches; b++)
            await session.SendAsync(b, Payload(b), recordCount: 1).AsTask().WaitAsync(StepTimeout);

        // The fake counts an ack when it sends it, the client when it reads it: wait for both.
        await EventuallyAsync(() => cluster.Acked(1) == 20 && cluster.Acked(2) == 20 && cluster.Acked(3) == 20 && client.Stats.AckedBatches >= 60,
            "every batch of partitions 1-3 acknowledged");
        Assert.Equal(0, cluster.Acked(0));
        Assert.Equal(60, client.Stats.AckedBatches);
        // Batch 0 (partition 0) is not acknowledged: the checkpoint stays at 0, whatever was acked above it.
        Assert.Equal(0, session.ContiguousAckedBatches);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_stuck_partition_holds_at_most_the_byte_budget_then_SendAsync_waits_and_after_healing_all_is_stored_once()
    {
        await using var cluster = await FakeCluster.StartAsync(partitions: 4, unavailable: 0);
        using var client = await BraidClient.ConnectAsync(Options(cluster) with { MaxBufferedBytes = 10 * BatchBytes }).WaitAsync(StepTimeout);
        await using var session = new IngestSession(client, producer: 7);

        // Partition 0 gets every 4th batch and answers none: once it holds 10 (batches 0, 4, ..., 36)
        // the budget is full, and the send of batch 37 waits (the healthy partitions hold nothing by then).
        ValueTask blocked = default;
        var batch = 0L;
        for (; batch < 100; batch++)
        {
            blocked = session.SendAsync(batch, Payload(batch), recordCount: 1);
            try { await blocked.AsTask().WaitAsync(TimeSpan.FromSeconds(2)); }
            catch (TimeoutException) { break; }
        }
        Assert.Equal(37, batch);
        Assert.True(session.WaitingForRoom);
        Assert.Equal(10 * BatchBytes, session.BufferedBytes);
        var status = session.PartitionStatus();
        Assert.Equal((10, 10L * BatchBytes), (status[0].Batches, status[0].Bytes));
        Assert.True(status[0].WaitingFor >= TimeSpan.FromSeconds(1), $"partition 0 waiting for {status[0].WaitingFor}");
        Assert.All(status.Skip(1), s => Assert.Equal((0, 0L, TimeSpan.Zero), (s.Batches, s.Bytes, s.WaitingFor)));
        Assert.Equal([9, 9, 9], new[] { cluster.Acked(1), cluster.Acked(2), cluster.Acked(3) });
        Assert.Equal(0, session.ContiguousAckedBatches);

        cluster.Heal(0); // the next stream partition 0 opens (after its overdue acknowledgement) is answered
        await blocked.AsTask().WaitAsync(StepTimeout);
        Assert.False(session.WaitingForRoom);
        for (batch++; batch < 200; batch++)
            await session.SendAsync(batch, Payload(batch), recordCount: 1).AsTask().WaitAsync(StepTimeout);
        await session.CompleteAsync().WaitAsync(StepTimeout);

        for (var p = 0u; p < 4; p++) Assert.Equal(Enumerable.Range(1, 50).Select(s => (ulong)s), cluster.Stored(p));
        Assert.Equal(200, session.ContiguousAckedBatches);
        Assert.Equal(0, session.BufferedBytes);
        Assert.Equal(200, client.Stats.AckedBatches);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_load_resumed_from_the_checkpoint_resends_the_batches_acked_above_it_and_they_come_back_as_duplicates()
    {
        await using var cluster = await FakeCluster.StartAsync(partitions: 4, unavailable: 0);
        using var client = await BraidClient.ConnectAsync(Options(cluster)).WaitAsync(StepTimeout);
        long checkpoint;
        var acked = new System.Collections.Concurrent.ConcurrentQueue<long>();
        await using (var first = new IngestSession(client, producer: 7, onAcked: acked.Enqueue))
        {
            for (var b = 0; b < 40; b++) await first.SendAsync(b, Payload(b), recordCount: 1).AsTask().WaitAsync(StepTimeout);
            await EventuallyAsync(() => client.Stats.AckedBatches == 30, "partitions 1-3 acknowledged");
            checkpoint = first.ContiguousAckedBatches;
        } // the load dies with partition 0 unacknowledged
        Assert.Equal(0, checkpoint);
        Assert.Equal(Enumerable.Range(0, 40).Where(b => b % 4 != 0).Select(b => (long)b), acked.Order());

        cluster.Heal(0);
        await using (var resumed = new IngestSession(client, producer: 7, firstBatch: checkpoint))
        {
            for (var b = checkpoint; b < 40; b++) await resumed.SendAsync(b, Payload(b), recordCount: 1).AsTask().WaitAsync(StepTimeout);
            await resumed.CompleteAsync().WaitAsync(StepTimeout);
            Assert.Equal(40, resumed.ContiguousAckedBatches);
        }
        for (var p = 0u; p < 4; p++) Assert.Equal(Enumerable.Range(1, 10).Select(s => (ulong)s), cluster.Stored(p));
        Assert.Equal(30, cluster.Duplicates);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_partition_that_gives_up_fails_SendAsync_at_once_instead_of_letting_it_wait_for_ever()
    {
        await using var cluster = await FakeCluster.StartAsync(partitions: 2, unavailable: 0);
        using var client = await BraidClient.ConnectAsync(Options(cluster) with { StallTimeout = TimeSpan.FromSeconds(2), MaxBufferedBytes = 4 * BatchBytes })
            .WaitAsync(StepTimeout);
        await using var session = new IngestSession(client, producer: 7);
        var e = await Assert.ThrowsAsync<BraidException>(async () =>
        {
            for (var b = 0; b < 1_000; b++) await session.SendAsync(b, Payload(b), recordCount: 1).AsTask().WaitAsync(StepTimeout);
        });
        Assert.Contains("partition 0: no batch acknowledged", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<BraidException>(() => session.CompleteAsync().WaitAsync(StepTimeout));
    }

    [Fact]
    public async Task Batch_numbers_go_up_from_the_first_and_a_completing_session_takes_no_more()
    {
        await using var cluster = await FakeCluster.StartAsync(partitions: 2);
        using var client = await BraidClient.ConnectAsync(Options(cluster)).WaitAsync(StepTimeout);
        await using (var resumed = new IngestSession(client, producer: 7, firstBatch: 10))
        {
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => resumed.SendAsync(9, Payload(9), 1).AsTask());
        }
        await using var session = new IngestSession(client, producer: 7);
        await session.SendAsync(0, Payload(0), 1).AsTask().WaitAsync(StepTimeout);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => session.SendAsync(0, Payload(0), 1).AsTask());
        await session.CompleteAsync().WaitAsync(StepTimeout);
        Assert.Equal(1, session.ContiguousAckedBatches);
        await Assert.ThrowsAsync<InvalidOperationException>(() => session.SendAsync(1, Payload(1), 1).AsTask());
    }
}

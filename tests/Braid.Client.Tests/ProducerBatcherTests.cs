using System.Text;
using Braid.Client;
using Braid.Data;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Client.Tests;

/// <summary>The producer's batching rule (issue 13): linger, size limits, key partitioning,
/// bounded memory and the per-record acknowledgement handles.</summary>
public sealed class ProducerBatcherTests
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void ABatchGoesOutOnceItsFirstRecordHasWaitedTheLinger()
    {
        var batcher = new ProducerBatcher(1, new ProducerOptions { Linger = 5 * Ms });
        Assert.Null(batcher.NextReadyAt);
        Assert.True(batcher.TryAdd(Record("a", "1"), TimeSpan.Zero + 10 * Ms, out _));
        Assert.True(batcher.TryAdd(Record("a", "2"), 13 * Ms, out _));

        Assert.Equal(15 * Ms, batcher.NextReadyAt);
        Assert.Empty(batcher.TakeReady(14 * Ms));
        var batch = Assert.Single(batcher.TakeReady(15 * Ms));

        Assert.Equal(["1", "2"], Values(batch));
        Assert.Equal(10 * Ms, batch.CreatedAt);
        Assert.Null(batcher.NextReadyAt);
        Assert.True(batcher.TryAdd(Record("a", "3"), 16 * Ms, out _)); // a new batch, with its own linger
        Assert.Empty(batcher.TakeReady(20 * Ms));
        Assert.Equal(["3"], Values(Assert.Single(batcher.TakeReady(21 * Ms))));
    }

    [Fact]
    public void AZeroLingerSendsAtTheNextChance()
    {
        var batcher = new ProducerBatcher(2, new ProducerOptions { Linger = TimeSpan.Zero });
        Assert.True(batcher.TryAdd(Record("k", "1"), 7 * Ms, out _));
        Assert.Equal(7 * Ms, batcher.NextReadyAt);
        Assert.Single(batcher.TakeReady(7 * Ms));
    }

    [Fact]
    public void ABatchGoesOutAsSoonAsItHoldsBatchRecordsMax()
    {
        var batcher = new ProducerBatcher(1, new ProducerOptions { BatchRecordsMax = 3, Linger = TimeSpan.FromSeconds(10) });
        for (int i = 0; i < 7; i++) Assert.True(batcher.TryAdd(Record("k", i.ToString()), TimeSpan.Zero, out _));

        Assert.Equal(TimeSpan.Zero, batcher.NextReadyAt); // ready now: no waiting for the linger
        var ready = batcher.TakeReady(TimeSpan.Zero);

        Assert.Equal([["0", "1", "2"], ["3", "4", "5"]], ready.Select(Values));
        Assert.Equal(TimeSpan.FromSeconds(10), batcher.NextReadyAt); // the seventh waits in an open batch
        Assert.Equal(7, batcher.BufferedRecords); // sent is still held until acknowledged
    }

    [Fact]
    public void ABatchGoesOutBeforeItWouldPassBatchBytesMaxAndAnOversizedRecordGoesAlone()
    {
        var record = Record("k", new string('v', 1000));
        int bytes = RawBatchCodec.RecordBytesMax(record);
        var batcher = new ProducerBatcher(1, new ProducerOptions { BatchBytesMax = 3 * bytes + bytes / 2, Linger = TimeSpan.FromSeconds(10) });
        for (int i = 0; i < 4; i++) Assert.True(batcher.TryAdd(Record("k", new string((char)('a' + i), 1000)), TimeSpan.Zero, out _));
        var huge = Record("k", new string('h', 10 * bytes));
        Assert.True(batcher.TryAdd(huge, TimeSpan.Zero, out _));
        Assert.True(batcher.TryAdd(record, TimeSpan.Zero, out _));

        var ready = batcher.TakeReady(TimeSpan.Zero);

        Assert.Equal([3, 1, 1], ready.Select(b => b.Count)); // a b c | d (sealed when huge came) | huge
        Assert.Same(huge, ready[2].Records[0]);
        Assert.All(ready, b => Assert.True(b.Encode().Length <= b.Bytes + 24));
        Assert.Equal(5 * bytes + RawBatchCodec.RecordBytesMax(huge), batcher.BufferedBytes);
        batcher.Flush();
        Assert.Same(record, Assert.Single(Assert.Single(batcher.TakeReady(TimeSpan.Zero)).Records));
    }

    [Fact]
    public void KeysHashToAStablePartitionAndEmptyKeysGoRoundRobin()
    {
        // FNV-1a 64 test vectors (Fowler, Noll, Vo): the hash producers of every version agree on.
        Assert.Equal(0xcbf29ce484222325UL, ProducerBatcher.Fnv1a64(""u8));
        Assert.Equal(0xaf63dc4c8601ec8cUL, ProducerBatcher.Fnv1a64("a"u8));
        Assert.Equal(0x85944171f73967e8UL, ProducerBatcher.Fnv1a64("foobar"u8));
        Assert.Equal(0x85944171f73967e8UL % 12, (ulong)ProducerBatcher.KeyPartition("foobar"u8, 12));

        var batcher = new ProducerBatcher(3, new ProducerOptions { Linger = TimeSpan.Zero });
        foreach (var key in new[] { "sensor-1", "sensor-2", "foobar", "sensor-1", "foobar" })
            Assert.True(batcher.TryAdd(Record(key, key), TimeSpan.Zero, out _));
        for (int i = 0; i < 5; i++) Assert.True(batcher.TryAdd(Record("", "rr" + i), TimeSpan.Zero, out _));
        Assert.True(batcher.TryAdd(Record("foobar", "chosen"), partition: 2, TimeSpan.Zero, out _));

        var byPartition = batcher.TakeReady(TimeSpan.Zero).ToDictionary(b => b.Partition, b => b.Records);
        foreach (var (partition, records) in byPartition)
        {
            foreach (var r in records.Where(r => !r.Key.IsEmpty && r.Value.ToStringUtf8() != "chosen"))
                Assert.Equal(ProducerBatcher.KeyPartition(r.Key.Span, 3), partition);
        }
        var roundRobin = byPartition.SelectMany(kv => kv.Value.Where(r => r.Key.IsEmpty).Select(r => (kv.Key, r.Value.ToStringUtf8()))).OrderBy(x => x.Item2);
        Assert.Equal([0, 1, 2, 0, 1], roundRobin.Select(x => x.Key));
        Assert.Equal("chosen", byPartition[2].Last().Value.ToStringUtf8());
    }

    [Fact]
    public void KeysSpreadEvenlyOverThePartitions()
    {
        const int Keys = 40_000, Partitions = 8;
        var counts = new int[Partitions];
        for (int i = 0; i < Keys; i++) counts[ProducerBatcher.KeyPartition(Encoding.UTF8.GetBytes($"device-{i}"), Partitions)]++;
        Assert.All(counts, c => Assert.InRange(c, Keys / Partitions * 0.95, Keys / Partitions * 1.05));
    }

    [Fact]
    public async Task AddingIsRefusedWhileTheBufferIsFullAndResumesWhenAnAcknowledgementFreesIt()
    {
        var record = Record("k", new string('v', 100));
        int bytes = RawBatchCodec.RecordBytesMax(record);
        var batcher = new ProducerBatcher(1, new ProducerOptions { BufferBytesMax = 3 * bytes, BatchBytesMax = bytes, Linger = TimeSpan.Zero });
        for (int i = 0; i < 3; i++) Assert.True(batcher.TryAdd(Record("k", new string('v', 100)), TimeSpan.Zero, out _));

        Assert.False(batcher.TryAdd(record, TimeSpan.Zero, out var refused));
        Assert.Null(refused);
        var room = batcher.WaitForRoomAsync(record);
        Assert.False(room.IsCompleted);
        Assert.Equal(3 * bytes, batcher.BufferedBytes);

        var sent = batcher.TakeReady(TimeSpan.Zero);
        Assert.Equal(3, sent.Count);
        Assert.False(room.IsCompleted); // sent is not acknowledged: still held
        Assert.True(batcher.Acknowledge(sent[0], Position(0, 1)));
        await room.WaitAsync(Step);

        Assert.True(batcher.TryAdd(record, TimeSpan.Zero, out _));
        Assert.False(batcher.TryAdd(record, TimeSpan.Zero, out _));
        Assert.True(batcher.Fail(sent[1], new IOException("refused")));
        Assert.True(batcher.WaitForRoomAsync(record).IsCompleted);
        Assert.True(batcher.TryAdd(record, TimeSpan.Zero, out _));
        Assert.Equal(3 * bytes, batcher.BufferedBytes);
    }

    [Fact]
    public async Task ARecordLargerThanTheWholeBufferIsTakenWhenNothingElseIsHeld()
    {
        var small = Record("k", "s");
        var batcher = new ProducerBatcher(1, new ProducerOptions { BufferBytesMax = 64 * 1024, BatchBytesMax = 1024 });
        var huge = Record("k", new string('h', 100 * 1024));
        Assert.True(batcher.TryAdd(small, TimeSpan.Zero, out _));
        Assert.False(batcher.TryAdd(huge, TimeSpan.Zero, out _));
        var waiting = batcher.WaitForRoomAsync(huge);
        using var cancel = new CancellationTokenSource();
        var cancelled = batcher.WaitForRoomAsync(huge, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Step));

        batcher.Flush();
        batcher.Acknowledge(Assert.Single(batcher.TakeReady(TimeSpan.Zero)), Position(0, 1));
        await waiting.WaitAsync(Step);
        Assert.True(batcher.TryAdd(huge, TimeSpan.Zero, out _));
        Assert.False(batcher.TryAdd(small, TimeSpan.Zero, out _));
    }

    [Fact]
    public void FlushSendsEveryRecordAddedSoFarWhateverItsAge()
    {
        var batcher = new ProducerBatcher(4, new ProducerOptions { Linger = TimeSpan.FromSeconds(30) });
        for (int i = 0; i < 20; i++) Assert.True(batcher.TryAdd(Record("key" + i, "v"), TimeSpan.Zero, out _));
        Assert.Empty(batcher.TakeReady(Ms));

        batcher.Flush();
        Assert.True(batcher.TryAdd(Record("late", "v"), Ms, out _)); // after the flush: waits for its linger

        var ready = batcher.TakeReady(Ms);
        Assert.Equal(20, ready.Sum(b => b.Count));
        Assert.Equal(ready.Count, ready.Select(b => b.Partition).Distinct().Count());
        Assert.Equal(Ms + TimeSpan.FromSeconds(30), batcher.NextReadyAt);
    }

    [Fact]
    public async Task AcknowledgementsGiveEachRecordItsPositionAndFailuresFaultEveryHandleOfTheBatch()
    {
        var batcher = new ProducerBatcher(2, new ProducerOptions { Linger = TimeSpan.Zero });
        var acks = new List<Task<RecordPosition>>();
        for (int i = 0; i < 3; i++)
        {
            Assert.True(batcher.TryAdd(Record("", "v"), partition: 1, TimeSpan.Zero, out var ack));
            acks.Add(ack);
        }
        Assert.True(batcher.TryAdd(Record("", "v"), partition: 0, TimeSpan.Zero, out var failing));
        var ready = batcher.TakeReady(TimeSpan.Zero);
        var ofOne = ready.Single(b => b.Partition == 1);

        Assert.Throws<ArgumentException>(() => batcher.Acknowledge(ofOne, Position(0, 9)));
        Assert.True(batcher.Acknowledge(ofOne, Position(1, 41, ordinal: 0)));
        Assert.False(batcher.Acknowledge(ofOne, Position(1, 99))); // a second answer changes nothing
        var positions = await Task.WhenAll(acks).WaitAsync(Step);
        Assert.Equal([(1u, 41ul, 0u), (1u, 41ul, 1u), (1u, 41ul, 2u)], positions.Select(p => (p.Partition, p.Index, p.Ordinal)));

        var error = new InvalidOperationException("stream deleted");
        Assert.True(batcher.Fail(ready.Single(b => b.Partition == 0), error));
        Assert.Same(error, await Assert.ThrowsAsync<InvalidOperationException>(() => failing.WaitAsync(Step)));
        Assert.Equal(0, batcher.BufferedBytes);
        Assert.Equal(0, batcher.BufferedRecords);
    }

    [Fact]
    public void RecordsBeyondALimitAndBadArgumentsAreRefused()
    {
        var batcher = new ProducerBatcher(2, new ProducerOptions());
        var big = new RawRecord { Value = ByteString.CopyFrom(new byte[RawBatchCodec.ValueBytesMax + 1]) };
        var e = Assert.Throws<ArgumentException>(() => batcher.TryAdd(big, TimeSpan.Zero, out _));
        Assert.StartsWith($"the record: value of {RawBatchCodec.ValueBytesMax + 1} bytes exceeds ValueBytesMax ({RawBatchCodec.ValueBytesMax})", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => batcher.TryAdd(Record("k", "v"), partition: 2, TimeSpan.Zero, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProducerBatcher(0, new ProducerOptions()));
        Assert.Equal(0, batcher.BufferedRecords);

        Assert.True(batcher.TryAdd(Record("k", "v"), TimeSpan.Zero, out _));
        var other = new ProducerBatcher(2, new ProducerOptions());
        var batch = Assert.Single(batcher.TakeReady(TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentException>(() => other.Fail(batch, new IOException()));
    }

    [Fact]
    public void OptionsOutOfRangeAreRefusedNamingTheOption()
    {
        Assert.Equal("Linger", Refused(new ProducerOptions { Linger = -Ms }));
        Assert.Equal("Linger", Refused(new ProducerOptions { Linger = TimeSpan.FromMinutes(2) }));
        Assert.Equal("BatchBytesMax", Refused(new ProducerOptions { BatchBytesMax = 0 }));
        Assert.Equal("BatchRecordsMax", Refused(new ProducerOptions { BatchRecordsMax = 0 }));
        Assert.Equal("BufferBytesMax", Refused(new ProducerOptions { BufferBytesMax = 1024, BatchBytesMax = 2048 }));
        new ProducerOptions().Validate();
        new ProducerOptions { Linger = TimeSpan.Zero, BatchBytesMax = 1, BatchRecordsMax = 1, BufferBytesMax = 1 }.Validate();

        static string? Refused(ProducerOptions options) =>
            Assert.Throws<ArgumentOutOfRangeException>(() => new ProducerBatcher(1, options)).ParamName;
    }

    [Fact]
    public async Task EveryHandleCompletesExactlyOnceAndOrderWithinAPartitionIsKept()
    {
        var random = new Random(2024);
        const int Partitions = 5;
        var batcher = new ProducerBatcher(Partitions, new ProducerOptions
        {
            Linger = 3 * Ms, BatchRecordsMax = 7, BatchBytesMax = 2048, BufferBytesMax = 16 * 1024,
        });
        var added = new List<(RawRecord Record, Task<RecordPosition> Ack)>();
        var sentOrder = new List<RawRecord>[Partitions];
        for (int p = 0; p < Partitions; p++) sentOrder[p] = [];
        var inFlight = new List<ProducerBatch>();
        var completions = new List<Task>();
        int refusals = 0;
        ulong index = 0;
        var now = TimeSpan.Zero;
        for (int step = 0; step < 5000; step++)
        {
            now += TimeSpan.FromMicroseconds(random.Next(0, 800));
            switch (random.Next(10))
            {
                case < 6:
                    var record = Record(random.Next(3) == 0 ? "" : "key" + random.Next(40), new string('v', random.Next(0, 600)), seq: added.Count);
                    if (!batcher.TryAdd(record, now, out var ack))
                    {
                        refusals++;
                        break;
                    }
                    completions.Add(ack.ContinueWith(_ => { }, TaskScheduler.Default));
                    added.Add((record, ack));
                    break;
                case < 8:
                    foreach (var b in batcher.TakeReady(now))
                    {
                        sentOrder[b.Partition].AddRange(b.Records);
                        inFlight.Add(b);
                    }
                    break;
                case 8 when inFlight.Count > 0:
                    var answered = inFlight[0]; // answers come in order, mostly; a failure now and then
                    inFlight.RemoveAt(0);
                    Assert.True(random.Next(8) == 0
                        ? batcher.Fail(answered, new IOException("lost"))
                        : batcher.Acknowledge(answered, Position((uint)answered.Partition, ++index)));
                    Assert.False(batcher.Acknowledge(answered, Position((uint)answered.Partition, ++index)));
                    Assert.False(batcher.Fail(answered, new IOException("twice")));
                    break;
                default:
                    if (random.Next(20) == 0) batcher.Flush();
                    break;
            }
            Assert.InRange(batcher.BufferedBytes, 0, 16 * 1024);
        }
        Assert.True(refusals > 0, "the buffer never filled");
        // Closing: every record still held (in flight, sealed or open) fails, once.
        int held = batcher.BufferedRecords;
        Assert.True(held > 0);
        Assert.Equal(held, batcher.FailAll(new IOException("closing")));
        Assert.Empty(batcher.TakeReady(now + TimeSpan.FromMinutes(1)));
        foreach (var b in inFlight) Assert.False(batcher.Acknowledge(b, Position((uint)b.Partition, ++index)));

        await Task.WhenAll(completions).WaitAsync(Step);
        Assert.All(added, a => Assert.True(a.Ack.IsCompleted));
        Assert.Equal(0, batcher.BufferedBytes);
        Assert.Equal(0, batcher.BufferedRecords);

        // Within a partition, records went out in the order they were added.
        for (int p = 0; p < Partitions; p++)
        {
            var sequences = sentOrder[p].Select(r => r.TimestampMs).ToList();
            Assert.Equal(sequences.Order(), sequences);
        }
        var acked = added.Where(a => a.Ack.IsCompletedSuccessfully).Select(a => a.Ack.Result).ToList();
        Assert.NotEmpty(acked);
        Assert.Equal(acked.Count, acked.Select(p => (p.Partition, p.Index, p.Ordinal)).Distinct().Count());
    }

    private static RawRecord Record(string key, string value, long seq = 0) => new()
    {
        Key = ByteString.CopyFromUtf8(key),
        Value = ByteString.CopyFromUtf8(value),
        TimestampMs = seq,
    };

    private static RecordPosition Position(uint partition, ulong index, uint ordinal = 0) =>
        new() { Partition = partition, Index = index, Ordinal = ordinal };

    private static string[] Values(ProducerBatch batch) => batch.Records.Select(r => r.Value.ToStringUtf8()).ToArray();
}

using System.Buffers.Binary;
using Braid.Core.Raft;
using Braid.Client;
using Braid.Core.Streams;

namespace Braid.Simulation;

/// <summary>
/// Producers appending batches (producer id, sequence) to a partition chosen by producer, with the
/// client's own sending rule (<see cref="SendWindow{TBatch}"/>: a window of 1 or 3 unacknowledged
/// batches, each stream sending every held batch once in order, any trouble reopening the stream
/// to whichever node claims leadership and sending every held batch again). Batches go in through
/// <see cref="PartitionReplica.Append"/>, as a node's Ingest service puts them, and a producer is
/// acknowledged only by the <see cref="AppendAck"/>s the core replica emits, which travel back over
/// a connection that loses them at the fault rate.
/// </summary>
public sealed partial class Simulation
{
    private readonly Dictionary<ulong, ProducerState> producers = [];
    private bool workloadStopped;

    private sealed class ProducerState(ulong id, uint group, int window, Random random)
    {
        /// <summary>The client's reconnect backoff (20 ms doubling to 1 s, with jitter).</summary>
        public Backoff Backoff { get; } = new(TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(1), random);
        public bool Producing { get; set; }
        public ulong Id { get; } = id;
        public uint Group { get; } = group;
        public SendWindow<byte[]> Window { get; } = new(window);
        public ulong NextSequence { get; set; } = 1;

        /// <summary>Counts streams: answers from an earlier stream are not read (as the client cancels it).</summary>
        public long Stream { get; set; }
        public SimReplica? Target { get; set; }
        public bool Reopening { get; set; }
        public long AckedCount { get; set; }
        public int Retries { get; set; }
    }

    public long Acked => producers.Values.Sum(p => p.AckedCount);
    public long Retries => producers.Values.Sum(p => p.Retries);

    /// <summary>Producers with batches still unacknowledged.</summary>
    public int PendingProducers => producers.Values.Count(p => !p.Window.IsEmpty);

    private void StartWorkload()
    {
        for (var p = 1; p <= Options.Producers; p++)
        {
            var producer = new ProducerState((ulong)p, (uint)((p - 1) % Groups.Count), (p - 1) / Groups.Count % 2 == 0 ? 1 : 3, new Random(random.Next()));
            producers[producer.Id] = producer;
            Schedule(TimeSpan.FromMilliseconds(random.Next(1, 100)), () =>
            {
                Reopen(producer, retry: false);
                Produce(producer);
            });
            ScheduleAckCheck(producer);
        }
    }

    /// <summary>Stops issuing new sequences (held ones are still sent until acknowledged).</summary>
    public void StopWorkload() => workloadStopped = true;

    /// <summary>The records of a batch: 1 to 4 values, a function of (producer, sequence) so a
    /// resend carries the same bytes. Each value is unique in the run.</summary>
    internal static byte[] BatchOf(ulong producer, ulong sequence)
    {
        var count = 1 + (int)(sequence % 4);
        var payload = new byte[8 * count];
        for (var j = 0; j < count; j++)
            BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(8 * j), (producer << 40) | (sequence << 8) | (uint)j);
        return payload;
    }

    /// <summary>A new stream to whichever node claims leadership now (the client asks the nodes it
    /// can reach; a deposed leader in a minority may still claim it); every held batch goes again.</summary>
    private void Reopen(ProducerState producer, bool retry)
    {
        producer.Reopening = false;
        producer.Stream++;
        if (retry) producer.Retries++;
        producer.Window.Reopen();
        producer.Target = FindLeader(producer.Group);
        Send(producer);
    }

    /// <summary>Adds the producer's next batch when its window has room (one per think time of
    /// 1-20 ms, so a producer with a wider window keeps more in flight, not more per second).</summary>
    private void Produce(ProducerState producer)
    {
        if (producer.Producing || workloadStopped || !producer.Window.HasRoom) return;
        producer.Window.Add(producer.NextSequence, BatchOf(producer.Id, producer.NextSequence));
        producer.NextSequence++;
        Send(producer);
        producer.Producing = true;
        Schedule(TimeSpan.FromMilliseconds(random.Next(1, 20)), () =>
        {
            producer.Producing = false;
            Produce(producer);
        });
    }

    /// <summary>Sends what this stream has not sent yet, in order.</summary>
    private void Send(ProducerState producer)
    {
        var target = producer.Target;
        if (target?.Replica is null || !Nodes[target.Replica.Raft.Id].Up)
        {
            ReopenSoon(producer); // no leader known, or the stream's node is gone: reconnect after a backoff
            return;
        }
        var unsent = producer.Window.TakeUnsent(Now);
        foreach (var (sequence, batch) in unsent)
            if (target.Replica.Append(producer.Stream, producer.Id, sequence, batch) is { } answer) SendAck(answer);
        if (unsent.Count > 0) FlushSoon(Nodes[target.Replica.Raft.Id], target);
    }

    private void ReopenSoon(ProducerState producer)
    {
        if (producer.Reopening) return;
        producer.Reopening = true;
        var stream = producer.Stream;
        Schedule(producer.Backoff.Next(), () =>
        {
            if (producer.Stream == stream) Reopen(producer, retry: true);
        });
    }

    /// <summary>The client's acknowledgement timeout: a held batch unanswered for too long reopens the stream.</summary>
    private void ScheduleAckCheck(ProducerState producer) => Schedule(Options.ProposalTimeout / 4, () =>
    {
        if (producer.Window.AckOverdue(Now, (long)Options.ProposalTimeout.TotalMicroseconds)) ReopenSoon(producer);
        if (!workloadStopped || !producer.Window.IsEmpty) ScheduleAckCheck(producer);
    });

    private SimReplica? FindLeader(uint group)
    {
        var claimants = Holders(group)
            .Select(id => Nodes[id])
            .Where(n => n.Up && n.Replicas[group].Replica?.Raft.Role == RaftRole.Leader)
            .Select(n => n.Replicas[group])
            .ToList();
        return claimants.Count == 0 ? null : claimants[random.Next(claimants.Count)];
    }

    /// <summary>An ack travels back to its producer over the client's connection, which may lose it.
    /// Every Ok the core emits is checked, whether or not the producer reads it (it ignores the
    /// answers of a stream it gave up): the core must never say Ok for a batch it does not hold.</summary>
    private void SendAck(AppendAck ack)
    {
        if (ack.Status == AckStatus.Ok && producers.TryGetValue(ack.Producer, out var owner)) Checker.OnAck(owner.Group, ack);
        if (random.NextDouble() < CurrentDropRate) return;
        var delay = random.NextDouble() * Options.HopDelayMax.TotalMicroseconds;
        Schedule(TimeSpan.FromMicroseconds(Math.Max(1, delay)), () => OnAck(ack));
    }

    private void OnAck(AppendAck ack)
    {
        if (!producers.TryGetValue(ack.Producer, out var producer) || ack.Ticket != producer.Stream) return; // a cancelled stream's answer
        switch (ack.Status)
        {
            case AckStatus.Ok:
                if (!producer.Window.Acknowledge(ack.Sequence, out _)) return;
                producer.AckedCount++;
                producer.Backoff.Reset();
                Produce(producer);
                break;
            case AckStatus.OutOfOrder when producer.Window.Capacity == 1:
                // With one batch in flight, sequence s goes only after s-1 was acknowledged, so the
                // partition must hold s-1: this answer means an acknowledged batch was lost.
                Checker.Violation($"exactly-once: group {producer.Group} answered ({ack.Producer},{ack.Sequence}) out of order, expecting {ack.ExpectedSequence}");
                break;
            default:
                // NotLeader, Retry, OutOfOrder (a later batch got ahead of a refused one): the
                // client cancels the stream and opens another, which resends every held batch.
                ReopenSoon(producer);
                break;
        }
    }
}

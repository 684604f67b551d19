using System.Buffers.Binary;
using Braid.Core.Raft;
using Braid.Core.Streams;

namespace Braid.Simulation;

/// <summary>
/// Producers appending batches (producer id, sequence) one at a time, each to a partition chosen
/// by producer, through <see cref="PartitionReplica.Append"/> on a node that claims to lead, as a
/// client does. A producer is acknowledged only by the <see cref="AppendAck"/>s the core replica
/// emits (the rule the node host ships), which travel back over a lossy connection; it resends
/// the same sequence on Retry, NotLeader or a timeout (exactly-once makes that safe).
/// </summary>
public sealed partial class Simulation
{
    private readonly Dictionary<ulong, ProducerState> producers = [];
    private bool workloadStopped;
    private long nextTicket;

    private sealed class ProducerState(ulong id, uint group)
    {
        public ulong Id { get; } = id;
        public uint Group { get; } = group;
        public ulong Sequence { get; set; } = 1;
        public long SentAt { get; set; } = -1;
        public long Attempt { get; set; }
        public long AckedCount { get; set; }
        public int Retries { get; set; }
    }

    public long Acked => producers.Values.Sum(p => p.AckedCount);
    public long Retries => producers.Values.Sum(p => p.Retries);

    /// <summary>Producers whose current batch is still unacknowledged.</summary>
    public int PendingProducers => producers.Values.Count(p => p.SentAt >= 0);

    private void StartWorkload()
    {
        for (var p = 1; p <= Options.Producers; p++)
        {
            var producer = new ProducerState((ulong)p, (uint)((p - 1) % Groups.Count));
            producers[producer.Id] = producer;
            Schedule(TimeSpan.FromMilliseconds(random.Next(1, 100)), () => Propose(producer));
        }
    }

    /// <summary>Stops issuing new sequences (pending ones still retry until acknowledged).</summary>
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

    private void Propose(ProducerState producer)
    {
        if (producer.SentAt < 0 && workloadStopped) return;
        if (producer.SentAt >= 0) producer.Retries++;
        producer.SentAt = Now;
        var attempt = ++producer.Attempt;
        var seq = producer.Sequence;
        var leader = FindLeader(producer.Group);
        if (leader is not null)
        {
            var immediate = leader.Replica!.Append(++nextTicket, producer.Id, seq, BatchOf(producer.Id, seq));
            if (immediate is { } answer) SendAck(answer);
            FlushSoon(Nodes[leader.Replica.Raft.Id], leader);
        }
        Schedule(Options.ProposalTimeout, () =>
        {
            if (producer.Attempt == attempt && producer.SentAt >= 0) Propose(producer);
        });
    }

    /// <summary>The client finds a leader the way a real client would: by asking nodes it can
    /// reach; several nodes may claim leadership (a deposed leader in a minority), any may be picked.</summary>
    private SimReplica? FindLeader(uint group)
    {
        var claimants = Groups[(int)group]
            .Select(id => Nodes[id])
            .Where(n => n.Up && n.Replicas[group].Replica?.Raft.Role == RaftRole.Leader)
            .Select(n => n.Replicas[group])
            .ToList();
        return claimants.Count == 0 ? null : claimants[random.Next(claimants.Count)];
    }

    /// <summary>An ack travels back to its producer over the client's connection, which may lose it.</summary>
    private void SendAck(AppendAck ack)
    {
        if (random.NextDouble() < CurrentDropRate) return;
        var delay = random.NextDouble() * Options.HopDelayMax.TotalMicroseconds;
        Schedule(TimeSpan.FromMicroseconds(Math.Max(1, delay)), () => OnAck(ack));
    }

    private void OnAck(AppendAck ack)
    {
        if (!producers.TryGetValue(ack.Producer, out var producer) || producer.Sequence != ack.Sequence || producer.SentAt < 0) return;
        switch (ack.Status)
        {
            case AckStatus.Ok:
                Checker.OnAck(producer.Group, ack);
                producer.AckedCount++;
                producer.Sequence++;
                producer.SentAt = -1;
                producer.Attempt++;
                if (!workloadStopped) Schedule(TimeSpan.FromMilliseconds(random.Next(1, 20)), () => Propose(producer));
                break;
            case AckStatus.OutOfOrder:
                // A producer sends sequence s only after s-1 was acknowledged, so the partition
                // must hold s-1: an out-of-order answer means an acknowledged batch was lost.
                Checker.Violation($"exactly-once: group {producer.Group} answered ({ack.Producer},{ack.Sequence}) out of order, expecting {ack.ExpectedSequence}");
                break;
            default:
                // NotLeader or Retry: resend soon, to whichever node leads by then.
                var attempt = producer.Attempt;
                Schedule(TimeSpan.FromMilliseconds(random.Next(5, 50)), () =>
                {
                    if (producer.Attempt == attempt && producer.SentAt >= 0) Propose(producer);
                });
                break;
        }
    }
}

using Braid.Core.Raft;

namespace Braid.Simulation;

/// <summary>
/// Producers proposing records (producer id, sequence) one at a time, each to a partition
/// chosen by producer, retrying the same sequence with a timeout until acknowledged: the shape
/// of Braid's exactly-once ingest. An acknowledgement is sent when the leader applies the entry,
/// i.e. once it is committed (durable on a quorum).
/// </summary>
public sealed partial class Simulation
{
    private readonly Dictionary<ulong, ProducerState> producers = [];
    private bool workloadStopped;

    private sealed class ProducerState(ulong id, uint group)
    {
        public ulong Id { get; } = id;
        public uint Group { get; } = group;
        public ulong Sequence { get; set; } = 1;
        public long SentAt { get; set; } = -1;
        public long AckedCount { get; set; }
        public int Retries { get; set; }
    }

    public long Acked => producers.Values.Sum(p => p.AckedCount);
    public long Retries => producers.Values.Sum(p => p.Retries);

    /// <summary>Producers whose current record is still unacknowledged.</summary>
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

    private void Propose(ProducerState producer)
    {
        if (producer.SentAt < 0 && workloadStopped) return;
        if (producer.SentAt >= 0) producer.Retries++;
        producer.SentAt = Now;
        var seq = producer.Sequence;
        var leader = FindLeader(producer.Group);
        if (leader is not null)
        {
            var result = leader.Raft!.Propose(SimStateMachine.Encode(producer.Id, seq));
            if (result.Accepted) Flush(Nodes[leader.Raft.Id], leader);
        }
        Schedule(Options.ProposalTimeout, () =>
        {
            if (producer.Sequence == seq && producer.SentAt >= 0) Propose(producer);
        });
    }

    /// <summary>The client finds a leader the way a real client would: by asking nodes it can
    /// reach; several nodes may claim leadership (a deposed leader in a minority), any may be picked.</summary>
    private SimReplica? FindLeader(uint group)
    {
        var claimants = Groups[(int)group]
            .Select(id => Nodes[id])
            .Where(n => n.Up && n.Replicas[group].Raft?.Role == RaftRole.Leader)
            .Select(n => n.Replicas[group])
            .ToList();
        return claimants.Count == 0 ? null : claimants[random.Next(claimants.Count)];
    }

    private void OnLeaderApplied(uint group, CommittedEntry entry, Braid.Core.Streams.ApplyOutcome outcome)
    {
        if (outcome == Braid.Core.Streams.ApplyOutcome.OutOfOrder) return; // not stored: the producer resends
        var (producerId, seq) = SimStateMachine.Decode(entry.Data);
        if (!producers.TryGetValue(producerId, out var producer) || producer.Group != group) return;
        if (producer.Sequence != seq || producer.SentAt < 0) return;
        Checker.OnAck(group, producerId, seq);
        producer.AckedCount++;
        producer.Sequence++;
        producer.SentAt = -1;
        if (!workloadStopped) Schedule(TimeSpan.FromMilliseconds(random.Next(1, 20)), () => Propose(producer));
    }
}

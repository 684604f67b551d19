namespace Braid.Core.Streams;

/// <summary>What a partition replica answers to a client's append.</summary>
public enum AckStatus
{
    /// <summary>Committed (durable on a majority) and applied: stored now, or stored before
    /// (<see cref="AppendAck.Duplicate"/>).</summary>
    Ok,

    /// <summary>This replica does not lead (or leadership is moving); <see cref="AppendAck.Leader"/>
    /// names the leader when known. Nothing was appended.</summary>
    NotLeader,

    /// <summary>The sequence skips ahead of the producer's next one: not stored; resend from
    /// <see cref="AppendAck.ExpectedSequence"/>.</summary>
    OutOfOrder,

    /// <summary>The batch may or may not be stored (leadership changed before it committed, or too
    /// many are in flight): resend the same (producer, sequence); exactly-once makes that safe.</summary>
    Retry,

    /// <summary>The replica's disk is full (NOSPACE alarm): nothing was appended; the replica
    /// serves reads and resumes writes by itself once space returns. Retry later (the node host
    /// answers RESOURCE_EXHAUSTED); exactly-once makes resending the same batch safe.</summary>
    NoSpace,
}

/// <summary>
/// The answer to the append the caller tagged <paramref name="Ticket"/> (the node host maps it to
/// the waiting request; the simulator to its producer). Emitted by <see cref="PartitionReplica"/>
/// only: what a client sees is decided by the core, in the node and in the simulator alike.
/// </summary>
/// <param name="Index">The log index of the batch's entry (Ok only).</param>
public readonly record struct AppendAck(
    long Ticket,
    ulong Producer,
    ulong Sequence,
    AckStatus Status,
    ulong Index = 0,
    bool Duplicate = false,
    ulong ExpectedSequence = 0,
    string? Leader = null,
    string? Error = null);

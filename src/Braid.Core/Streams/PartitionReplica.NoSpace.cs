using Braid.Core.Log;

namespace Braid.Core.Streams;

/// <summary>
/// The NOSPACE alarm (etcd's, issue 11 item 4). A write that finds the disk full is refused, not
/// fatal: the replica raises the alarm, answers appends <see cref="AckStatus.NoSpace"/> at once
/// without touching the disk, keeps serving reads and stays in its Raft group (a Raft message it
/// cannot persist is dropped unanswered, so nothing unpersisted is acknowledged). Every
/// <c>probe</c> ticks, doubling from <see cref="NoSpaceProbeTicksMin"/> to
/// <see cref="NoSpaceProbeTicksMax"/>, it writes a small probe file; once that succeeds the alarm
/// clears and writes resume without a restart. fsync errors never come here: they fail the log.
/// </summary>
public sealed partial class PartitionReplica
{
    /// <summary>First probe after the alarm (0.5 s at 50 ms ticks).</summary>
    public const int NoSpaceProbeTicksMin = 10;

    /// <summary>Longest wait between probes (5 s at 50 ms ticks): how late writes resume at most.</summary>
    public const int NoSpaceProbeTicksMax = 100;

    /// <summary>Free bytes a probe asks for: room for a few batches, not only for the next one.</summary>
    public const int NoSpaceProbeBytes = 64 * 1024;

    private int noSpaceProbeInTicks;
    private int noSpaceBackoffTicks;
    private bool noSpaceReported;

    /// <summary>True while the disk is full: writes are refused, reads are served.</summary>
    public bool NoSpaceAlarm { get; private set; }

    /// <summary>What the device said when the alarm was raised (null when off).</summary>
    public string? NoSpaceReason { get; private set; }

    private static bool IsFull(Exception e) => e is LogFullException or StorageFullException;

    private void RaiseNoSpace(Exception e)
    {
        if (NoSpaceAlarm) return; // the probe's timer runs on; failed writes do not reset it
        NoSpaceAlarm = true;
        NoSpaceReason = e.Message;
        noSpaceBackoffTicks = NoSpaceProbeTicksMin;
        noSpaceProbeInTicks = noSpaceBackoffTicks;
    }

    private void TickNoSpace()
    {
        if (!NoSpaceAlarm || --noSpaceProbeInTicks > 0) return;
        if (StorageSpace.Probe(device, NoSpaceProbeBytes))
        {
            NoSpaceAlarm = false;
            NoSpaceReason = null;
            return;
        }
        noSpaceBackoffTicks = Math.Min(2 * noSpaceBackoffTicks, NoSpaceProbeTicksMax);
        noSpaceProbeInTicks = noSpaceBackoffTicks;
    }

    private void ReportNoSpace(ReplicaOutput output)
    {
        if (NoSpaceAlarm == noSpaceReported) return;
        noSpaceReported = NoSpaceAlarm;
        output.NoSpaceAlarm = NoSpaceAlarm;
        output.NoSpaceReason = NoSpaceReason;
    }

    private AppendAck NoSpace(long ticket, ulong producer, ulong sequence) =>
        new(ticket, producer, sequence, AckStatus.NoSpace, Leader: Raft.Leader,
            Error: $"node {Raft.Id}, partition {Partition}: no space left on the device (NOSPACE alarm); " +
                   "writes resume by themselves once space returns, retry later");
}

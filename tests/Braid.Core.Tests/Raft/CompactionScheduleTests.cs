using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Simulation;

namespace Braid.Core.Tests.Raft;

/// <summary>Size-based retention: checkpoints of the state, compaction at the newest one allowed.</summary>
public sealed class CompactionScheduleTests
{
    private static RaftNode SingleNodeLeader(SimulatedDevice device)
    {
        var log = SegmentedLog.Open(device, new LogOptions { SegmentBytesMax = 1024 });
        var raft = new RaftNode("A", 1, ["A"], log, new HardStateStore(device), new SnapshotStore(device), new Random(1));
        for (int i = 0; i < 50 && raft.Role != RaftRole.Leader; i++)
        {
            raft.Tick();
            raft.TakeReady();
        }
        Assert.Equal(RaftRole.Leader, raft.Role);
        return raft;
    }

    /// <summary>Proposes <paramref name="count"/> entries; the "state" after index i is i itself.</summary>
    private static void Run(RaftNode raft, CompactionSchedule schedule, int count, Func<ulong, byte[]> state)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.True(raft.Propose(new byte[40]).Accepted);
            foreach (var e in raft.TakeReady().Committed)
            {
                schedule.OnApplied(e.Index, e.Data.Length, () => state(e.Index));
            }
            schedule.MaybeCompact(raft);
        }
    }

    [Fact]
    public void TheLogStaysNearTheRetainedSizeAndTheSnapshotIsTheStateAtItsIndex()
    {
        var device = new SimulatedDevice(1);
        var raft = SingleNodeLeader(device);
        var schedule = new CompactionSchedule(keepBytes: 2048, checkpointEveryBytes: 256);
        Run(raft, schedule, 400, index => BitConverter.GetBytes(index));

        Assert.True(raft.SnapshotIndex > 300, $"snapshot at {raft.SnapshotIndex}");
        Assert.InRange(raft.LogBytes, 2048, 2048 + 2 * 1024);
        var saved = new SnapshotStore(device).Load()!;
        Assert.Equal(raft.SnapshotIndex, saved.Index);
        Assert.Equal(saved.Index, BitConverter.ToUInt64(saved.Data.Span)); // the state exactly at the snapshot's index
        Assert.True(raft.FirstIndex <= raft.SnapshotIndex + 1);
    }

    [Fact]
    public void WithRetentionOffNothingIsCheckpointedOrCompacted()
    {
        var raft = SingleNodeLeader(new SimulatedDevice(2));
        var schedule = new CompactionSchedule(keepBytes: 0, checkpointEveryBytes: 1);
        Run(raft, schedule, 100, _ => throw new InvalidOperationException("no checkpoint expected"));
        Assert.Equal((0ul, 0), (raft.SnapshotIndex, schedule.CheckpointCount));
    }

    [Fact]
    public void AStateTooLargeForASnapshotKeepsTheLogInsteadOfFailing()
    {
        var raft = SingleNodeLeader(new SimulatedDevice(3));
        var schedule = new CompactionSchedule(keepBytes: 1024, checkpointEveryBytes: 2000);
        Run(raft, schedule, 200, _ => new byte[SnapshotStore.DataBytesMax + 1]);
        Assert.Equal(0ul, raft.SnapshotIndex);
        Assert.True(schedule.SkippedOversized > 0);
    }

    [Fact]
    public void RetentionByTimeCompactsWhatWasAppliedLongEnoughAgoAndKeepsTheRest()
    {
        var raft = SingleNodeLeader(new SimulatedDevice(3));
        var schedule = new CompactionSchedule(keepBytes: 0, checkpointEveryBytes: 256, keepTicks: 100);
        Run(raft, schedule, 200, index => BitConverter.GetBytes(index)); // at tick 0
        Assert.Equal(0ul, raft.SnapshotIndex); // young: nothing goes, however large the log
        var applied = raft.CommitIndex;
        for (var t = 0; t < 99; t++) schedule.Tick();
        Assert.Equal(0ul, schedule.MaybeCompact(raft)); // 99 ticks old: still kept
        schedule.Tick();
        var compacted = schedule.MaybeCompact(raft);
        Assert.True(compacted > applied - 10 && compacted <= applied, $"compacted at {compacted}, applied {applied}");
        // Newer entries are kept until they are old too.
        Run(raft, schedule, 100, index => BitConverter.GetBytes(index));
        Assert.Equal(compacted, raft.SnapshotIndex);
        for (var t = 0; t < 100; t++) schedule.Tick();
        Assert.True(schedule.MaybeCompact(raft) > compacted);
    }
}

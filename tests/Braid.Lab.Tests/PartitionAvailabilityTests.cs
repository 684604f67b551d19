using Braid.Lab.Report;

namespace Braid.Lab.Tests;

/// <summary>Unavailability per partition: with acks carrying partitions, a fault is judged by the
/// longest time one partition went without an acknowledgement, not by the gaps of the whole run
/// (which other partitions fill). The steady sample acknowledges every 0.1 s, round robin over the
/// partitions, so with 4 partitions each is acknowledged every 0.4 s.</summary>
public sealed class PartitionAvailabilityTests
{
    [Fact]
    public void APartitionThatStopsWhileOthersContinueIsStalled()
    {
        // Partition 3 is acknowledged at 21.9 s and then not until 25.9 s; the others go on.
        var run = SampleRuns.Steady(60, [new FaultWindow("kill", "n2", 20, 30)], partitions: 4, stalls: [(3, 22, 25.6)]);

        var analysis = LabAnalysis.Of(run);

        Assert.True(analysis.ByPartition);
        Assert.Equal([0, 1, 2, 3], analysis.Partitions);
        var fault = Assert.Single(analysis.Faults);
        Assert.Equal(3, fault.LongestStall.Partition);
        Assert.Equal(21.9, fault.LongestStall.StartSeconds, 6);
        Assert.Equal(25.9, fault.LongestStall.EndSeconds, 6);
        Assert.Equal(4.0, fault.LongestStall.Seconds, 6);
        Assert.Equal(1, fault.PartitionsStalled);
        // Across all partitions the longest gap is where partition 3's turn was skipped.
        Assert.Equal(0.2, fault.LongestGap.Seconds, 6);
        Assert.Equal(-1, fault.LongestGap.Partition);
        var kill = Assert.Single(analysis.Classes);
        Assert.Equal(4.0, kill.LongestStall.Seconds, 6);
        Assert.Equal(1, kill.PartitionsStalledMax);
        Assert.Equal(LabVerdict.Held, kill.Verdict);
        Assert.Equal("longest partition stall 4.0 s (partition 3); all recovered within 0.0 s", kill.Reason);
        Assert.Equal(3, analysis.LongestStall.Partition);
        Assert.Equal(0.2, analysis.LongestGap.Seconds, 6);
    }

    [Fact]
    public void APartitionsOrdinaryPacingIsNotAStall()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("pause", "n1", 20, 30)], partitions: 4);

        var analysis = LabAnalysis.Of(run);

        var fault = Assert.Single(analysis.Faults);
        Assert.Equal(0.4, fault.LongestStall.Seconds, 6);
        Assert.Equal(0, fault.PartitionsStalled);
        Assert.Equal(0.4, analysis.MedianPartitionIntervalSeconds!.Value, 6);
        Assert.Equal(0.4, analysis.SlowestPartitionIntervalSeconds!.Value, 6);
        Assert.Equal(LabVerdict.Held, analysis.Overall);
    }

    [Fact]
    public void APartitionStalledLongerThanFiveSecondsDegradesTheClassWhileOthersAreAcknowledged()
    {
        // Partition 1: 20.9 s to 28.1 s; partition 2: 21.8 s to 24.2 s.
        var run = SampleRuns.Steady(60, [new FaultWindow("partition", "n1 | n2,n3", 20, 30), new FaultWindow("pause", "n3", 40, 45)],
            partitions: 4, stalls: [(1, 21, 28), (2, 22, 24)]);

        var analysis = LabAnalysis.Of(run);

        var partition = analysis.Faults[0];
        Assert.Equal(1, partition.LongestStall.Partition);
        Assert.Equal(7.2, partition.LongestStall.Seconds, 6);
        Assert.Equal(2, partition.PartitionsStalled);
        Assert.True(partition.LongestGap.Seconds < 1);
        Assert.Equal(0, analysis.Faults[1].PartitionsStalled); // the stalls were over by 40 s
        var verdict = analysis.Classes.Single(c => c.Class == "partition");
        Assert.Equal(LabVerdict.Degraded, verdict.Verdict);
        Assert.Equal("partition 1 without acknowledgement for 7.2 s (> 5.0 s)", verdict.Reason);
        Assert.Equal(LabVerdict.Held, analysis.Classes.Single(c => c.Class == "pause").Verdict);
        Assert.Equal(LabVerdict.Degraded, analysis.Overall);
    }

    [Fact]
    public void APartitionNeverAcknowledgedAgainIsStalledUntilTheRunEnds()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("wipe", "n3", 45, 55)], partitions: 4, stalls: [(3, 50, 61)]);

        var analysis = LabAnalysis.Of(run);

        var fault = Assert.Single(analysis.Faults);
        Assert.Equal(49.9, fault.LongestStall.StartSeconds, 6);
        Assert.Equal(60.0, fault.LongestStall.EndSeconds, 6);
        Assert.Equal(LabVerdict.Degraded, analysis.Classes[0].Verdict);
    }

    [Fact]
    public void WithoutPartitionsTheStallIsTheGapAcrossAllAcknowledgements()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("kill", "n2", 20, 30)], outages: [(21, 28.9)]);

        var analysis = LabAnalysis.Of(run);

        Assert.False(analysis.ByPartition);
        Assert.Empty(analysis.Partitions);
        Assert.Null(analysis.MedianPartitionIntervalSeconds);
        var fault = Assert.Single(analysis.Faults);
        Assert.Equal(fault.LongestGap, fault.LongestStall);
        Assert.Equal(-1, fault.LongestStall.Partition);
        Assert.Equal(8.0, fault.LongestStall.Seconds, 6);
        Assert.Null(fault.PartitionsStalled);
        Assert.Null(analysis.Classes[0].PartitionsStalledMax);
        Assert.Equal(analysis.LongestGap, analysis.LongestStall);
    }

    [Fact]
    public void TheMaxLatencyOfAFaultIsOverTheAcksCompletingInItsWindow()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("kill", "n2", 20, 30), new FaultWindow("pause", "n1", 40, 41)],
            partitions: 4, stalls: [(3, 22, 25.6)]);
        run = run with
        {
            Acks = run.Acks.Select(a => Math.Abs(a.AtSeconds - 25.9) < 1e-9 ? a with { LatencyMs = 4000 }
                : Math.Abs(a.AtSeconds - 31) < 1e-9 ? a with { LatencyMs = 9000 } : a).ToList(),
        };

        var analysis = LabAnalysis.Of(run);

        Assert.Equal(4000, analysis.Faults[0].MaxLatencyMs);
        Assert.Equal(5, analysis.Faults[1].MaxLatencyMs);
    }

    [Fact]
    public void AnInstantFaultWithoutAnAckAtItsMomentHasNoMaxLatency()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("bitflip", "n2", 30.05, 30.05)]);

        Assert.Null(Assert.Single(LabAnalysis.Of(run).Faults).MaxLatencyMs);
    }

    [Fact]
    public void ARunThatAcknowledgedNothingFails()
    {
        foreach (var faults in new[] { Array.Empty<FaultWindow>(), [new FaultWindow("kill", "n1", 10, 15)] })
        {
            var run = SampleRuns.Run("silent", 30, [], faults);

            var report = LabReport.Build(run);

            Assert.Equal(LabVerdict.Failed, report.Analysis.Overall);
            Assert.Equal("nothing was acknowledged", report.Analysis.RunFailure);
            Assert.Contains("**Verdict: failed**. Nothing was acknowledged.", report.Markdown, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AnEmptyRunOfNoTimeIsNotAFailure()
    {
        var analysis = LabAnalysis.Of(SampleRuns.Run("empty", 0, [], []));

        Assert.Null(analysis.RunFailure);
        Assert.Equal(LabVerdict.Held, analysis.Overall);
    }

    [Fact]
    public void TheReportShowsPartitionStallsAndTheGapWithNoAcknowledgementAtAll()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("kill", "n2", 20, 30)], partitions: 4, stalls: [(3, 22, 25.6)]);
        run = run with { Acks = run.Acks.Select(a => Math.Abs(a.AtSeconds - 25.9) < 1e-9 ? a with { LatencyMs = 4000 } : a).ToList() };

        var markdown = LabReport.Build(run).Markdown;

        Assert.Contains("| Longest partition stall | Partitions stalled > 1 s (max) |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 4.0 s (p3) | 1 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| Longest partition stall (s) | Partitions stalled > 1 s | Max ack latency (ms) |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 4.0 (p3) | 1 | 4000.0 |", markdown, StringComparison.Ordinal);
        Assert.Contains("Longest partition stall: 4.0 s, partition 3, from 21.9 s to 25.9 s (during kill n2).", markdown, StringComparison.Ordinal);
        Assert.Contains("Longest time with no acknowledgement at all: 0.2 s", markdown, StringComparison.Ordinal);
        Assert.Contains("4 partitions", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutPartitionsTheReportKeepsItsUnavailabilityColumns()
    {
        var markdown = LabReport.Build(SampleRuns.Steady(60, [new FaultWindow("kill", "n2", 20, 30)])).Markdown;

        Assert.Contains("| Longest unavailability |", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("Partitions stalled", markdown, StringComparison.Ordinal);
        Assert.Contains("| Longest gap (s) | Max ack latency (ms) |", markdown, StringComparison.Ordinal);
        Assert.Contains("carry no partition", markdown, StringComparison.Ordinal);
    }
}

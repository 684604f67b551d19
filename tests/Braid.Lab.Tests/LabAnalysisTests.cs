using Braid.Lab.Report;

namespace Braid.Lab.Tests;

/// <summary>Unavailability, recovery and verdicts on synthetic runs: a steady 100 records/s
/// producer (an ack of 10 records every 0.1 s) with outages planted around the faults.</summary>
public sealed class LabAnalysisTests
{
    [Fact]
    public void AFaultWithoutAGapHolds()
    {
        var analysis = LabAnalysis.Of(SampleRuns.Steady(60, [new FaultWindow("pause", "n1", 20, 30)]));

        var fault = Assert.Single(analysis.Faults);
        Assert.Equal(0.1, fault.LongestGap.Seconds, 6);
        Assert.Equal(0, fault.RecoverySeconds);
        Assert.Equal(1010, fault.RecordsAcked); // acks at 20.0, 20.1, ... 30.0
        var verdict = Assert.Single(analysis.Classes);
        Assert.Equal(LabVerdict.Held, verdict.Verdict);
        Assert.Equal(100, analysis.BaselineRecordsPerSecond);
    }

    [Fact]
    public void AnEightSecondGapDuringAFaultDegradesItsClass()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("kill", "n2", 20, 30)], outages: [(21, 28.9)]);

        var analysis = LabAnalysis.Of(run);

        var fault = Assert.Single(analysis.Faults);
        Assert.Equal(20.9, fault.LongestGap.StartSeconds, 6);
        Assert.Equal(28.9, fault.LongestGap.EndSeconds, 6);
        var kill = Assert.Single(analysis.Classes);
        Assert.Equal(LabVerdict.Degraded, kill.Verdict);
        Assert.Equal("no acknowledgement for 8.0 s (> 5.0 s)", kill.Reason);
        Assert.Equal(LabVerdict.Degraded, analysis.Overall);
    }

    [Fact]
    public void AGapJustUnderTheThresholdHolds()
    {
        // Acks at 20.9 and then 25.8: 4.9 s is within DegradedGapSeconds.
        var run = SampleRuns.Steady(60, [new FaultWindow("kill", "n2", 20, 30)], outages: [(21, 25.8)]);
        Assert.Equal(LabVerdict.Held, LabAnalysis.Of(run).Classes[0].Verdict);
    }

    [Fact]
    public void RecoveryIsTheTimeFromTheWindowsEndUntilThroughputIsBack()
    {
        // Nothing acknowledged from 25 to 33 s, the window ends at 30: the first full second holding
        // half the baseline (50 records) starts at the first ack after the outage, 33.0 s.
        var run = SampleRuns.Steady(60, [new FaultWindow("partition", "n1 | n2,n3", 20, 30)], outages: [(25, 33)]);

        var fault = Assert.Single(LabAnalysis.Of(run).Faults);

        Assert.Equal(3.0, fault.RecoverySeconds!.Value, 6);
        Assert.Equal(24.9, fault.LongestGap.StartSeconds, 6);
        Assert.Equal(33.0, fault.LongestGap.EndSeconds, 6);
    }

    [Fact]
    public void RecoveryNeedsHalfTheBaselineNotASingleAck()
    {
        // After the window a trickle (one ack of 10 records per second) until 40 s, then full rate.
        var acks = new List<AckSample>();
        for (var i = 1; i <= 600; i++)
        {
            var at = Math.Round(i * 0.1, 6);
            var trickle = at > 30 && at < 40;
            if ((at >= 20 && at <= 30) || (trickle && i % 10 != 0)) continue;
            acks.Add(new AckSample(at, 5, 10));
        }
        var run = SampleRuns.Run("trickle", 60, acks, [new FaultWindow("majority", "n1,n2", 20, 30)]);

        var fault = Assert.Single(LabAnalysis.Of(run).Faults);

        // Every window starting at a trickle ack (31.0 .. 39.0 s) holds 10 records, under half the
        // baseline of 100 records/s; the one starting at 40.0 s holds 100.
        Assert.Equal(10.0, fault.RecoverySeconds!.Value, 6);
    }

    [Fact]
    public void AFaultAfterWhichNothingIsAcknowledgedDoesNotRecover()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("wipe", "n3", 20, 30)], outages: [(20, 61)]);

        var analysis = LabAnalysis.Of(run);

        var fault = Assert.Single(analysis.Faults);
        Assert.Null(fault.RecoverySeconds);
        Assert.True(fault.NotRecovered);
        Assert.Equal(40.1, fault.LongestGap.Seconds, 6); // from the ack at 19.9 to the run's end
        var wipe = Assert.Single(analysis.Classes);
        Assert.Equal(LabVerdict.Degraded, wipe.Verdict);
        Assert.Contains("1 of 1 faults not recovered", wipe.Reason, StringComparison.Ordinal);
        Assert.Contains("| not recovered |", LabReport.Build(run).Markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void AFaultThatEndsWithTheRunIsNotCountedAsNotRecovered()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("pause", "n1", 50, 59.5)]);

        var fault = Assert.Single(LabAnalysis.Of(run).Faults);

        Assert.False(fault.RecoveryObserved);
        Assert.False(fault.NotRecovered);
        Assert.Equal(LabVerdict.Held, LabAnalysis.Of(run).Classes[0].Verdict);
        Assert.Contains("| run ended |", LabReport.Build(run).Markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void AProblemFailsTheClassWithTheProblemAsReason()
    {
        var run = SampleRuns.Steady(60, [
            new FaultWindow("kill", "n2", 10, 15, "would not restart:\nport 7000 in use"),
            new FaultWindow("pause", "n1", 30, 35),
        ]);

        var analysis = LabAnalysis.Of(run);

        Assert.Equal(LabVerdict.Failed, analysis.Classes.Single(c => c.Class == "kill").Verdict);
        Assert.Equal("n2: would not restart: port 7000 in use", analysis.Classes.Single(c => c.Class == "kill").Reason);
        Assert.Equal(LabVerdict.Held, analysis.Classes.Single(c => c.Class == "pause").Verdict);
        Assert.Equal(LabVerdict.Failed, analysis.Overall);
    }

    [Fact]
    public void ACheckerViolationFailsEveryClass()
    {
        var check = new CheckResult(["lost: partition 0 (1,2) was acknowledged at 10 but is not stored as sent"], 1, 0, 0, 3);
        var run = SampleRuns.Steady(60, [new FaultWindow("kill", "n2", 10, 15), new FaultWindow("slow", "n1-n2", 30, 35)], check: check);

        var analysis = LabAnalysis.Of(run);

        Assert.All(analysis.Classes, c =>
        {
            Assert.Equal(LabVerdict.Failed, c.Verdict);
            Assert.Equal("checker: 1 violation (1 lost)", c.Reason);
        });
        Assert.Equal(LabVerdict.Failed, analysis.Overall);
    }

    [Fact]
    public void RecordsDuringAClassCountOverlappingWindowsOnce()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("slow", "a", 10, 20), new FaultWindow("slow", "b", 15, 25)]);

        var slow = Assert.Single(LabAnalysis.Of(run).Classes);

        Assert.Equal(2, slow.Faults);
        Assert.Equal(151 * 10, slow.RecordsAcked); // acks at 10.0, 10.1, ... 25.0
    }

    [Fact]
    public void AnInstantFaultMeetsTheGapThatHoldsIt()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("bitflip", "n2", 30.05, 30.05)], outages: [(30, 32)]);

        var fault = Assert.Single(LabAnalysis.Of(run).Faults);

        Assert.Equal(29.9, fault.LongestGap.StartSeconds, 6);
        Assert.Equal(32.0, fault.LongestGap.EndSeconds, 6);
    }

    [Fact]
    public void TheLongestGapAndLatencyCoverTheWholeRun()
    {
        var run = SampleRuns.Steady(60, [], outages: [(40, 47)]);

        var analysis = LabAnalysis.Of(run);

        Assert.Equal(39.9, analysis.LongestGap.StartSeconds, 6);
        Assert.Equal(47.0, analysis.LongestGap.EndSeconds, 6);
        Assert.Equal(5, analysis.Latency!.P99Ms);
        Assert.Empty(analysis.Classes);
        Assert.Equal(LabVerdict.Held, analysis.Overall);
    }

    [Fact]
    public void AnEmptyRunHasNoBinsGapsOfZeroAndNoLatency()
    {
        var run = SampleRuns.Run("empty", 0, [], []);

        var analysis = LabAnalysis.Of(run);

        Assert.Empty(analysis.Bins);
        Assert.Equal(0, analysis.LongestGap.Seconds);
        Assert.Null(analysis.Latency);
        Assert.Equal(1, analysis.RecoveryThresholdRecords);
    }
}

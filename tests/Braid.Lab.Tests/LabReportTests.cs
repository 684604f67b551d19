using Braid.Lab.Report;

namespace Braid.Lab.Tests;

/// <summary>The Markdown report: its sections, the tables' rows, the checker's violations capped,
/// and the charts it refers to.</summary>
public sealed class LabReportTests
{
    [Fact]
    public void TheReportRefersToEveryChartItReturns()
    {
        var report = LabReport.Build(SampleRuns.Realistic());

        foreach (var chart in report.Charts)
            Assert.Contains($"]({chart.FileName})", report.Markdown, StringComparison.Ordinal);
        Assert.Equal(report.Charts.Count, report.Charts.Select(c => c.FileName).Distinct().Count());
    }

    [Fact]
    public void TheReportHasItsSectionsInOrder()
    {
        var markdown = LabReport.Build(SampleRuns.Realistic()).Markdown;

        string[] headings = ["# braid chaos", "## Settings", "## Checker", "## Counts", "## Fault classes", "## Charts",
            "## Faults", "## Availability", "## Graph notes", "## Notes"];
        var positions = headings.Select(h => markdown.IndexOf("\n" + h, StringComparison.Ordinal)).ToList();
        Assert.StartsWith(headings[0], markdown, StringComparison.Ordinal);
        Assert.All(positions.Skip(1), p => Assert.True(p > 0));
        Assert.Equal(positions.Skip(1).Order(), positions.Skip(1));
        Assert.Contains("- n1 is a cut vertex", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSummaryHasARowPerClassWithItsVerdict()
    {
        var markdown = LabReport.Build(SampleRuns.Realistic()).Markdown;

        Assert.StartsWith("**Verdict: failed**", markdown.Split('\n')[2], StringComparison.Ordinal);
        Assert.Contains("| partition | 1 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| degraded | no acknowledgement for 12.5 s (\\> 5.0 s) |", markdown, StringComparison.Ordinal);
        Assert.Contains("| failed | n4 would not restart: No space left on device (exit 134) |", markdown, StringComparison.Ordinal);
        Assert.Contains("¹ Run-wide", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void ViolationsAreListedUpToTheCap()
    {
        var violations = Enumerable.Range(1, 30).Select(i => $"lost: partition 0 (1,{i}) was acknowledged").ToList();
        var run = SampleRuns.Steady(30, [new FaultWindow("kill", "n1", 10, 12)], check: new CheckResult(violations, 30, 0, 0, 0));

        var markdown = LabReport.Build(run).Markdown;

        Assert.Contains("**Verdict: failed**. The checker found 30 violations (lost 30, duplicated 0, phantom 0)", markdown, StringComparison.Ordinal);
        Assert.Contains("- lost: partition 0 (1,20) was acknowledged", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("(1,21)", markdown, StringComparison.Ordinal);
        Assert.Contains("… and 10 more.", markdown, StringComparison.Ordinal);
        Assert.Contains("| failed | checker: 30 violations (30 lost) |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void TheLongestTimeWithoutAnAcknowledgementNamesTheFaultsThen()
    {
        var run = SampleRuns.Steady(60, [new FaultWindow("kill", "n2", 20, 30)], outages: [(21, 28.9)]);

        var markdown = LabReport.Build(run).Markdown;

        Assert.Contains("Longest time without an acknowledgement: 8.0 s, from 20.9 s to 28.9 s (during kill n2).", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void ALongRunListsEveryFault()
    {
        var report = LabReport.Build(SampleRuns.Long());

        Assert.Contains("| 220 | ", report.Markdown, StringComparison.Ordinal);
        Assert.Equal(220, report.Analysis.Faults.Count);
    }
}

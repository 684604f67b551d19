using System.Globalization;

namespace Braid.Lab.Report;

/// <summary>One chart of the report: the file name the Markdown refers to (relative, e.g.
/// "throughput.svg") and the SVG text to write there.</summary>
public sealed record ReportChart(string FileName, string Svg);

/// <summary>The report of a lab run: report.md's text, the charts it refers to, and the analysis
/// behind both (for the caller's summary line and exit code).</summary>
public sealed record LabReportFiles(string Markdown, IReadOnlyList<ReportChart> Charts, LabAnalysis Analysis);

/// <summary>
/// Writes the fault lab's report (issue 10, item 4) from a <see cref="LabRun"/>: verdict, settings,
/// counts, a summary per fault class, every fault, availability, the topology's known weaknesses
/// and notes, with throughput, latency and recovery charts. Pure: the caller writes the files.
/// </summary>
public static partial class LabReport
{
    /// <summary>Checker violations listed in the report; the rest are counted (the checker itself
    /// keeps at most 50).</summary>
    public const int ViolationsListedMax = 20;

    public static LabReportFiles Build(LabRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var analysis = LabAnalysis.Of(run);
        var charts = Charts(run, analysis);
        var md = new Markdown();
        md.Heading(1, run.Title);
        md.Paragraph(VerdictLine(run, analysis));
        md.Heading(2, "Settings");
        if (run.Settings.Count == 0) md.Paragraph("None.");
        else md.Table(["Setting", "Value"], run.Settings.Select(Pair));
        Checker(md, run.Check);
        md.Heading(2, "Counts");
        if (run.Counts.Count == 0) md.Paragraph("None.");
        else md.Table(["Operation", "Count"], run.Counts.Select(Pair), new HashSet<int> { 1 });
        FaultClasses(md, run.Check, analysis);
        md.Heading(2, "Charts");
        foreach (var chart in charts)
            md.Paragraph($"![{Markdown.Escape(ChartCaption(chart.FileName))}]({chart.FileName})");
        Faults(md, analysis);
        Availability(md, analysis);
        md.Heading(2, "Graph notes");
        if (run.GraphNotes.Count == 0) md.Paragraph("None.");
        else md.Bullets(run.GraphNotes);
        md.Heading(2, "Notes");
        if (run.Notes.Count == 0) md.Paragraph("None.");
        else md.Bullets(run.Notes);
        return new LabReportFiles(md.ToString(), charts, analysis);
    }

    private static string VerdictLine(LabRun run, LabAnalysis analysis)
    {
        var checker = run.Check.Ok
            ? $"the checker found no violation ({run.Check.QueriesChecked} queries checked)"
            : $"the checker found {Plural(run.Check.Violations.Count, "violation")} (lost {run.Check.Lost}, " +
              $"duplicated {run.Check.Duplicated}, phantom {run.Check.Phantom})";
        var classes = analysis.Classes.Count == 0
            ? "No faults were injected."
            : string.Join(" ", analysis.Classes.GroupBy(c => c.Verdict).OrderByDescending(g => g.Key)
                .Select(g => $"{Capital(VerdictName(g.Key))}: {string.Join(", ", g.Select(c => Markdown.Escape(c.Class)))}."));
        var failure = analysis.RunFailure is { } runFailure ? $"{Capital(Markdown.Escape(runFailure))}. " : "";
        return $"**Verdict: {VerdictName(analysis.Overall)}**. {failure}{Capital(checker)}. {classes}";
    }

    private static void Checker(Markdown md, CheckResult check)
    {
        md.Heading(2, "Checker");
        var counts = $"lost {check.Lost}, duplicated {check.Duplicated}, phantom {check.Phantom}; " +
            $"{check.QueriesChecked} queries checked";
        if (check.Ok)
        {
            md.Paragraph($"OK: every acknowledged batch stored exactly once and in order, no phantom, every query " +
                $"consistent with its snapshot ({counts}).");
            return;
        }
        md.Paragraph($"{Plural(check.Violations.Count, "violation")} ({counts}):");
        md.Bullets(check.Violations.Take(ViolationsListedMax));
        if (check.Violations.Count > ViolationsListedMax)
            md.Paragraph($"… and {check.Violations.Count - ViolationsListedMax} more.");
    }

    private static void FaultClasses(Markdown md, CheckResult check, LabAnalysis analysis)
    {
        md.Heading(2, "Fault classes");
        if (analysis.Classes.Count == 0)
        {
            md.Paragraph("No faults were injected.");
            return;
        }
        var byPartition = analysis.ByPartition;
        md.Table(
            [
                "Class", "Faults", "Records acked during", "Lost¹", "Duplicated¹",
                .. byPartition ? (string[])["Longest partition stall", $"Partitions stalled > {LabAnalysis.StallSeconds:0} s (max)"]
                    : ["Longest unavailability"],
                "Median recovery", "Verdict", "Reason",
            ],
            analysis.Classes.Select(c => (IReadOnlyList<string>)[
                Markdown.Escape(c.Class), Count(c.Faults), Count(c.RecordsAcked), Count(check.Lost), Count(check.Duplicated),
                .. byPartition ? (string[])[Stall(c.LongestStall, " s"), c.PartitionsStalledMax is { } n ? Count(n) : "–"]
                    : [LabAnalysis.Seconds(c.LongestGap.Seconds)],
                MedianRecovery(c), VerdictName(c.Verdict), Markdown.Escape(c.Reason)]),
            byPartition ? new HashSet<int> { 1, 2, 3, 4, 5, 6, 7 } : new HashSet<int> { 1, 2, 3, 4, 5, 6 });
        md.Paragraph("¹ Run-wide: the checker proves loss and duplication over the whole history and cannot tell which " +
            "fault caused them, so every class shows the run's totals.");
        var unavailability = byPartition
            ? "*Longest partition stall*: the longest time one partition went without an acknowledgement (from one of " +
              "its acknowledgements to the next) that overlaps a window of the class; the run's end counts as a bound, " +
              "so a partition never acknowledged again is stalled until the run ends, and so does its start (every " +
              "partition is unavailable until its first acknowledgement; that gap meets no fault unless one starts " +
              "at once). Only partitions acknowledged at least once are seen. " +
              $"*Partitions stalled > {LabAnalysis.StallSeconds:0} s*: how many partitions had a gap longer than " +
              $"{LabAnalysis.StallSeconds:0} s overlapping one fault's window, the most for one fault of the class; " +
              "the producers offer each partition a batch every 0.2 to 1 s, so shorter gaps are their own pacing, " +
              "not a stall (see Availability for this run's pacing). "
            : "*Longest unavailability*: the longest gap between consecutive acknowledgements (the run's start and end " +
              "count as bounds) that overlaps a window of the class. ";
        md.Paragraph(
            unavailability +
            $"*Recovery* of a fault: the time from its window's end to the start of the first {LabAnalysis.BinSeconds:0} s " +
            "window (starting at the end or at an acknowledgement after it) that holds at least " +
            $"{LabAnalysis.RecoveryThroughputFraction * 100:0}% of the baseline: the median records per whole second " +
            "outside all fault windows (at least one record); *not recovered* if no such window came before the run " +
            $"ended. *Failed*: the checker found a violation (all classes) or a fault of the class had a problem. " +
            $"*Degraded*: {(byPartition ? "a partition" : "the cluster")} unavailable for more than " +
            $"{LabAnalysis.DegradedGapSeconds:0} s, or a fault not recovered. *Held*: otherwise.");
    }

    private static void Faults(Markdown md, LabAnalysis analysis)
    {
        md.Heading(2, "Faults");
        if (analysis.Faults.Count == 0)
        {
            md.Paragraph("None.");
            return;
        }
        var byPartition = analysis.ByPartition;
        md.Table(
            [
                "#", "Start (s)", "Class", "Target", "Duration (s)", "Records acked during",
                .. byPartition ? (string[])["Longest partition stall (s)", $"Partitions stalled > {LabAnalysis.StallSeconds:0} s"]
                    : ["Longest gap (s)"],
                "Max ack latency (ms)", "Recovery (s)", "Problem",
            ],
            analysis.Faults.Select((f, i) => (IReadOnlyList<string>)[
                Count(i + 1), Decimal(f.Fault.StartSeconds), Markdown.Escape(f.Fault.Class), Markdown.Escape(f.Fault.Target),
                Decimal(f.Fault.EndSeconds - f.Fault.StartSeconds), Count(f.RecordsAcked),
                .. byPartition ? (string[])[Stall(f.LongestStall, ""), f.PartitionsStalled is { } n ? Count(n) : "–"]
                    : [Decimal(f.LongestGap.Seconds)],
                f.MaxLatencyMs is { } ms ? Decimal(ms) : "–", Recovery(f), Markdown.Escape(f.Fault.Problem ?? "")]),
            byPartition ? new HashSet<int> { 0, 1, 4, 5, 6, 7, 8, 9 } : new HashSet<int> { 0, 1, 4, 5, 6, 7, 8 });
        md.Paragraph("*Max ack latency*: the highest latency of the acknowledgements completed within the window " +
            "(– if none was).");
    }

    private static void Availability(Markdown md, LabAnalysis analysis)
    {
        md.Heading(2, "Availability");
        if (analysis.Latency is { } latency)
            md.Table(["Ack latency", "p50", "p90", "p99", "max"],
                [["ms", Decimal(latency.P50Ms), Decimal(latency.P90Ms), Decimal(latency.P99Ms), Decimal(latency.MaxMs)]],
                new HashSet<int> { 1, 2, 3, 4 });
        else md.Paragraph("No append was acknowledged.");
        var gap = analysis.LongestGap;
        if (analysis.ByPartition)
        {
            var stall = analysis.LongestStall;
            md.Paragraph($"Longest partition stall: {LabAnalysis.Seconds(stall.Seconds)}, partition {stall.Partition}, from " +
                $"{LabAnalysis.Seconds(stall.StartSeconds)} to {LabAnalysis.Seconds(stall.EndSeconds)} ({During(analysis, stall)}).");
            md.Paragraph($"Longest time with no acknowledgement at all: {LabAnalysis.Seconds(gap.Seconds)}, from " +
                $"{LabAnalysis.Seconds(gap.StartSeconds)} to {LabAnalysis.Seconds(gap.EndSeconds)} ({During(analysis, gap)}).");
            var pacing = analysis.MedianPartitionIntervalSeconds is { } median
                ? $"; a partition's median time between acknowledgements was {LabAnalysis.Seconds(median)} " +
                  $"(slowest partition: {LabAnalysis.Seconds(analysis.SlowestPartitionIntervalSeconds!.Value)})"
                : "";
            md.Paragraph($"Acknowledgements came from {Plural(analysis.Partitions.Count, "partition")}{pacing}. A partition " +
                $"counts as stalled when it went more than {LabAnalysis.Seconds(LabAnalysis.StallSeconds)} without one; " +
                "gaps up to its ordinary pacing are not stalls.");
        }
        else
        {
            md.Paragraph($"Longest time without an acknowledgement: {LabAnalysis.Seconds(gap.Seconds)}, from " +
                $"{LabAnalysis.Seconds(gap.StartSeconds)} to {LabAnalysis.Seconds(gap.EndSeconds)} ({During(analysis, gap)}).");
            if (analysis.Latency is not null)
                md.Paragraph("Acknowledgements carry no partition: unavailability is measured across all of them.");
        }
        var baseline = analysis.BaselineSeconds == 0 ? "no whole second to measure it in"
            : analysis.BaselineOutsideFaults ? $"median of the {analysis.BaselineSeconds} seconds outside all fault windows"
            : $"median of all {analysis.BaselineSeconds} seconds: every second overlapped a fault";
        md.Paragraph($"Baseline throughput: {Decimal(analysis.BaselineRecordsPerSecond)} records/s ({baseline}); " +
            $"recovery needs {Decimal(analysis.RecoveryThresholdRecords)} records within {LabAnalysis.BinSeconds:0} s.");
    }

    /// <summary>The faults whose windows the gap overlaps, up to five named.</summary>
    private static string During(LabAnalysis analysis, AckGap gap)
    {
        var during = analysis.Faults
            .Where(f => gap.StartSeconds < f.Fault.EndSeconds && gap.EndSeconds > f.Fault.StartSeconds)
            .Select(f => $"{f.Fault.Class} {f.Fault.Target}").Distinct().ToList();
        var more = during.Count > 5 ? $" and {during.Count - 5} more" : "";
        return during.Count == 0 ? "no fault active" : "during " + Markdown.Escape(string.Join(", ", during.Take(5)) + more);
    }

    /// <summary>A stall's seconds and its partition, e.g. "4.0 s (p3)".</summary>
    private static string Stall(AckGap stall, string unit) =>
        Decimal(stall.Seconds) + unit + (stall.Partition >= 0 ? $" (p{stall.Partition})" : "");

    private static IReadOnlyList<string> Pair(KeyValuePair<string, string> pair) =>
        [Markdown.Escape(pair.Key), Markdown.Escape(pair.Value)];

    private static string MedianRecovery(ClassOutcome c)
    {
        if (c.MedianRecoverySeconds is not { } median) return c.NotRecovered > 0 ? "not recovered" : "–";
        var text = LabAnalysis.Seconds(median);
        return c.NotRecovered > 0 ? $"{text} ({c.NotRecovered} not recovered)" : text;
    }

    private static string Recovery(FaultOutcome f) =>
        f.RecoverySeconds is { } seconds ? Decimal(seconds) : f.RecoveryObserved ? "not recovered" : "run ended";

    internal static string VerdictName(LabVerdict verdict) => verdict switch
    {
        LabVerdict.Held => "held",
        LabVerdict.Degraded => "degraded",
        _ => "failed",
    };

    private static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static string Plural(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";

    private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Decimal(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);
}

using System.Globalization;

namespace Braid.Lab.Report;

public static partial class LabReport
{
    /// <summary>A band's label is cut to this many characters of target, so a long target list
    /// does not push the labels of its neighbours into further rows.</summary>
    private const int BandTargetCharsMax = 24;

    private const string ThroughputColour = "#1f4e9a";
    private const string P50Colour = "#1f4e9a";
    private const string P99Colour = "#111111";

    /// <summary>The report's charts, in the order the Markdown shows them: throughput and latency
    /// over time with the fault windows shaded, and (when there were faults) recovery per class.</summary>
    private static List<ReportChart> Charts(LabRun run, LabAnalysis analysis)
    {
        var bands = analysis.Faults
            .Select(f => new ChartBand(f.Fault.Class, BandLabel(f.Fault), f.Fault.StartSeconds, f.Fault.EndSeconds)).ToList();
        var xMax = Math.Max(analysis.RunEndSeconds, analysis.Bins.Count * LabAnalysis.BinSeconds);
        double Middle(int bin) => (bin + 0.5) * LabAnalysis.BinSeconds;
        var throughput = new TimeSeriesChart(
            $"Throughput: records acknowledged per {LabAnalysis.BinSeconds:0} s",
            "records/s",
            ChartUnit.Count,
            xMax,
            [new ChartSeries("records acknowledged/s", ThroughputColour,
                analysis.Bins.Select((b, k) => new ChartPoint(Middle(k), b.Records / LabAnalysis.BinSeconds)).ToList(),
                Filled: true)],
            bands)
        {
            ReferenceLines = analysis.Bins.Count == 0 ? [] :
                [new ChartReferenceLine(analysis.RecoveryThresholdRecords / LabAnalysis.BinSeconds,
                    $"recovery threshold ({LabAnalysis.RecoveryThroughputFraction * 100:0}% of baseline)")],
        };
        var latency = new TimeSeriesChart(
            $"Acknowledgement latency per {LabAnalysis.BinSeconds:0} s (log scale)",
            "latency",
            ChartUnit.Milliseconds,
            xMax,
            [
                new ChartSeries("p50", P50Colour, analysis.Bins.Select((b, k) => new ChartPoint(Middle(k), b.P50Ms)).ToList()),
                new ChartSeries("p99", P99Colour, analysis.Bins.Select((b, k) => new ChartPoint(Middle(k), b.P99Ms)).ToList()),
            ],
            bands)
        { Scale = ChartScale.Log };
        var charts = new List<ReportChart>
        {
            new("throughput.svg", SvgChart.TimeSeries(throughput)),
            new("latency.svg", SvgChart.TimeSeries(latency)),
        };
        if (analysis.Classes.Count > 0) charts.Add(new ReportChart("recovery.svg", SvgChart.Bars(RecoveryChart(analysis))));
        return charts;
    }

    private static BarChart RecoveryChart(LabAnalysis analysis) => new(
        "Recovery time per fault class (median; whisker: min–max)",
        "seconds from the fault's end until throughput is back",
        ChartUnit.Seconds,
        analysis.Classes.Select(c => new ChartBar(c.Class, SvgChart.ClassColour(c.Class), c.MedianRecoverySeconds,
            c.MinRecoverySeconds, c.MaxRecoverySeconds, RecoveryNote(c))).ToList());

    private static string RecoveryNote(ClassOutcome c)
    {
        var parts = new List<string>();
        if (c.MinRecoverySeconds is { } min && c.MaxRecoverySeconds is { } max && max > min)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"range {min:0.0}–{max:0.0} s"));
        parts.Add(c.NotRecovered > 0 ? $"{c.NotRecovered} of {c.Faults} not recovered"
            : c.Faults == 1 ? "1 fault" : $"{c.Faults} faults");
        return "(" + string.Join(", ", parts) + ")";
    }

    /// <summary>Class and target; a fault with a problem says so, as the chart is where one looks first.</summary>
    private static string BandLabel(FaultWindow fault)
    {
        var target = fault.Target.Length <= BandTargetCharsMax ? fault.Target : fault.Target[..(BandTargetCharsMax - 1)] + "…";
        var label = target.Length == 0 ? fault.Class : $"{fault.Class} {target}";
        return fault.Problem is null ? label : label + " (problem)";
    }

    private static string ChartCaption(string fileName) => fileName switch
    {
        "throughput.svg" => "Throughput per second with fault windows",
        "latency.svg" => "Acknowledgement latency p50 and p99 per second with fault windows",
        _ => "Recovery time per fault class",
    };
}

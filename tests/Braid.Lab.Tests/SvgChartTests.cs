using System.Globalization;
using System.Xml.Linq;
using Braid.Lab.Report;

namespace Braid.Lab.Tests;

/// <summary>The SVG charts are well-formed XML, shade one band per fault, escape their text, stay
/// legible for hundreds of faults and do not depend on the current culture.</summary>
public sealed class SvgChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static XDocument Parse(string svg) => XDocument.Parse(svg);

    private static List<XElement> Bands(XDocument svg) =>
        svg.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == "band").ToList();

    private static List<string> Texts(XDocument svg) => svg.Descendants(Svg + "text").Select(t => t.Value).ToList();

    private static TimeSeriesChart Chart(IReadOnlyList<ChartPoint> points, IReadOnlyList<ChartBand>? bands = null, double xMax = 60) =>
        new("Throughput", "records/s", ChartUnit.Count, xMax, [new ChartSeries("records/s", "#1f4e9a", points, Filled: true)], bands ?? []);

    [Fact]
    public void TheRealisticRunsChartsAreWellFormedWithOneBandPerFault()
    {
        var run = SampleRuns.Realistic();
        var report = LabReport.Build(run);

        Assert.Equal(["throughput.svg", "latency.svg", "recovery.svg"], report.Charts.Select(c => c.FileName));
        foreach (var chart in report.Charts.Take(2))
        {
            var svg = Parse(chart.Svg);
            var bands = Bands(svg);
            Assert.Equal(run.Faults.Count, bands.Count);
            Assert.Equal(run.Faults.Select(f => f.Class), bands.Select(b => (string?)b.Attribute("data-class")));
            // Few faults: each band is labelled with its class and target.
            var labels = svg.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "band-label").Select(t => t.Value);
            Assert.Equal(run.Faults.Select(f => $"{f.Class} {f.Target}{(f.Problem is null ? "" : " (problem)")}"), labels);
        }
        var recovery = Parse(report.Charts[2].Svg);
        Assert.Equal(run.Faults.Select(f => f.Class).Distinct().Count(), Texts(recovery).Count(t => run.Faults.Any(f => f.Class == t)));
    }

    [Fact]
    public void HundredsOfFaultsAreToldApartByColourAndLegendNotLabels()
    {
        var run = SampleRuns.Long();
        var svg = Parse(LabReport.Build(run).Charts[0].Svg);

        Assert.Equal(220, Bands(svg).Count);
        Assert.DoesNotContain(svg.Descendants(Svg + "text"), t => (string?)t.Attribute("class") == "band-label");
        foreach (var group in run.Faults.GroupBy(f => f.Class))
            Assert.Contains($"{group.Key} ({group.Count()} faults)", Texts(svg));
    }

    [Fact]
    public void OverlappingLabelsGoOnSeparateRows()
    {
        ChartBand[] bands = [new("kill", "kill n2", 10, 20), new("pause", "pause n3", 11, 12), new("slow", "slow n1-n4", 11.5, 30)];
        var svg = Parse(SvgChart.TimeSeries(Chart([new(1, 5), new(2, 6)], bands)));

        var rows = svg.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "band-label")
            .Select(t => double.Parse((string)t.Attribute("y")!, CultureInfo.InvariantCulture)).ToList();

        Assert.Equal(3, rows.Distinct().Count());
    }

    [Fact]
    public void TextIsEscaped()
    {
        var run = SampleRuns.Steady(30, [new FaultWindow("kill", "<A&B>", 10, 12, "\"quoted\" & <b>bold</b>")]) with
        {
            Title = "run <1> & 'two'",
        };
        var report = LabReport.Build(run);

        foreach (var chart in report.Charts)
        {
            var svg = Parse(chart.Svg);
            Assert.DoesNotContain("<A&B>", chart.Svg, StringComparison.Ordinal);
            if (chart.FileName != "recovery.svg") Assert.Contains("kill <A&B> (problem)", Texts(svg));
        }
        Assert.Contains(@"\<A\&B\>", report.Markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("<A&B>", report.Markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", report.Markdown, StringComparison.Ordinal);
        Assert.StartsWith(@"# run \<1\> \& 'two'", report.Markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmptyRunDrawsEmptyCharts()
    {
        var run = SampleRuns.Run("empty", 0, [], []);

        var report = LabReport.Build(run);

        Assert.Equal(["throughput.svg", "latency.svg"], report.Charts.Select(c => c.FileName));
        foreach (var chart in report.Charts) Assert.Contains("no data", Texts(Parse(chart.Svg)));
        Assert.Contains("No append was acknowledged.", report.Markdown, StringComparison.Ordinal);
        Assert.Contains("No faults were injected.", report.Markdown, StringComparison.Ordinal);
        Assert.Contains("no data", Texts(Parse(SvgChart.Bars(new BarChart("Recovery", "s", ChartUnit.Seconds, [])))));
    }

    [Fact]
    public void ASinglePointIsDrawnAsADot()
    {
        var svg = Parse(SvgChart.TimeSeries(Chart([new(5, 100)])));

        Assert.Single(svg.Descendants(Svg + "circle"));
        Assert.DoesNotContain("no data", Texts(svg));
    }

    [Fact]
    public void AHugeSpikeIsClippedAndMarkedRatherThanFlatteningTheRest()
    {
        var points = Enumerable.Range(0, 60).Select(k => new ChartPoint(k + 0.5, k == 30 ? 1_000_000 : 2000)).ToList();

        var svg = Parse(SvgChart.TimeSeries(Chart(points)));

        var yTicks = Texts(svg).Where(t => t.EndsWith('k') || t.EndsWith('M')).ToList();
        Assert.Contains("4k", yTicks);
        Assert.DoesNotContain(yTicks, t => t.EndsWith('M'));
        Assert.Contains(Texts(svg), t => t.Contains("clipped", StringComparison.Ordinal));
    }

    [Fact]
    public void BandsOutsideTheRunAreClampedToThePlot()
    {
        var svg = Parse(SvgChart.TimeSeries(Chart([new(1, 1), new(2, 2)], [new("kill", "kill n1", 50, 500)])));

        var band = Assert.Single(Bands(svg));
        var right = double.Parse((string)band.Attribute("x")!, CultureInfo.InvariantCulture)
            + double.Parse((string)band.Attribute("width")!, CultureInfo.InvariantCulture);
        Assert.True(right <= SvgChart.WidthPx, $"band ends at {right}");
    }

    [Fact]
    public void NumbersAreWrittenInTheInvariantCulture()
    {
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        comma.NumberFormat.NumberGroupSeparator = ".";
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        var invariant = LabReport.Build(SampleRuns.Realistic());
        CultureInfo.CurrentCulture = comma;
        try
        {
            var report = LabReport.Build(SampleRuns.Realistic());
            Assert.Equal(invariant.Markdown, report.Markdown);
            Assert.Equal(invariant.Charts, report.Charts);
            Assert.Contains("| 1 | 20.0 | kill | n2 | 6.0 |", report.Markdown, StringComparison.Ordinal);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void LogTicksSpanTheValuesDecades()
    {
        Assert.Equal([1.0, 2, 5, 10, 20, 50, 100], SvgChart.LogTicks(3, 70));
        Assert.Equal([-1.0, 0, 1, 2, 3, 4], SvgChart.LogTicks(0.5, 9000).Select(t => Math.Round(Math.Log10(t), 9)));
        Assert.Equal([0.0, 200, 400, 600, 800, 1000], SvgChart.LinearTicks(900, 5));
        Assert.Equal([0.0, 300, 600, 900, 1200, 1500, 1800], SvgChart.TimeTicks(1800, 12));
    }
}

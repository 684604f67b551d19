using System.Globalization;

namespace Braid.Lab.Report;

/// <summary>One value of a series; a NaN <paramref name="Y"/> breaks the line (no data there).</summary>
public readonly record struct ChartPoint(double X, double Y);

/// <summary>A line of a time-series chart, drawn in <paramref name="Colour"/> (an SVG colour);
/// <paramref name="Filled"/> shades the area under it (for throughput).</summary>
public sealed record ChartSeries(string Name, string Colour, IReadOnlyList<ChartPoint> Points, bool Filled = false);

/// <summary>A fault window to shade on a time-series chart: its class picks the colour, the label
/// (class and target) is written over it while the bands are few enough to be read one by one.</summary>
public sealed record ChartBand(string Class, string Label, double StartX, double EndX);

/// <summary>A dashed horizontal line across the plot (a threshold, a baseline).</summary>
public sealed record ChartReferenceLine(double Y, string Label);

/// <summary>How values are written on an axis.</summary>
public enum ChartUnit
{
    /// <summary>Plain counts, compact (1.5k, 2M).</summary>
    Count,
    /// <summary>Milliseconds, switching to seconds from 1000 ms.</summary>
    Milliseconds,
    /// <summary>Seconds.</summary>
    Seconds,
}

/// <summary>The y axis: linear (from 0) or logarithmic (for latencies, whose spikes are decades
/// above the typical value and would flatten a linear axis).</summary>
public enum ChartScale { Linear, Log }

/// <summary>A time-series chart: x is seconds since the run started, from 0 to <paramref name="XMaxSeconds"/>.</summary>
public sealed record TimeSeriesChart(
    string Title,
    string YLabel,
    ChartUnit YUnit,
    double XMaxSeconds,
    IReadOnlyList<ChartSeries> Series,
    IReadOnlyList<ChartBand> Bands)
{
    public ChartScale Scale { get; init; } = ChartScale.Linear;
    public IReadOnlyList<ChartReferenceLine> ReferenceLines { get; init; } = [];
}

/// <summary>One bar of a bar chart: a central value (e.g. the median) with a whisker from
/// <paramref name="Low"/> to <paramref name="High"/>; a null value draws no bar, only the note.</summary>
public sealed record ChartBar(string Label, string Colour, double? Value, double? Low, double? High, string Note);

/// <summary>A horizontal bar chart (labels on the left, so long class names stay readable).</summary>
public sealed record BarChart(string Title, string ValueLabel, ChartUnit Unit, IReadOnlyList<ChartBar> Bars);

/// <summary>
/// Our own small SVG writer for the lab report (DESIGN.md: no UI or chart libraries). Pure: returns
/// the SVG text. Split by concern: the time-series chart in SvgChart.TimeSeries.cs, the bar chart in
/// SvgChart.Bars.cs, and here what both share (axes, ticks, number formats, class colours).
/// </summary>
public static partial class SvgChart
{
    /// <summary>Chart width; a report page is about this wide.</summary>
    public const double WidthPx = 1000;

    private const double MarginLeftPx = 78;
    private const double MarginRightPx = 28;
    private const double FontPx = 11;

    /// <summary>Average advance of an 11 px sans-serif character, generous so estimated label
    /// widths do not underrun and labels placed by the estimate do not overlap.</summary>
    private const double CharWidthPx = 6.6;

    private const string AxisColour = "#444444";
    private const string GridColour = "#e3e3e3";

    /// <summary>Colours of the fault classes the lab knows (LabRun's FaultWindow), fixed so a class
    /// has the same colour in every chart and every run.</summary>
    private static readonly Dictionary<string, string> ClassColours = new(StringComparer.Ordinal)
    {
        ["kill"] = "#d62728",
        ["pause"] = "#ff7f0e",
        ["link"] = "#8c564b",
        ["partition"] = "#9467bd",
        ["partition-oneway"] = "#e377c2",
        ["majority"] = "#17becf",
        ["minority"] = "#bcbd22",
        ["slow"] = "#2ca02c",
        ["disk-full"] = "#7f7f7f",
        ["bitflip"] = "#e7ba52",
        ["truncate"] = "#637939",
        ["wipe"] = "#843c39",
        ["loss"] = "#393b79",
    };

    private static readonly string[] OtherColours = ["#5254a3", "#8ca252", "#bd9e39", "#ad494a", "#a55194", "#6b6ecf"];

    /// <summary>The colour of a fault class; unknown classes get one from a spare palette by a
    /// stable hash (string.GetHashCode differs per process).</summary>
    public static string ClassColour(string faultClass)
    {
        if (ClassColours.TryGetValue(faultClass, out var colour)) return colour;
        uint hash = 2166136261;
        foreach (var c in faultClass) hash = (hash ^ c) * 16777619;
        return OtherColours[hash % (uint)OtherColours.Length];
    }

    /// <summary>Writes a value for an axis tick or label in the chart's unit, invariant culture.</summary>
    public static string Format(double value, ChartUnit unit) => unit switch
    {
        ChartUnit.Milliseconds when Math.Abs(value) >= 1000 => Short(value / 1000) + " s",
        ChartUnit.Milliseconds => Short(value) + " ms",
        ChartUnit.Seconds => Short(value) + " s",
        _ when Math.Abs(value) >= 1_000_000 => Short(value / 1_000_000) + "M",
        _ when Math.Abs(value) >= 1000 => Short(value / 1000) + "k",
        _ => Short(value),
    };

    /// <summary>Up to three significant digits, no trailing zeros.</summary>
    private static string Short(double value)
    {
        var digits = Math.Abs(value) >= 100 || value == 0 ? 0 : Math.Abs(value) >= 10 ? 1 : Math.Abs(value) >= 1 ? 2 : 3;
        return Math.Round(value, digits).ToString("0.###", CultureInfo.InvariantCulture);
    }

    /// <summary>Ticks from 0 to at least <paramref name="max"/> on a 1-2-5 step, about
    /// <paramref name="count"/> of them; the last tick is the axis top.</summary>
    internal static List<double> LinearTicks(double max, int count)
    {
        if (!(max > 0) || !double.IsFinite(max)) max = 1;
        var step = NiceStep(max / count);
        var ticks = new List<double>();
        for (var i = 0; ; i++)
        {
            ticks.Add(i * step);
            if (i * step >= max * (1 - 1e-9)) break;
        }
        return ticks;
    }

    private static double NiceStep(double rough)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var fraction = rough / magnitude;
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
    }

    /// <summary>Ticks for seconds since start: steps that read as time (1, 2, 5, 10, 15, 30 s,
    /// 1, 2, 5, 10, 15, 30 min, 1 h), at most about <paramref name="count"/> ticks.</summary>
    internal static List<double> TimeTicks(double maxSeconds, int count)
    {
        double[] steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
        var step = steps.FirstOrDefault(s => maxSeconds / s <= count, NiceStep(maxSeconds / count));
        var ticks = new List<double>();
        for (var t = 0.0; t <= maxSeconds * (1 + 1e-9); t += step) ticks.Add(t);
        return ticks;
    }

    /// <summary>Log ticks from the decade below <paramref name="min"/> to the decade above
    /// <paramref name="max"/>: 1-2-5 within each decade over up to three decades, else decades only.</summary>
    internal static List<double> LogTicks(double min, double max)
    {
        var low = Math.Floor(Math.Log10(min));
        var high = Math.Max(low + 1, Math.Ceiling(Math.Log10(max)));
        var ticks = new List<double>();
        for (var decade = low; decade <= high; decade++)
        {
            var value = Math.Pow(10, decade);
            ticks.Add(value);
            if (high - low <= 3 && decade < high)
            {
                ticks.Add(2 * value);
                ticks.Add(5 * value);
            }
        }
        return ticks;
    }

    private static double TextWidthPx(string text, double sizePx = FontPx) => text.Length * CharWidthPx * sizePx / FontPx;

    /// <summary>Legend entries laid out left to right, wrapping to a new row at the chart's edge;
    /// returns the y below the last row.</summary>
    private static double Legend(SvgWriter svg, double top, IReadOnlyList<(string Text, string Colour, bool IsLine)> entries)
    {
        const double rowPx = 16;
        var x = MarginLeftPx;
        var y = top;
        foreach (var (text, colour, isLine) in entries)
        {
            var width = 18 + TextWidthPx(text) + 16;
            if (x + width > WidthPx - MarginRightPx && x > MarginLeftPx)
            {
                x = MarginLeftPx;
                y += rowPx;
            }
            if (isLine) svg.Line(x, y - 4, x + 14, y - 4, $"stroke=\"{colour}\" stroke-width=\"2.5\"");
            else svg.Rect(x, y - 9, 14, 10, $"fill=\"{colour}\" fill-opacity=\"0.55\"");
            svg.Text(x + 18, y, text);
            x += width;
        }
        return entries.Count == 0 ? top : y + 8;
    }
}

namespace Braid.Lab.Report;

public static partial class SvgChart
{
    private const double BarRowPx = 30;

    /// <summary>Renders a horizontal bar chart: one row per bar with its label on the left, the
    /// value as a bar, the low–high range as a whisker, and the value and note written after it.</summary>
    public static string Bars(BarChart chart)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var labelWidth = Math.Clamp(chart.Bars.Select(b => TextWidthPx(b.Label)).DefaultIfEmpty(0).Max() + 16, 90, 240);
        var plotLeft = labelWidth;
        // Room on the right for the value text of the longest bar.
        var plotWidth = WidthPx - plotLeft - MarginRightPx - 230;
        var plotTop = 46.0;
        var rows = Math.Max(chart.Bars.Count, 1);
        var plotBottom = plotTop + rows * BarRowPx;
        var heightPx = plotBottom + 46;

        var svg = new SvgWriter(WidthPx, heightPx, chart.Title);
        svg.Text(WidthPx / 2, 24, chart.Title, "middle", 15, "font-weight=\"bold\"");
        var max = chart.Bars.SelectMany(b => new[] { b.Value, b.High, b.Low })
            .Where(v => v is not null && double.IsFinite(v.Value) && v.Value >= 0).Select(v => v!.Value)
            .DefaultIfEmpty(0).Max();
        var ticks = LinearTicks(max, 6);
        var top = ticks[^1];
        double X(double value) => plotLeft + Math.Clamp(value / top, 0, 1) * plotWidth;

        foreach (var tick in ticks)
        {
            var px = X(tick);
            svg.Line(px, plotTop, px, plotBottom, $"stroke=\"{GridColour}\" stroke-width=\"1\"");
            svg.Text(px, plotBottom + 16, Format(tick, chart.Unit), "middle");
        }
        svg.Line(plotLeft, plotTop, plotLeft, plotBottom, $"stroke=\"{AxisColour}\"");
        svg.Line(plotLeft, plotBottom, plotLeft + plotWidth, plotBottom, $"stroke=\"{AxisColour}\"");
        svg.Text(plotLeft + plotWidth / 2, plotBottom + 36, chart.ValueLabel, "middle");
        if (chart.Bars.Count == 0)
            svg.Text(plotLeft + plotWidth / 2, (plotTop + plotBottom) / 2 + 5, "no data", "middle", 14, "fill=\"#888888\"");

        for (var i = 0; i < chart.Bars.Count; i++)
            DrawBar(svg, chart.Bars[i], chart.Unit, plotTop + i * BarRowPx, plotLeft, X);
        return svg.ToString();
    }

    private static void DrawBar(SvgWriter svg, ChartBar bar, ChartUnit unit, double rowTop, double plotLeft,
        Func<double, double> x)
    {
        var middle = rowTop + BarRowPx / 2;
        svg.Text(plotLeft - 8, middle + 4, bar.Label, "end");
        var textX = plotLeft + 6;
        if (bar.Value is { } value && double.IsFinite(value))
        {
            svg.Rect(plotLeft, middle - 8, x(value) - plotLeft, 16,
                $"class=\"bar\" fill=\"{bar.Colour}\" fill-opacity=\"0.75\"");
            textX = x(value) + 6;
            if (bar.Low is { } low && bar.High is { } high && double.IsFinite(low) && double.IsFinite(high))
            {
                var (left, right) = (x(low), x(high));
                svg.Line(left, middle, right, middle, "stroke=\"#222222\" stroke-width=\"1.2\"");
                svg.Line(left, middle - 5, left, middle + 5, "stroke=\"#222222\" stroke-width=\"1.2\"");
                svg.Line(right, middle - 5, right, middle + 5, "stroke=\"#222222\" stroke-width=\"1.2\"");
                textX = Math.Max(textX, right + 6);
            }
        }
        var text = bar.Value is { } shown && double.IsFinite(shown) ? Format(Math.Round(shown, 1), unit) : "";
        if (bar.Note.Length > 0) text = text.Length > 0 ? $"{text}  {bar.Note}" : bar.Note;
        svg.Text(textX, middle + 4, text, "start", FontPx, "fill=\"#222222\"");
    }
}

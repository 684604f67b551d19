namespace Braid.Lab.Report;

public static partial class SvgChart
{
    private const double PlotHeightPx = 250;

    /// <summary>Bands are labelled one by one (class and target over each band) up to this many;
    /// beyond it a 30-minute run's hundreds of labels could not be read, so bands are told apart by
    /// their class colour and the legend alone.</summary>
    public const int LabelledBandsMax = 40;

    /// <summary>Rows of band labels above the plot; if overlapping bands need more, the chart
    /// falls back to colour and legend, as for too many bands.</summary>
    private const int LabelRowsMax = 4;

    private const double LabelRowPx = 16;

    /// <summary>Rows of the fault strip (one thin bar per fault, overlapping faults on separate
    /// rows) when bands are not labelled; further overlaps share the last row.</summary>
    private const int StripRowsMax = 8;

    private const double StripRowPx = 6;

    /// <summary>Bands narrower than this are widened to it, so an instant fault stays visible.</summary>
    private const double NarrowBandPx = 3;

    /// <summary>A white outline behind text drawn over data, so a line through it does not hide it.</summary>
    private const string Halo = "stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"";

    /// <summary>On a linear axis, the top is this many times the 98th percentile of the values, so
    /// a few huge spikes do not flatten everything else; values above it are clipped and marked.</summary>
    private const double LinearTopOverP98 = 2;

    /// <summary>Renders a time-series chart: series as lines (or shaded areas), fault windows as
    /// translucent bands, each labelled with class and target in stacked rows while they are few.</summary>
    public static string TimeSeries(TimeSeriesChart chart)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var xMax = chart.XMaxSeconds > 0 && double.IsFinite(chart.XMaxSeconds) ? chart.XMaxSeconds : 1;
        var plotLeft = MarginLeftPx;
        var plotWidth = WidthPx - MarginLeftPx - MarginRightPx;
        double X(double seconds) => plotLeft + Math.Clamp(seconds, 0, xMax) / xMax * plotWidth;

        var bands = chart.Bands.Where(b => b.StartX <= xMax && double.IsFinite(b.StartX))
            .OrderBy(b => b.StartX).ToList();
        var labelRows = bands.Count <= LabelledBandsMax ? PlaceLabels(bands, X) : null;
        var labelled = labelRows is not null;
        var stripRows = labelled ? null : PlaceStrip(bands, X);
        var stripRowCount = (labelRows ?? stripRows ?? []).DefaultIfEmpty(-1).Max() + 1;

        // Measure first (legend rows, label rows), then draw from the top down.
        var legend = LegendEntries(chart, bands);
        var legendRows = CountLegendRows(legend);
        var legendTop = 50.0;
        var stripTop = legendTop + legendRows * 16 + 2;
        var stripHeight = stripRowCount * (labelled ? LabelRowPx : StripRowPx);
        var plotTop = stripTop + stripHeight + (stripRowCount > 0 ? 6 : 0);
        var plotBottom = plotTop + PlotHeightPx;
        var heightPx = plotBottom + 48;

        var svg = new SvgWriter(WidthPx, heightPx, chart.Title);
        svg.Text(WidthPx / 2, 24, chart.Title, "middle", 15, "font-weight=\"bold\"");
        Legend(svg, legendTop, legend);

        var axis = YAxis.For(chart, plotTop, plotBottom);
        DrawGridAndYTicks(svg, axis, chart.YUnit, plotLeft, plotWidth);
        DrawXTicks(svg, xMax, X, plotTop, plotBottom);
        DrawBands(svg, bands, X, plotTop, plotBottom, labelled);
        var references = chart.ReferenceLines.Where(l => axis.Contains(l.Y)).ToList();
        foreach (var line in references)
        {
            var y = axis.Y(line.Y);
            svg.Line(plotLeft, y, plotLeft + plotWidth, y, "stroke=\"#555555\" stroke-width=\"1\" stroke-dasharray=\"5,4\"");
        }
        var clipped = false;
        svg.Raw($"<clipPath id=\"plot\"><rect x=\"{SvgWriter.N(plotLeft)}\" y=\"{SvgWriter.N(plotTop - 1)}\" " +
            $"width=\"{SvgWriter.N(plotWidth)}\" height=\"{SvgWriter.N(PlotHeightPx + 2)}\"/></clipPath>");
        foreach (var series in chart.Series) clipped |= DrawSeries(svg, series, axis, X, xMax);
        // Labels over the data, with a halo, so the lines do not cross them out.
        foreach (var line in references)
            svg.Text(plotLeft + plotWidth - 4, axis.Y(line.Y) - 4, line.Label, "end", 10, $"fill=\"#444444\" {Halo}");
        svg.Rect(plotLeft, plotTop, plotWidth, PlotHeightPx, $"fill=\"none\" stroke=\"{AxisColour}\" stroke-width=\"1\"");

        if (!chart.Series.Any(s => s.Points.Any(p => double.IsFinite(p.Y) && p.X >= 0 && p.X <= xMax)))
            svg.Text(plotLeft + plotWidth / 2, (plotTop + plotBottom) / 2, "no data", "middle", 14, "fill=\"#888888\"");
        if (labelRows is not null) DrawLabels(svg, bands, labelRows, X, stripTop, plotLeft + plotWidth);
        else if (stripRows is not null) DrawStrip(svg, bands, stripRows, X, stripTop);

        svg.Text(plotLeft + plotWidth / 2, plotBottom + 36, "time since start (s)", "middle");
        if (clipped)
            svg.Text(plotLeft + plotWidth, plotBottom + 36, $"▲ above {Format(axis.Top, chart.YUnit)}: clipped", "end", 10,
                "fill=\"#555555\"");
        svg.Text(16, (plotTop + plotBottom) / 2, chart.YLabel, "middle", FontPx,
            $"transform=\"rotate(-90 16 {SvgWriter.N((plotTop + plotBottom) / 2)})\"");
        return svg.ToString();
    }

    private static List<(string Text, string Colour, bool IsLine)> LegendEntries(TimeSeriesChart chart, List<ChartBand> bands)
    {
        var entries = chart.Series.Select(s => (s.Name, s.Colour, true)).ToList();
        foreach (var group in bands.GroupBy(b => b.Class))
        {
            var count = group.Count();
            entries.Add(($"{group.Key} ({count} fault{(count == 1 ? "" : "s")})", ClassColour(group.Key), false));
        }
        return entries;
    }

    private static int CountLegendRows(List<(string Text, string Colour, bool IsLine)> entries)
    {
        if (entries.Count == 0) return 0;
        var rows = 1;
        var x = MarginLeftPx;
        foreach (var (text, _, _) in entries)
        {
            var width = 18 + TextWidthPx(text) + 16;
            if (x + width > WidthPx - MarginRightPx && x > MarginLeftPx)
            {
                rows++;
                x = MarginLeftPx;
            }
            x += width;
        }
        return rows;
    }

    /// <summary>Greedy rows for band labels: each label goes on the first row where it does not
    /// touch the previous one (label text or band, whichever reaches further right). Null when
    /// that takes more than <see cref="LabelRowsMax"/> rows.</summary>
    private static List<int>? PlaceLabels(List<ChartBand> bands, Func<double, double> x)
    {
        var rowEnds = new List<double>();
        var rows = new List<int>();
        foreach (var band in bands)
        {
            var (left, right) = LabelExtent(band, x);
            var row = rowEnds.FindIndex(end => end + 8 <= left);
            if (row < 0)
            {
                if (rowEnds.Count == LabelRowsMax) return null;
                rowEnds.Add(0);
                row = rowEnds.Count - 1;
            }
            rowEnds[row] = right;
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Where a band's label and its marker reach; a label that would run past the right
    /// edge is moved left to end at it.</summary>
    private static (double Left, double Right) LabelExtent(ChartBand band, Func<double, double> x)
    {
        var left = x(band.StartX);
        var textRight = left + TextWidthPx(band.Label, 10);
        var edge = WidthPx - MarginRightPx;
        if (textRight > edge)
        {
            left -= textRight - edge;
            textRight = edge;
        }
        return (left, Math.Max(textRight, x(band.EndX)));
    }

    /// <summary>Rows for the unlabelled fault strip: overlapping faults on separate rows, so a
    /// pile-up of faults shows as a tall stack rather than one smudge.</summary>
    private static List<int> PlaceStrip(List<ChartBand> bands, Func<double, double> x)
    {
        var rowEnds = new List<double>();
        var rows = new List<int>();
        foreach (var band in bands)
        {
            var left = x(band.StartX);
            var right = Math.Max(x(band.EndX), left + 2);
            var row = rowEnds.FindIndex(end => end + 1 <= left);
            if (row < 0 && rowEnds.Count < StripRowsMax)
            {
                rowEnds.Add(0);
                row = rowEnds.Count - 1;
            }
            if (row < 0) row = StripRowsMax - 1;
            rowEnds[row] = Math.Max(rowEnds[row], right);
            rows.Add(row);
        }
        return rows;
    }

    private static void DrawBands(SvgWriter svg, List<ChartBand> bands, Func<double, double> x, double top, double bottom,
        bool labelled)
    {
        // Many overlapping translucent bands darken each other; fainter ones keep the data visible.
        // While bands are labelled, an instant fault is drawn as a narrow, stronger band (unlabelled,
        // hundreds of short faults would be strong stripes; the strip above shows them instead).
        foreach (var band in bands)
        {
            var left = x(band.StartX);
            var width = x(Math.Max(band.EndX, band.StartX)) - left;
            var opacity = !labelled ? "0.09" : width < NarrowBandPx ? "0.5" : "0.16";
            svg.Rect(left, top, Math.Max(width, NarrowBandPx), bottom - top,
                $"class=\"band\" data-class=\"{SvgWriter.Escape(band.Class)}\" fill=\"{ClassColour(band.Class)}\" " +
                $"fill-opacity=\"{opacity}\"",
                $"{band.Label}: {SvgWriter.N(band.StartX)}–{SvgWriter.N(band.EndX)} s");
        }
    }

    private static void DrawLabels(SvgWriter svg, List<ChartBand> bands, List<int> rows, Func<double, double> x, double top,
        double edge)
    {
        for (var i = 0; i < bands.Count; i++)
        {
            var band = bands[i];
            var rowTop = top + rows[i] * LabelRowPx;
            var (left, _) = LabelExtent(band, x);
            var colour = ClassColour(band.Class);
            var start = x(band.StartX);
            var width = Math.Max(x(Math.Max(band.EndX, band.StartX)) - start, 2);
            svg.Rect(start, rowTop + 11, Math.Min(width, edge - start), 3, $"fill=\"{colour}\"");
            svg.Text(left, rowTop + 9, band.Label, "start", 10, "class=\"band-label\" fill=\"#222222\"");
        }
    }

    private static void DrawStrip(SvgWriter svg, List<ChartBand> bands, List<int> rows, Func<double, double> x, double top)
    {
        for (var i = 0; i < bands.Count; i++)
        {
            var left = x(bands[i].StartX);
            var width = Math.Max(x(Math.Max(bands[i].EndX, bands[i].StartX)) - left, 2);
            svg.Rect(left, top + rows[i] * StripRowPx, width, StripRowPx - 2, $"fill=\"{ClassColour(bands[i].Class)}\"");
        }
    }

    private static void DrawXTicks(SvgWriter svg, double xMax, Func<double, double> x, double top, double bottom)
    {
        foreach (var tick in TimeTicks(xMax, 12))
        {
            var px = x(tick);
            svg.Line(px, top, px, bottom, $"stroke=\"{GridColour}\" stroke-width=\"1\"");
            svg.Line(px, bottom, px, bottom + 4, $"stroke=\"{AxisColour}\"");
            svg.Text(px, bottom + 16, Short(tick), "middle");
        }
    }

    private static void DrawGridAndYTicks(SvgWriter svg, YAxis axis, ChartUnit unit, double left, double width)
    {
        foreach (var tick in axis.Ticks)
        {
            var y = axis.Y(tick);
            svg.Line(left, y, left + width, y, $"stroke=\"{GridColour}\" stroke-width=\"1\"");
            svg.Line(left - 4, y, left, y, $"stroke=\"{AxisColour}\"");
            svg.Text(left - 7, y + 4, Format(tick, unit), "end");
        }
    }

    /// <summary>Draws one series clipped to the plot; returns whether a value lay above the axis
    /// top (then marked with a small triangle on the top edge).</summary>
    private static bool DrawSeries(SvgWriter svg, ChartSeries series, YAxis axis, Func<double, double> x, double xMax)
    {
        var clipped = false;
        var segment = new List<(double X, double Y)>();
        void Flush()
        {
            if (segment.Count == 1)
                svg.Circle(segment[0].X, segment[0].Y, 2.5, $"fill=\"{series.Colour}\"");
            else if (segment.Count > 1)
            {
                if (series.Filled)
                    svg.Polygon([.. segment, (segment[^1].X, axis.Bottom), (segment[0].X, axis.Bottom)],
                        $"fill=\"{series.Colour}\" fill-opacity=\"0.22\" stroke=\"none\" clip-path=\"url(#plot)\"");
                svg.Polyline(segment, $"fill=\"none\" stroke=\"{series.Colour}\" stroke-width=\"1.4\" " +
                    "stroke-linejoin=\"round\" clip-path=\"url(#plot)\"");
            }
            segment.Clear();
        }
        foreach (var point in series.Points)
        {
            if (!double.IsFinite(point.Y) || !double.IsFinite(point.X) || point.X < 0 || point.X > xMax
                || !axis.Drawable(point.Y))
            {
                Flush();
                continue;
            }
            var px = x(point.X);
            if (point.Y > axis.Top)
            {
                clipped = true;
                svg.Polygon([(px - 3.5, axis.TopPx + 6), (px + 3.5, axis.TopPx + 6), (px, axis.TopPx)],
                    $"fill=\"{series.Colour}\"");
            }
            segment.Add((px, axis.Y(Math.Min(point.Y, axis.Top))));
        }
        Flush();
        return clipped;
    }

    /// <summary>The y axis of a time-series chart: its range, ticks and mapping to pixels.</summary>
    private sealed record YAxis(ChartScale Scale, double Bottom0, double Top, List<double> Ticks, double TopPx, double Bottom)
    {
        public static YAxis For(TimeSeriesChart chart, double topPx, double bottomPx)
        {
            var values = chart.Series.SelectMany(s => s.Points).Select(p => p.Y)
                .Where(y => double.IsFinite(y) && (chart.Scale == ChartScale.Linear ? y >= 0 : y > 0))
                .Order().ToList();
            var lines = chart.ReferenceLines.Select(l => l.Y).Where(double.IsFinite).ToList();
            if (chart.Scale == ChartScale.Log)
            {
                var positive = values.Concat(lines.Where(y => y > 0)).ToList();
                var min = positive.Count > 0 ? positive.Min() : 1;
                var max = positive.Count > 0 ? positive.Max() : 10;
                var ticks = LogTicks(min, max);
                return new YAxis(ChartScale.Log, ticks[0], ticks[^1], ticks, topPx, bottomPx);
            }
            var top = values.Count > 0 ? values[^1] : 1;
            var p98 = Quantiles.Percentile(values, 0.98);
            if (values.Count >= 20 && p98 > 0 && top > LinearTopOverP98 * p98) top = LinearTopOverP98 * p98;
            if (lines.Count > 0) top = Math.Max(top, lines.Max());
            var linear = LinearTicks(top, 5);
            return new YAxis(ChartScale.Linear, 0, linear[^1], linear, topPx, bottomPx);
        }

        public bool Drawable(double value) => Scale == ChartScale.Linear ? value >= 0 : value > 0;

        public bool Contains(double value) => Drawable(value) && value >= Bottom0 && value <= Top;

        public double Y(double value)
        {
            var fraction = Scale == ChartScale.Linear
                ? (value - Bottom0) / (Top - Bottom0)
                : (Math.Log10(value) - Math.Log10(Bottom0)) / (Math.Log10(Top) - Math.Log10(Bottom0));
            return Bottom - Math.Clamp(fraction, 0, 1) * (Bottom - TopPx);
        }
    }
}
